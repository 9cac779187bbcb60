// Namespace API: setns(2) with a /proc/PID/ns/ file descriptor — invalid fds, type checks,
// capabilities, and the one-namespace-per-call effect. Source: setns(2).
#include <linux/capability.h>

#include "api_util.h"

namespace nsc::cases {
namespace {

// Flow: 1. setns(-1, 0) (the control: a valid uts fd); 2. open a uts link, close it (the
// control: keep it open) and setns() on the closed number.
void SetnsEbadf(const Probe& p) {
  UniqueFd valid = OpenNs(0, "uts");
  if (!valid.valid()) p.SetupFailed("open /proc/self/ns/uts");
  p.Call("setns_minus_one", setns(p.Pick(-1, valid.get()), 0));
  UniqueFd closed = OpenNs(0, "uts");
  if (!closed.valid()) p.SetupFailed("open /proc/self/ns/uts");
  const int number = closed.get();
  if (!p.control()) closed.Reset();
  p.Call("setns_closed_fd", setns(number, 0));
}

NSC_CASE({
    .id = "api.setns_ebadf",
    .title = "setns() with an invalid fd fails with EBADF",
    .source = {"setns(2)", "ERRORS"},
    .observe = "setns(-1, 0) and setns() on an fd number that was just closed fail with EBADF",
    .control = "both calls get an open /proc/self/ns/uts fd: they succeed (root) or fail with "
               "EPERM (no CAP_SYS_ADMIN over the UTS namespace), never EBADF (contradicts both "
               "keys)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUTS, .min_kernel = {3, 0}},
    .expect = {ExpectCall("setns_minus_one", FailsWith(EBADF)),
               ExpectCall("setns_closed_fd", FailsWith(EBADF))},
    .body = SetnsEbadf,
});

// Flow: 1. a member child waits in a new UTS namespace; 2. a fresh child calls
// setns(uts_fd, CLONE_NEWPID) and setns(pid_fd, CLONE_NEWUTS) (the control: the matching
// fd/type pairs), then setns(uts_fd, 0), and records its UTS namespace.
void SetnsTypeMismatchEinval(const Probe& p) {
  api::ParkedChild member(p, CLONE_NEWUTS, [] {});
  UniqueFd uts = OpenNs(member.pid(), "uts");
  UniqueFd pid = OpenNs(0, "pid");
  if (!uts.valid() || !pid.valid()) p.SetupFailed("open of the namespace links");
  p.NsId("member.uts", ProcPath(member.pid(), "ns/uts").c_str());
  ChildProcess joiner = Spawn(0, [&] {
    OperationCallFailingWith(p, "setns.uts_fd_as_pid",
                             setns(uts.get(), p.Pick(CLONE_NEWPID, CLONE_NEWUTS)), EINVAL);
    OperationCallFailingWith(p, "setns.pid_fd_as_uts",
                             setns(p.Pick(pid.get(), uts.get()), CLONE_NEWUTS), EINVAL);
    OperationCall(p, "setns.uts_fd_as_any", setns(uts.get(), 0));
    p.NsId("joiner.uts", "/proc/self/ns/uts");
    return 0;
  });
  if (!joiner.ok()) p.SetupFailed("fork");
  joiner.Wait();
  member.Release();
}

NSC_CASE({
    .id = "api.setns_type_mismatch_einval",
    .title = "setns() with a ns fd and a non-zero nstype of another type fails with EINVAL",
    .source = {"setns(2)", "fd refers to a /proc/pid/ns/ link"},
    .references = {"setns(2), ERRORS"},
    .observe = "setns(uts_fd, CLONE_NEWPID) and setns(pid_fd, CLONE_NEWUTS) fail with EINVAL; "
               "setns(uts_fd, 0) into a UTS namespace the caller may join succeeds and moves it "
               "there",
    .control = "the fd and nstype agree (uts fd with CLONE_NEWUTS): the calls succeed "
               "(contradicts setns.uts_fd_as_pid and setns.pid_fd_as_uts)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWUTS | CLONE_NEWPID,
              .min_kernel = {3, 8}},
    .expect = {ExpectCall("setns.uts_fd_as_pid", FailsWith(EINVAL)),
               ExpectCall("setns.pid_fd_as_uts", FailsWith(EINVAL)),
               ExpectCall("setns.uts_fd_as_any", Succeeds()),
               ExpectSameNs("joiner.uts", "member.uts")},
    .body = SetnsTypeMismatchEinval,
});

// Flow: setns(fd, 0) with fds that are neither namespace files nor pidfds: a regular procfs
// file and the /proc/self/ns directory itself (the control: the /proc/self/ns/uts link).
void SetnsNotNsFdEinval(const Probe& p) {
  UniqueFd file = OpenFile(p.Pick("/proc/self/status", "/proc/self/ns/uts"), O_RDONLY);
  UniqueFd dir = OpenFile(p.Pick("/proc/self/ns", "/proc/self/ns/uts"), O_RDONLY);
  if (!file.valid() || !dir.valid()) p.SetupFailed("open");
  p.Call("setns_regular_file", setns(file.get(), 0));
  p.Call("setns_directory", setns(dir.get(), 0));
}

NSC_CASE({
    .id = "api.setns_not_ns_fd_einval",
    .title = "setns() on an fd that is neither a namespace file nor a pidfd fails with EINVAL",
    .source = {"setns(2)", "ERRORS"},
    .observe = "setns(fd, 0) fails with EINVAL for an open regular file (/proc/self/status; "
               "the catalogue's /etc/hostname need not exist) and for the /proc/self/ns directory",
    .control = "both fds are /proc/self/ns/uts: setns() succeeds (root) or fails with EPERM, "
               "never EINVAL (contradicts both keys)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUTS, .min_kernel = {3, 0}},
    .expect = {ExpectCall("setns_regular_file", FailsWith(EINVAL)),
               ExpectCall("setns_directory", FailsWith(EINVAL))},
    .body = SetnsNotNsFdEinval,
});

// Flow:
//  1. An owner child waits in a new user namespace (mapped) with a new UTS namespace T.
//  2. Half one, the caller's own user namespace: positive arm, a child with its capabilities
//     setns()es into T (must succeed: a precondition); then a child drops every capability
//     (checked: fail closed) and calls setns() into T, over which its euid still owns the
//     user namespace: EPERM.
//  3. Half two, the target's owner: positive arm, a child enters a new user namespace of its
//     own together with a new UTS namespace (owned by it) and setns()es into that one (must
//     succeed); then a child that entered a new user namespace (every capability there) calls
//     setns() into the body's UTS namespace, owned by an ancestor user namespace: EPERM.
//  Control, the one factor removed in each half — the missing capability: the first caller
//  keeps its capabilities; the second caller's target is a UTS namespace its own user
//  namespace owns (the positive arm's situation).
void SetnsCaps(const Probe& p) {
  UniqueFd body_uts = OpenNs(0, "uts");
  if (!body_uts.valid()) p.SetupFailed("open /proc/self/ns/uts");
  api::ParkedChild owner(p, 0, [&] {
    SetupStep(p, EnterUserNamespace(CLONE_NEWUTS), "user + UTS namespace");
  });
  UniqueFd target = OpenNs(owner.pid(), "uts");
  if (!target.valid()) p.SetupFailed("open /proc/<owner>/ns/uts");

  ChildProcess with_own_cap = Spawn(0, [&] {
    SetupCall(p, "with_own_cap.setns", setns(target.get(), CLONE_NEWUTS));
    return 0;
  });
  NSC_SETUP(p, with_own_cap.pid(), "fork");
  with_own_cap.Wait();
  ChildProcess no_own_cap = Spawn(0, [&] {
    if (!p.control()) {
      if (DropAllCapabilities() == -1) p.SetupFailed("capset");
      if (HasEffectiveCapability(CAP_SYS_ADMIN) != 0) p.SetupFailed("CAP_SYS_ADMIN still effective");
    }
    p.Call("no_own_cap.setns", setns(target.get(), CLONE_NEWUTS));
    return 0;
  });
  NSC_SETUP(p, no_own_cap.pid(), "fork");
  no_own_cap.Wait();

  ChildProcess with_target_cap = Spawn(0, [&] {
    SetupStep(p, EnterUserNamespace(CLONE_NEWUTS), "user + UTS namespace of the caller");
    UniqueFd own = OpenNs(0, "uts");
    if (!own.valid()) p.SetupFailed("open /proc/self/ns/uts");
    SetupCall(p, "with_target_cap.setns", setns(own.get(), CLONE_NEWUTS));
    return 0;
  });
  NSC_SETUP(p, with_target_cap.pid(), "fork");
  with_target_cap.Wait();
  ChildProcess no_target_cap = Spawn(0, [&] {
    SetupStep(p, EnterUserNamespace(p.Pick<unsigned long>(0, CLONE_NEWUTS)),
              "user namespace of the caller");
    UniqueFd own = OpenNs(0, "uts");
    if (!own.valid()) p.SetupFailed("open /proc/self/ns/uts");
    p.Call("no_target_cap.setns", setns(p.control() ? own.get() : body_uts.get(), CLONE_NEWUTS));
    return 0;
  });
  NSC_SETUP(p, no_target_cap.pid(), "fork");
  no_target_cap.Wait();
  owner.Release();
}

NSC_CASE({
    .id = "api.setns_caps",
    .title = "Joining a non-user namespace needs CAP_SYS_ADMIN in the caller's and the target's "
             "user namespace",
    .source = {"setns(2)", "Details for specific namespace types"},
    .observe = "a caller without capabilities (but CAP_SYS_ADMIN over a child user namespace its "
               "euid owns) gets EPERM from setns() into that child's UTS namespace; a caller with "
               "every capability in a new user namespace of its own gets EPERM from setns() into "
               "a UTS namespace owned by the parent user namespace. Each half first proves, in "
               "the same run, that the same kind of setns() succeeds with the capability",
    .control = "each caller has the capability it lacked: the first keeps its capabilities, the "
               "second joins a UTS namespace its own user namespace owns; both setns() succeed "
               "(contradicts no_own_cap.setns and no_target_cap.setns)",
    .needs = {.privilege = Privilege::kNocap,
              .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {3, 8},
              .needs_userns = true},
    .preconditions = {Given(ExpectCall("with_own_cap.setns", Succeeds())),
                      Given(ExpectCall("with_target_cap.setns", Succeeds()))},
    .expect = {ExpectCall("no_own_cap.setns", FailsWith(EPERM)),
               ExpectCall("no_target_cap.setns", FailsWith(EPERM))},
    .body = SetnsCaps,
});

// Flow: 1. a member child waits in a new UTS namespace (the control: in the body's); 2. a fresh
// child records every base namespace, calls setns(uts_fd, CLONE_NEWUTS) and records them again.
void SetnsChangesOneNs(const Probe& p) {
  api::ParkedChild member(p, p.Flags(CLONE_NEWUTS, CLONE_NEWUTS), [] {});
  UniqueFd uts = OpenNs(member.pid(), "uts");
  if (!uts.valid()) p.SetupFailed("open /proc/<member>/ns/uts");
  p.NsId("member.uts", ProcPath(member.pid(), "ns/uts").c_str());
  ChildProcess joiner = Spawn(0, [&] {
    api::RecordBaseNsSet(p, "before");
    OperationCall(p, "setns", setns(uts.get(), CLONE_NEWUTS));
    api::RecordBaseNsSet(p, "after");
    return 0;
  });
  if (!joiner.ok()) p.SetupFailed("fork");
  joiner.Wait();
  member.Release();
}

NSC_CASE({
    .id = "api.setns_changes_one_ns_per_nsfd_call",
    .title = "setns() with a namespace fd changes only that one membership",
    .source = {"setns(2)", "fd refers to a /proc/pid/ns/ link"},
    .observe = "after setns(uts_fd, CLONE_NEWUTS) into another UTS namespace, the caller's uts "
               "identity is the target's and differs from before; ipc, mnt, net, pid and user "
               "are unchanged",
    .control = "the target is the caller's own UTS namespace: the uts identity does not change "
               "(contradicts after.uts)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = api::kBaseNsFlags,
              .min_kernel = {3, 8}},
    .expect = {ExpectCall("setns", Succeeds()), ExpectDifferentNs("after.uts", "before.uts"),
               ExpectSameNs("after.uts", "member.uts"), ExpectSameNs("after.ipc", "before.ipc"),
               ExpectSameNs("after.mnt", "before.mnt"), ExpectSameNs("after.net", "before.net"),
               ExpectSameNs("after.pid", "before.pid"), ExpectSameNs("after.user", "before.user")},
    .body = SetnsChangesOneNs,
});

}  // namespace
}  // namespace nsc::cases
