// PID namespaces: setns(2) with a PID-namespace fd — only the caller's own namespace or a
// descendant may be joined, and joining changes where later children go, never the caller.
// Source: setns(2), 'Details for specific namespace types' and ERRORS; pid_namespaces(7),
// 'Nesting PID namespaces' and 'setns(2) and unshare(2) semantics'.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "nsconform/case.h"
#include "creation.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;

// The PID of the calling process as numbered by the procfs instance at /proc: the first field
// of its NSpid line (equal to the PID in the body's namespace unless the harness itself runs
// in a PID namespace without its own /proc), or -1.
int64_t ProcfsPid() {
  int64_t ids[64];
  return ReadStatusIds(0, "NSpid", ids, 64) > 0 ? ids[0] : -1;
}

// A process that stays alive until the body releases it: the init of a new PID namespace
// (or, in a control, an ordinary child). Its /proc/<pid>/ns/pid is opened while it lives.
class HeldProcess {
 public:
  // Spawns the process and learns its /proc name; SetupFailed on error.
  HeldProcess(const Probe& p, unsigned long flags) {
    Barrier named;
    if (!release_.ok() || !named.ok()) p.SetupFailed("pipe");
    child_ = Spawn(flags, [&] {
      release_.CloseWriteEnd();
      const int64_t procfs_pid = ProcfsPid();
      if (procfs_pid <= 0) p.Skip(ReasonCode::kPreconditionUnmet, "no NSpid line in /proc/self/status");
      named.Send(procfs_pid);
      named.CloseWriteEnd();
      release_.Wait();
      return 0;
    });
    RequireCreated(p, child_, "clone of the namespace holder");
    release_.CloseReadEnd();
    named.CloseWriteEnd();
    if (!named.Receive(&procfs_pid_) || procfs_pid_ <= 0) {
      p.SetupFailed("the namespace holder could not read its NSpid");
    }
  }
  // Opens /proc/<pid>/ns/pid; SetupFailed on error.
  UniqueFd OpenPidNs(const Probe& p) const {
    const PathBuf path = ProcPath(static_cast<pid_t>(procfs_pid_), "ns/pid");
    UniqueFd fd = OpenFile(path.c_str(), O_RDONLY);
    if (!fd.valid()) p.SetupFailed("open /proc/<holder>/ns/pid");
    return fd;
  }
  // A byte, not EOF: other children of the body inherit the write end too.
  void Release() {
    release_.Signal();
    release_.CloseWriteEnd();
    child_.Wait();
  }

 private:
  Barrier release_;
  ChildProcess child_;
  int64_t procfs_pid_ = -1;
};

// Runs `scenario` in the init of a fresh PID namespace, the arena: the namespace the scenario
// calls "own" is then one the case created, owned by the harness's user namespace. setns(2)
// needs CAP_SYS_ADMIN in the user namespace owning the target, which a case running in a
// fresh user namespace (rootless, --userns) never has over the host's PID namespace.
void InArena(const Probe& p, FunctionRef<void()> scenario) {
  ChildProcess arena = Spawn(CLONE_NEWPID, [&] {
    scenario();
    return 0;
  });
  RequireCreated(p, arena, "clone of the arena namespace's init");
  arena.Wait();
}

// Flow:
//  0. Everything runs in an arena PID namespace (see InArena).
//  1. Clone a namespace init I with CLONE_NEWPID (an ordinary child in the control); open
//     /proc/I/ns/pid.
//  2. A sibling S calls setns(fd, CLONE_NEWPID), then forks G.
//  3. G records getppid() (0: S is outside G's namespace) and getpid() (> 1: I is PID 1).
void GetppidZeroAfterSetns(const Probe& p) {
  InArena(p, [&] {
    HeldProcess init(p, p.Flags(CLONE_NEWPID, CLONE_NEWPID));
    UniqueFd target = init.OpenPidNs(p);
    RequireSetnsNotFiltered(p, target.get());
    ChildProcess sibling = Spawn(0, [&] {
      p.Call("sibling.setns", setns(target.get(), CLONE_NEWPID));
      ChildProcess grandchild = Spawn(0, [&] {
        p.Value("grandchild.getppid", getppid());
        p.Value("grandchild.getpid", RawGetpid());
        return 0;
      });
      RequireCreated(p, grandchild, "fork after setns");
      grandchild.Wait();
      return 0;
    });
    RequireCreated(p, sibling, "fork of the setns caller");
    sibling.Wait();
    init.Release();
  });
}

NSC_CASE({
    .id = "pid.getppid_zero_after_setns_child",
    .title = "A child forked after setns() into a child PID namespace sees getppid() == 0",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .observe = "with an fd on a live namespace init's /proc/PID/ns/pid, a sibling process calls "
               "setns(fd, CLONE_NEWPID) and forks: the new child's getppid() is 0 and its "
               "getpid() is greater than 1",
    .control = "the held process is created without CLONE_NEWPID: the setns joins the caller's "
               "own namespace and the child sees its parent's PID, contradicting "
               "grandchild.getppid",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("sibling.setns", Succeeds()))},
    .expect = {Expect("grandchild.getppid", Eq(0)),
               Expect("grandchild.getpid", Gt(1))},
    .body = GetppidZeroAfterSetns,
});

// Flow:
//  0. Everything runs in an arena PID namespace (see InArena): the callers' "own" namespace.
//  1. Clone a namespace init I with CLONE_NEWPID (a descendant namespace); open /proc/I/ns/pid.
//     Clone a second init J the same way (a namespace that is neither).
//  2. A child C (in the control: the init of a sibling namespace of I's) opens its own
//     /proc/self/ns/pid and calls setns on it: 0.
//  3. C calls setns on I's namespace: 0 for a descendant. In the control it is a sibling
//     namespace of C's and the call is refused.
//  4. A second child calls setns on I's namespace and then on J's, a sibling of I's: recorded
//     (the page gives no errno for a non-descendant that is not an ancestor).
void SetnsDescendantOnly(const Probe& p) {
  InArena(p, [&] {
    HeldProcess descendant(p, CLONE_NEWPID);
    HeldProcess other(p, CLONE_NEWPID);
    UniqueFd descendant_fd = descendant.OpenPidNs(p);
    UniqueFd other_fd = other.OpenPidNs(p);
    RequireSetnsNotFiltered(p, descendant_fd.get());
    ChildProcess caller = Spawn(p.Pick(0UL, static_cast<unsigned long>(CLONE_NEWPID)), [&] {
      UniqueFd own = OpenFile("/proc/self/ns/pid", O_RDONLY);
      if (!own.valid()) p.SetupFailed("open /proc/self/ns/pid");
      p.Call("setns.own", setns(own.get(), CLONE_NEWPID));
      p.Call("setns.descendant", setns(descendant_fd.get(), CLONE_NEWPID));
      return 0;
    });
    RequireCreated(p, caller, "clone of the setns caller");
    caller.Wait();
    ChildProcess wanderer = Spawn(0, [&] {
      if (setns(descendant_fd.get(), CLONE_NEWPID) == -1) p.SetupFailed("setns into a descendant");
      p.Call("setns.sibling_of_pid_for_children", setns(other_fd.get(), CLONE_NEWPID));
      return 0;
    });
    RequireCreated(p, wanderer, "fork of the second setns caller");
    wanderer.Wait();
    descendant.Release();
    other.Release();
  });
}

NSC_CASE({
    .id = "pid.setns_descendant_only",
    .title = "setns() into a PID namespace is allowed for the caller's own namespace or a "
             "descendant of it",
    .source = {"setns(2)", "Details for specific namespace types"},
    .references = {"pid_namespaces(7), 'Nesting PID namespaces'"},
    .observe = "setns(fd_of_own_ns, CLONE_NEWPID) and setns(fd_of_descendant, CLONE_NEWPID) both "
               "return 0 (the own namespace is one the case created); recorded: after joining one descendant, setns into a sibling of it "
               "(still a descendant of the caller's own namespace)",
    .control = "the caller is itself the init of a sibling namespace: the target is no longer a "
               "descendant of its namespace and setns refuses it, contradicting "
               "setns.descendant",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .expect = {ExpectCall("setns.own", Succeeds()), ExpectCall("setns.descendant", Succeeds()),
               Record("setns.sibling_of_pid_for_children")},
    .body = SetnsDescendantOnly,
});

// Flow:
//  0. Everything runs in an arena PID namespace (see InArena): the ancestor.
//  1. Open the arena's /proc/self/ns/pid.
//  2. Clone an init with CLONE_NEWPID (an ordinary child in the control).
//  3. The init calls setns(fd, CLONE_NEWPID) on the outer (ancestor) namespace: EINVAL.
void SetnsAncestorEinval(const Probe& p) {
  InArena(p, [&] {
    UniqueFd outer = OpenFile("/proc/self/ns/pid", O_RDONLY);
    if (!outer.valid()) p.SetupFailed("open /proc/self/ns/pid");
    RequireSetnsNotFiltered(p, outer.get());
    ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
      p.Call("init.setns_ancestor", setns(outer.get(), CLONE_NEWPID));
      return 0;
    });
    RequireCreated(p, init, "clone(CLONE_NEWPID)");
    init.Wait();
  });
}

NSC_CASE({
    .id = "pid.setns_ancestor_einval",
    .title = "setns() into an ancestor PID namespace fails with EINVAL",
    .source = {"setns(2)", "ERRORS"},
    .references = {"pid_namespaces(7), 'Nesting PID namespaces'"},
    .observe = "with the outer /proc/self/ns/pid opened before the clone, the namespace init's "
               "setns(fd, CLONE_NEWPID) returns -1 with EINVAL (the outer namespace is one the "
               "case created, so the capability check of setns(2) cannot answer first)",
    .control = "the child is created without CLONE_NEWPID: the fd names its own namespace and "
               "setns succeeds, contradicting init.setns_ancestor",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .expect = {ExpectCall("init.setns_ancestor", FailsWith(EINVAL))},
    .body = SetnsAncestorEinval,
});

// Flow:
//  0. Everything runs in an arena PID namespace (see InArena).
//  1. Clone a namespace init I with CLONE_NEWPID and open /proc/I/ns/pid (the target).
//  2. A child C records getpid() and its /proc/self/ns/pid, calls setns(target) (in the
//     control: setns on its own namespace), and records both again plus pid_for_children.
//  3. C forks G, which records its /proc/self/ns/pid: the target.
void SetnsChangesChildrenOnly(const Probe& p) {
  InArena(p, [&] {
    HeldProcess init(p, CLONE_NEWPID);
    UniqueFd target = init.OpenPidNs(p);
    RequireSetnsNotFiltered(p, target.get());
    p.NsIdOfFd("target", target.get());
    ChildProcess caller = Spawn(0, [&] {
      UniqueFd own = OpenFile("/proc/self/ns/pid", O_RDONLY);
      if (!own.valid()) p.SetupFailed("open /proc/self/ns/pid");
      p.Value("caller.getpid_before", RawGetpid());
      p.NsId("caller.ns_before", "/proc/self/ns/pid");
      p.Call("caller.setns", setns(p.control() ? own.get() : target.get(), CLONE_NEWPID));
      p.Value("caller.getpid_after", RawGetpid());
      p.NsId("caller.ns_after", "/proc/self/ns/pid");
      p.NsId("caller.pid_for_children", "/proc/self/ns/pid_for_children");
      ChildProcess child = Spawn(0, [&] {
        p.NsId("child.ns", "/proc/self/ns/pid");
        return 0;
      });
      RequireCreated(p, child, "fork after setns");
      child.Wait();
      return 0;
    });
    RequireCreated(p, caller, "fork of the setns caller");
    caller.Wait();
    init.Release();
  });
}

NSC_CASE({
    .id = "pid.setns_changes_children_only",
    .title = "setns() into a PID namespace changes only where later children go, not the caller",
    .source = {"setns(2)", "Details for specific namespace types"},
    .references = {"pid_namespaces(7), 'setns(2) and unshare(2) semantics'",
                   "namespaces(7), 'The /proc/pid/ns/ directory'"},
    .observe = "after setns(target, CLONE_NEWPID), the caller's /proc/self/ns/pid and getpid() "
               "are unchanged, its pid_for_children names the target, and a forked child's "
               "/proc/self/ns/pid is the target",
    .control = "the caller joins its own namespace instead of the target: pid_for_children and "
               "the child's namespace are then not the target, contradicting "
               "caller.pid_for_children and child.ns",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 12}},
    .preconditions = {Given(ExpectCall("caller.setns", Succeeds()))},
    .expect = {ExpectSameNs("caller.ns_after", "caller.ns_before"),
               ExpectSameValue("caller.getpid_after", "caller.getpid_before"),
               ExpectSameNs("caller.pid_for_children", "target"),
               ExpectSameNs("child.ns", "target")},
    .body = SetnsChangesChildrenOnly,
});

}  // namespace
}  // namespace nsc::cases
