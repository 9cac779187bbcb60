// PID namespaces: /proc — ns_last_pid is per namespace and needs a capability to write, a
// procfs instance shows the PIDs of its mounter's namespace, and /proc/self follows the
// procfs's numbering.
// Source: pid_namespaces(7), '/proc files' and '/proc and PID namespaces'.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "nsconform/case.h"
#include "creation.h"
#include "pidns_guard.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

constexpr const char* kNsLastPid = "/proc/sys/kernel/ns_last_pid";
constexpr int kCapCheckpointRestore = 40;  // CAP_CHECKPOINT_RESTORE, Linux 5.9

// Parses the leading decimal number of `s`; -1 if there is none.
int64_t LeadingNumber(const char* s) {
  if (*s < '0' || *s > '9') return -1;
  int64_t v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

// Reads ns_last_pid. The file exists only with CONFIG_CHECKPOINT_RESTORE: ENOENT is a SKIP
// (KCONFIG_MISSING); any other failure, or no number in it, is a set-up ERROR.
int64_t ReadNsLastPid(const Probe& p) {
  char buf[32];
  if (ReadSmallFile(kNsLastPid, buf, sizeof buf) <= 0) {
    if (errno == ENOENT) {
      p.Skip(ReasonCode::kKconfigMissing,
             "no /proc/sys/kernel/ns_last_pid (CONFIG_CHECKPOINT_RESTORE is not set)");
    }
    p.SetupFailed("read /proc/sys/kernel/ns_last_pid");
  }
  const int64_t value = LeadingNumber(buf);
  if (value < 0) {
    errno = 0;
    p.SetupFailed("no number in /proc/sys/kernel/ns_last_pid");
  }
  return value;
}

// The calling process's PID as numbered by the procfs at /proc (first NSpid field), or -1.
int64_t ProcfsPid() {
  int64_t ids[64];
  return ReadStatusIds(0, "NSpid", ids, 64) > 0 ? ids[0] : -1;
}

// ns_last_pid of the harness's PID namespace must never be written: every write is made by a
// process that passed RequireOutsideHarnessPidNs after the body's RequireWorkingGuard
// (pidns_guard.h, failing closed).
// Flow:
//  1. The body notes its PID namespace; it clones I with CLONE_NEWPID.
//  2. I checks that it is in another PID namespace (guard), reads ns_last_pid (absent without
//     CONFIG_CHECKPOINT_RESTORE: SKIP), then writes "500" to it (the control writes "1", the
//     value it already holds).
//  3. I forks C: C's getpid() is 501; afterwards ns_last_pid reads 501.
void NsLastPidNextAlloc(const Probe& p) {
  const PidNsIdentity harness = RequireWorkingGuard(p);
  ChildProcess init = Spawn(CLONE_NEWPID, [&] {
    RequireOutsideHarnessPidNs(p, harness);
    p.Value("init.ns_last_pid_before", ReadNsLastPid(p));
    p.Call("init.write_ns_last_pid", WriteSmallFile(kNsLastPid, p.Pick("500", "1")));
    ChildProcess child = Spawn(0, [&] {
      p.Value("child.getpid", RawGetpid());
      return 0;
    });
    RequireCreated(p, child, "fork after writing ns_last_pid");
    child.Wait();
    p.Value("init.ns_last_pid_after", ReadNsLastPid(p));
    return 0;
  });
  RequireCreated(p, init, "clone(CLONE_NEWPID)");
  init.Wait();
}

NSC_CASE({
    .id = "pid.ns_last_pid_next_alloc",
    .title = "ns_last_pid is per PID namespace; the next PID is the lowest free one above it",
    .source = {"pid_namespaces(7)", "/proc files"},
    .observe = "the init of a new namespace writes \"500\" to /proc/sys/kernel/ns_last_pid and "
               "forks: the child's PID is 501 and the file then reads 501 (the write happens "
               "only after a check that the writer is not in the harness's namespace)",
    .control = "the init writes \"1\", the value the file already holds: the child gets PID 2 "
               "and the file reads 2, contradicting child.getpid and init.ns_last_pid_after",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWPID,
              .min_kernel = {3, 3},
              .kconfig = {"CONFIG_CHECKPOINT_RESTORE"}},
    // The write is the set-up; a read-only /proc/sys (a container) refuses it with EROFS.
    .preconditions = {Given(ExpectCall("init.write_ns_last_pid", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {Expect("child.getpid", Eq(501)),
               Expect("init.ns_last_pid_after", Eq(501)), Record("init.ns_last_pid_before")},
    .body = NsLastPidNextAlloc,
});

// Flow:
//  1. The body notes its PID namespace; it clones I with CLONE_NEWPID (I is root, or root of
//     the harness's user namespace, which owns the new PID namespace).
//  2. I checks that it is in another PID namespace (guard) and reads ns_last_pid (absent
//     without CONFIG_CHECKPOINT_RESTORE: SKIP). The positive arm: with its capabilities, I
//     writes back the value it read (changing nothing): the write succeeds.
//  3. I drops every capability with capset(2), CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE
//     included (the control keeps them), and checks they are gone.
//  4. I writes "100" to /proc/sys/kernel/ns_last_pid: EPERM (kernel/pid_namespace.c,
//     pid_ns_ctl_handler(); the page names no errno, the catalogue expects EPERM).
void NsLastPidWriteNeedsCap(const Probe& p) {
  const PidNsIdentity harness = RequireWorkingGuard(p);
  ChildProcess init = Spawn(CLONE_NEWPID, [&] {
    RequireOutsideHarnessPidNs(p, harness);
    char current[24];
    {
      PathBuf value;
      value.Add(ReadNsLastPid(p));
      for (size_t i = 0; i <= value.size(); ++i) current[i] = value.c_str()[i];
    }
    p.Call("init.write_with_caps", WriteSmallFile(kNsLastPid, current));
    if (!p.control()) {
      NSC_SETUP(p, DropAllCapabilities(), "capset dropping all capabilities");
      if (HasEffectiveCapability(CAP_SYS_ADMIN) != 0 ||
          HasEffectiveCapability(kCapCheckpointRestore) == 1) {
        errno = 0;
        p.SetupFailed("capabilities still effective after dropping them all");
      }
    }
    p.Call("init.write_ns_last_pid", WriteSmallFile(kNsLastPid, "100"));
    return 0;
  });
  RequireCreated(p, init, "clone(CLONE_NEWPID)");
  init.Wait();
}

NSC_CASE({
    .id = "pid.ns_last_pid_write_needs_cap",
    .title = "Writing ns_last_pid needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) over the "
             "PID namespace",
    .source = {"pid_namespaces(7)", "/proc files"},
    .references = {"capabilities(7), CAP_CHECKPOINT_RESTORE"},
    .observe = "the init of a new namespace first writes ns_last_pid's own value back with its "
               "capabilities (it succeeds), then drops all capabilities with capset and writes "
               "ns_last_pid: EPERM (the page names no errno; the kernel and the catalogue say "
               "EPERM)",
    .control = "the init keeps its capabilities: the write succeeds (inside the new namespace "
               "only, after the same namespace guard), contradicting init.write_ns_last_pid",
    .needs = {.privilege = Privilege::kNocap,
              .namespaces = CLONE_NEWPID,
              .min_kernel = {3, 3},
              .kconfig = {"CONFIG_CHECKPOINT_RESTORE"},
              .needs_userns = true},
    .preconditions = {Given(ExpectCall("init.write_with_caps", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("init.write_ns_last_pid", FailsWith(EPERM))},
    .body = NsLastPidWriteNeedsCap,
});

// Counts the numeric entries of a /proc directory and their highest value.
struct PidListing {
  int64_t count = 0;
  int64_t max = 0;
};

int ListPids(const char* dir_path, PidListing* out) {
  UniqueFd dir = OpenFile(dir_path, O_RDONLY | O_DIRECTORY);
  if (!dir.valid()) return -1;
  alignas(8) char buf[4096];
  for (;;) {
    const long n = syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
    if (n == -1) return -1;
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
      unsigned short reclen;
      __builtin_memcpy(&reclen, buf + off + 16, sizeof reclen);
      const int64_t pid = LeadingNumber(buf + off + 19);
      if (pid > 0) {
        ++out->count;
        if (pid > out->max) out->max = pid;
      }
      off += reclen;
    }
  }
}

constexpr const char* kInitName = "nsc-pidns-init";

// Flow:
//  1. The body clones I with CLONE_NEWPID. I notes its /proc name (old procfs), names itself
//     "nsc-pidns-init", enters a private mount namespace and mounts a fresh proc on /proc
//     (the control skips the mount and keeps the procfs inherited from the host).
//  2. I forks M (PID 2), then lists /proc: exactly PIDs 1 and 2; /proc/1/comm is I's name.
//  3. The body, in the parent namespace, lists the same instance through /proc/I/root/proc:
//     the same two PIDs.
void ProcShowsMountersNs(const Probe& p) {
  Barrier named, listed, release;
  if (!named.ok() || !listed.ok() || !release.ok()) p.SetupFailed("pipe");
  ChildProcess init = Spawn(CLONE_NEWPID, [&] {
    release.CloseWriteEnd();
    named.Send(ProcfsPid());
    named.CloseWriteEnd();
    NSC_SETUP(p, prctl(PR_SET_NAME, kInitName, 0, 0, 0), "prctl(PR_SET_NAME)");
    NSC_SETUP(p, EnterPrivateMountNamespace(), "private mount namespace");
    if (!p.control() &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == -1) {
      // The case owns the PID namespace, so EPERM here means the procfs it inherited is
      // partly hidden by overmounts (a container's masked paths): a user namespace may then
      // not mount a new, fully visible instance (user_namespaces(7), mount restrictions).
      if (errno == EPERM) {
        p.Skip(ReasonCode::kPreconditionUnmet,
               "mounting a new proc is refused (EPERM): /proc is partly overmounted here");
      }
      p.SetupFailed("mount a fresh proc on /proc in the new mount namespace");
    }
    ChildProcess member = Spawn(0, [&] {
      release.Wait();
      return 0;
    });
    RequireCreated(p, member, "fork of a namespace member");
    PidListing inside;
    NSC_SETUP(p, ListPids("/proc", &inside), "list /proc");
    p.Value("init.listing_count", inside.count);
    p.Value("init.listing_max", inside.max);
    char comm[32];
    if (ReadSmallFile("/proc/1/comm", comm, sizeof comm) < 0) p.SetupFailed("read /proc/1/comm");
    p.Text("init.proc1_comm", comm);
    listed.Signal();
    release.Wait();
    member.Wait();
    return 0;
  });
  RequireCreated(p, init, "clone(CLONE_NEWPID)");
  named.CloseWriteEnd();
  listed.CloseWriteEnd();
  int64_t init_procfs_pid;
  if (!named.Receive(&init_procfs_pid) || init_procfs_pid <= 0) p.SetupFailed("the init's /proc name");
  if (!listed.Wait()) return;  // the init recorded why it stopped (a skip or a set-up error)
  const PathBuf through = ProcPath(static_cast<pid_t>(init_procfs_pid), "root/proc");
  PidListing outside;
  NSC_SETUP(p, ListPids(through.c_str(), &outside), "list /proc/<init>/root/proc");
  p.Value("outside.listing_count", outside.count);
  p.Value("outside.listing_max", outside.max);
  release.CloseWriteEnd();
  init.Wait();
}

NSC_CASE({
    .id = "pid.proc_shows_mounters_ns",
    .title = "A procfs instance lists the PIDs of its mounter's namespace, whoever reads it",
    .source = {"pid_namespaces(7)", "/proc and PID namespaces"},
    .observe = "in a new PID + private mount namespace, a proc mounted on /proc by the init "
               "lists exactly PIDs 1 and 2 (init and one child) and /proc/1/comm is the init's; "
               "read from the parent namespace through /proc/<init>/root/proc, the same "
               "instance still lists only 1 and 2",
    .control = "the init does not mount a fresh proc: /proc is still the instance mounted in "
               "the host's namespace and lists the host's PIDs, contradicting the listing keys "
               "and init.proc1_comm",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID | CLONE_NEWNS,
              .min_kernel = {3, 8}},
    .expect = {Expect("init.listing_count", Eq(2)), Expect("init.listing_max", Eq(2)),
               ExpectText("init.proc1_comm", ::testing::StrEq("nsc-pidns-init\n")),
               Expect("outside.listing_count", Eq(2)), Expect("outside.listing_max", Eq(2))},
    .body = ProcShowsMountersNs,
});

// Flow:
//  1. The body clones I with CLONE_NEWPID (an ordinary child in the control).
//  2. With the inherited procfs, I reads readlink("/proc/self"), its getpid() and the first
//     field of its NSpid line (its PID in the procfs's namespace).
void ProcSelfIsMountNsPid(const Probe& p) {
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    const int64_t procfs_pid = ProcfsPid();
    if (procfs_pid <= 0) p.Skip(ReasonCode::kPreconditionUnmet, "no NSpid line in /proc/self/status");
    char link[32];
    const ssize_t n = readlink("/proc/self", link, sizeof link - 1);
    if (n <= 0) p.SetupFailed("readlink /proc/self");
    link[n] = '\0';
    p.Value("init.proc_self", LeadingNumber(link));
    p.Value("init.getpid", RawGetpid());
    p.Value("init.nspid_first", procfs_pid);
    return 0;
  });
  RequireCreated(p, init, "clone of the child");
  p.Value("parent.clone_ret", init.pid());
  init.Wait();
}

NSC_CASE({
    .id = "pid.proc_self_is_mount_ns_pid",
    .title = "/proc/self names the caller's PID as numbered in the procfs's PID namespace",
    .source = {"pid_namespaces(7)", "/proc and PID namespaces"},
    .observe = "inside a new PID namespace with the inherited procfs, /proc/self resolves to "
               "the outer PID (the first NSpid field, the procfs's numbering), not to getpid() "
               "== 1",
    .control = "no CLONE_NEWPID: the child's getpid() is its procfs PID, so /proc/self equals "
               "it, contradicting init.getpid and init.proc_self (different from getpid)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 1}},
    .expect = {Expect("init.getpid", Eq(1)),
               ExpectSameValue("init.proc_self", "init.nspid_first"),
               ExpectDifferentValue("init.proc_self", "init.getpid"), Record("parent.clone_ret")},
    .body = ProcSelfIsMountNsPid,
});

}  // namespace
}  // namespace nsc::cases
