// Namespace API: the per-user-namespace limits /proc/sys/user/max_*_namespaces — ENOSPC when
// exceeded, INT_MAX defaults in descendants, accounting in every ancestor, per-namespace values.
// Source: namespaces(7), 'The /proc/sys/user directory'.
//
// Safety: these sysctls are per user namespace. The cases write them only inside a user
// namespace the case created, after a run-time guard (api::InCaseCreatedUserNs: the uid_map is
// not the initial identity map and the user namespace is not the body's starting one). A
// failed guard records a failing value and writes nothing. The initial namespace's files are
// only read, and opened for writing only by a process without privilege, which never writes.
#include <climits>

#include "api_util.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

constexpr const char* kMaxUts = "/proc/sys/user/max_uts_namespaces";
constexpr const char* kMaxPid = "/proc/sys/user/max_pid_namespaces";

// Flow: 1. a child enters a fresh user namespace U1 (mapped root); 2. guard, then write 1 to
// U1's max_uts_namespaces and max_pid_namespaces (the control: write nothing); 3. as U1's
// root: unshare(CLONE_NEWUTS) twice; 4. clone(CLONE_NEWPID) a child that stays alive, then
// clone(CLONE_NEWPID) again.
void NsLimitFilesEnospc(const Probe& p) {
  const NsFileId start_user = NsFileIdOf("/proc/self/ns/user");
  ChildProcess limited = Spawn(0, [&] {
    SetupStep(p, EnterUserNamespace(), "fresh user namespace U1");
    const bool guard = api::InCaseCreatedUserNs(start_user);
    p.Value("guard.in_case_created_userns", guard ? 1 : 0);
    if (guard && !p.control()) {
      if (WriteSmallFile(kMaxUts, "1\n") == -1) p.SetupFailed("write U1's max_uts_namespaces");
      if (WriteSmallFile(kMaxPid, "1\n") == -1) p.SetupFailed("write U1's max_pid_namespaces");
    }
    p.Value("u1.max_uts_namespaces", api::ReadIntFile(kMaxUts));
    p.Value("u1.max_pid_namespaces", api::ReadIntFile(kMaxPid));
    SetupCall(p, "uts.first_unshare", unshare(CLONE_NEWUTS));
    p.Call("uts.second_unshare", unshare(CLONE_NEWUTS));

    Barrier hold;
    if (!hold.ok()) p.SetupFailed("pipe2");
    ChildProcess first = Spawn(CLONE_NEWPID, [&] {
      hold.CloseWriteEnd();
      hold.Wait();
      return 0;
    });
    SetupCall(p, "pid.first_clone", first.pid());
    ChildProcess second = Spawn(CLONE_NEWPID, [] { return 0; });
    p.Call("pid.second_clone", second.pid());
    second.Wait();
    hold.Signal();
    first.Wait();
    return 0;
  });
  if (!limited.ok()) p.SetupFailed("fork");
  limited.Wait();
}

NSC_CASE({
    .id = "api.ns_limit_files_enospc",
    .title = "Exceeding a max_*_namespaces limit makes clone() and unshare() fail with ENOSPC, for "
             "UID 0 too",
    .source = {"namespaces(7)", "The /proc/sys/user directory"},
    .references = {"clone(2), ERRORS", "unshare(2), ERRORS"},
    .observe = "in a fresh user namespace whose root set max_uts_namespaces and "
               "max_pid_namespaces to 1, that root's first unshare(CLONE_NEWUTS) succeeds and the "
               "second fails with ENOSPC; its first clone(CLONE_NEWPID) succeeds and a second one, "
               "while the first child lives, fails with ENOSPC",
    .control = "the limits are not written (they stay INT_MAX): every call succeeds "
               "(contradicts uts.second_unshare and pid.second_clone)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWPID,
              .min_kernel = {4, 9}},
    // The write guard (fail closed) and the first creations of each type are set-up.
    .preconditions = {Given(Expect("guard.in_case_created_userns", Eq(1))),
                      Given(ExpectCall("uts.first_unshare", Succeeds())),
                      Given(ExpectCall("pid.first_clone", Succeeds()))},
    .expect = {ExpectCall("uts.second_unshare", FailsWith(ENOSPC)),
               ExpectCall("pid.second_clone", FailsWith(ENOSPC)), Record("u1.max_uts_namespaces"),
               Record("u1.max_pid_namespaces")},
    .body = NsLimitFilesEnospc,
});

// Flow: 1. record the caller's max_user_namespaces, threads-max and whether its uid_map is the
// initial identity map (the initial-namespace default is recorded, not asserted); 2. a child
// enters a fresh user namespace and reads every max_*_namespaces file. The control sets them
// all to 1000 first (behind the write guard), so they are no longer the defaults.
void NsLimitDescendantDefault(const Probe& p) {
  const NsFileId start_user = NsFileIdOf("/proc/self/ns/user");
  const int64_t max_user = api::ReadIntFile("/proc/sys/user/max_user_namespaces");
  const int64_t threads_max = api::ReadIntFile("/proc/sys/kernel/threads-max");
  p.Value("caller.uid_map_is_identity", api::UidMapIsIdentity());
  p.Value("caller.max_user_namespaces", max_user);
  p.Value("caller.threads_max", threads_max);
  p.Value("caller.max_user_is_half_threads_max", max_user >= 0 && max_user == threads_max / 2);
  ChildProcess reader = Spawn(0, [&] {
    SetupStep(p, EnterUserNamespace(), "fresh user namespace");
    const bool guard = api::InCaseCreatedUserNs(start_user);
    for (const char* type : {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}) {
      // max_time_namespaces (5.7) is recorded only: it may be absent.
      const bool recorded_only = type[0] == 't';
      PathBuf path("/proc/sys/user/max_");
      path.Add(type).Add("_namespaces");
      if (p.control() && guard && WriteSmallFile(path.c_str(), "1000\n") == -1 && !recorded_only) {
        p.SetupFailed("control: write of a limit in the fresh user namespace");
      }
      const int64_t limit = api::ReadIntFile(path.c_str());
      // A missing or unreadable limit file is a missing input, never a value of -1 compared.
      if (limit < 0 && !recorded_only) p.Skip(ReasonCode::kPreconditionUnmet, path.c_str());
      PathBuf key("fresh.max_");
      key.Add(type).Add("_namespaces");
      p.Value(key.c_str(), limit);
    }
    return 0;
  });
  if (!reader.ok()) p.SetupFailed("fork");
  reader.Wait();
}

NSC_CASE({
    .id = "api.ns_limit_descendant_default_maxint",
    .title = "In a descendant user namespace every max_*_namespaces limit defaults to INT_MAX",
    .source = {"namespaces(7)", "The /proc/sys/user directory"},
    .observe = "inside a fresh user namespace, max_{cgroup,ipc,mnt,net,pid,user,uts}_namespaces "
               "read 2147483647 (max_time_namespaces, Linux 5.7, is recorded). Recorded, not "
               "asserted: the caller's max_user_namespaces next to threads-max / 2, the "
               "initial-namespace default an administrator may have changed",
    .control = "the fresh namespace's root first sets every limit to 1000 (behind the write "
               "guard), so the files no longer hold their defaults (contradicts every "
               "fresh.max_* key)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUSER, .min_kernel = {4, 9}},
    .expect = {Expect("fresh.max_cgroup_namespaces", Eq(INT_MAX)),
               Expect("fresh.max_ipc_namespaces", Eq(INT_MAX)),
               Expect("fresh.max_mnt_namespaces", Eq(INT_MAX)),
               Expect("fresh.max_net_namespaces", Eq(INT_MAX)),
               Expect("fresh.max_pid_namespaces", Eq(INT_MAX)),
               Expect("fresh.max_user_namespaces", Eq(INT_MAX)),
               Expect("fresh.max_uts_namespaces", Eq(INT_MAX)), Record("fresh.max_time_namespaces"),
               Record("caller.uid_map_is_identity"), Record("caller.max_user_namespaces"),
               Record("caller.threads_max"), Record("caller.max_user_is_half_threads_max")},
    .body = NsLimitDescendantDefault,
});

// Flow: 1. a child enters a fresh user namespace U1; guard, then write 1 to U1's
// max_uts_namespaces (the control: write nothing); 2. a grandchild enters a user namespace U2
// below U1, reads U2's max_uts_namespaces and calls unshare(CLONE_NEWUTS) twice.
void NsLimitAccountedToAncestors(const Probe& p) {
  const NsFileId start_user = NsFileIdOf("/proc/self/ns/user");
  ChildProcess in_u1 = Spawn(0, [&] {
    SetupStep(p, EnterUserNamespace(), "fresh user namespace U1");
    const bool guard = api::InCaseCreatedUserNs(start_user);
    p.Value("guard.in_case_created_userns", guard ? 1 : 0);
    if (guard && !p.control() && WriteSmallFile(kMaxUts, "1\n") == -1) {
      p.SetupFailed("write U1's max_uts_namespaces");
    }
    p.Value("u1.max_uts_namespaces", api::ReadIntFile(kMaxUts));
    ChildProcess in_u2 = Spawn(0, [&] {
      SetupStep(p, EnterUserNamespace(), "user namespace U2 below U1");
      p.Value("u2.max_uts_namespaces", api::ReadIntFile(kMaxUts));
      SetupCall(p, "u2.first_unshare", unshare(CLONE_NEWUTS));
      p.Call("u2.second_unshare", unshare(CLONE_NEWUTS));
      return 0;
    });
    if (!in_u2.ok()) p.SetupFailed("fork in U1");
    in_u2.Wait();
    return 0;
  });
  if (!in_u1.ok()) p.SetupFailed("fork");
  in_u1.Wait();
}

NSC_CASE({
    .id = "api.ns_limit_accounted_to_ancestors",
    .title = "A namespace counts against its creator's limit in every ancestor user namespace",
    .source = {"namespaces(7)", "The /proc/sys/user directory"},
    .observe = "U1's root sets max_uts_namespaces to 1; in U2 below U1 the limit reads INT_MAX, "
               "yet the second unshare(CLONE_NEWUTS) there fails with ENOSPC because of U1's limit",
    .control = "U1's limit is not written: both unshares in U2 succeed (contradicts "
               "u2.second_unshare)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {4, 9}},
    .preconditions = {Given(Expect("guard.in_case_created_userns", Eq(1))),
                      Given(ExpectCall("u2.first_unshare", Succeeds()))},
    .expect = {Expect("u2.max_uts_namespaces", Eq(INT_MAX)),
               ExpectCall("u2.second_unshare", FailsWith(ENOSPC)), Record("u1.max_uts_namespaces")},
    .body = NsLimitAccountedToAncestors,
});

// Flow: 1. read the initial namespace's max_uts_namespaces; 2. a child enters a fresh user
// namespace U1, guard, writes another value there and reads it back, then waits; 3. while U1
// lives, the body reads the initial namespace's file again (the control: U1's root reads it, so
// the "initial" observer is in U1); 4. a child that gave up root (setresuid 65534, which clears
// its capabilities) opens the initial namespace's file for writing; it never writes.
void NsLimitFilesWritableByPrivileged(const Probe& p) {
  const NsFileId start_user = NsFileIdOf("/proc/self/ns/user");
  const int64_t initial_before = api::ReadIntFile(kMaxUts);
  if (initial_before < 0) {
    p.Skip(ReasonCode::kPreconditionUnmet, "/proc/sys/user/max_uts_namespaces is not readable");
  }
  p.Value("initial.before", initial_before);
  const int64_t value = initial_before == 4242 ? 4243 : 4242;
  Barrier written, observed;
  if (!written.ok() || !observed.ok()) p.SetupFailed("pipe2");
  ChildProcess writer = Spawn(0, [&] {
    written.CloseReadEnd();
    observed.CloseWriteEnd();
    SetupStep(p, EnterUserNamespace(), "fresh user namespace U1");
    const bool guard = api::InCaseCreatedUserNs(start_user);
    p.Value("guard.in_case_created_userns", guard ? 1 : 0);
    PathBuf text;
    text.Add(value).Add("\n");
    if (guard && WriteSmallFile(kMaxUts, text.c_str()) == -1) {
      p.SetupFailed("write U1's max_uts_namespaces");
    }
    p.Value("u1.written", value);
    p.Value("u1.read_back", api::ReadIntFile(kMaxUts));
    if (p.control()) p.Value("initial.after", api::ReadIntFile(kMaxUts));
    written.Signal();
    observed.Wait();
    return 0;
  });
  written.CloseWriteEnd();
  observed.CloseReadEnd();
  if (!writer.ok()) p.SetupFailed("fork of the writer");
  if (!written.Wait()) p.SetupFailed("the writer died before writing");
  if (!p.control()) p.Value("initial.after", api::ReadIntFile(kMaxUts));
  observed.Signal();
  writer.Wait();

  ChildProcess unprivileged = Spawn(0, [&] {
    if (syscall(SYS_setgroups, 0, nullptr) == -1 ||
        syscall(SYS_setresgid, 65534, 65534, 65534) == -1 ||
        syscall(SYS_setresuid, 65534, 65534, 65534) == -1) {
      p.SetupFailed("dropping to uid/gid 65534");
    }
    const int fd = open(kMaxUts, O_WRONLY | O_CLOEXEC);  // opened, never written
    p.Call("unprivileged.open_wronly", fd);
    if (fd >= 0) close(fd);
    return 0;
  });
  if (!unprivileged.ok()) p.SetupFailed("fork");
  unprivileged.Wait();
}

NSC_CASE({
    .id = "api.ns_limit_files_writable_by_privileged",
    .title = "Privileged processes may change the limit files; the values are the opener's user "
             "namespace's",
    .source = {"namespaces(7)", "The /proc/sys/user directory"},
    .observe = "a value written by the root of a fresh user namespace reads back there, while "
               "the initial namespace's max_uts_namespaces is unchanged; a uid-65534 process in "
               "the initial namespace cannot open that file for writing",
    .control = "the second read of the \"initial\" value is made inside the fresh user "
               "namespace, where the written value shows (contradicts initial.after)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWUSER, .min_kernel = {4, 9}},
    .preconditions = {Given(Expect("guard.in_case_created_userns", Eq(1)))},
    .expect = {ExpectSameValue("u1.read_back", "u1.written"),
               ExpectSameValue("initial.after", "initial.before"),
               ExpectCall("unprivileged.open_wronly", Fails())},
    .body = NsLimitFilesWritableByPrivileged,
});

}  // namespace
}  // namespace nsc::cases
