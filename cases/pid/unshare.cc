// PID namespaces: creating one — unshare(CLONE_NEWPID) moves only later children, the first
// child becomes init, pid_for_children, and what may refuse a new PID namespace (a second
// unshare, CLONE_THREAD, a missing CAP_SYS_ADMIN).
// Source: pid_namespaces(7), 'setns(2) and unshare(2) semantics' and 'Compatibility of
// CLONE_NEWPID with other CLONE_* flags'; unshare(2) and clone(2), CLONE_NEWPID and ERRORS.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <unistd.h>

#include "nsconform/case.h"
#include "creation.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;

// The last value of the NSpid line of /proc/self/status (the PID in the innermost
// namespace); SKIP (PRECONDITION_UNMET) where there is no NSpid line (Linux < 4.1).
int64_t InnermostNsPid(const Probe& p) {
  int64_t ids[64];
  const int n = ReadStatusIds(0, "NSpid", ids, 64);
  if (n <= 0) p.Skip(ReasonCode::kPreconditionUnmet, "no NSpid line in /proc/self/status");
  return ids[n - 1];
}

// Flow:
//  1. A child C records its getpid() and its /proc/self/ns/pid identity.
//  2. C calls unshare(CLONE_NEWPID) (unshare(0) in the control).
//  3. C records getpid() and /proc/self/ns/pid again: both unchanged.
//  4. C forks; the new child records its getpid(): 1, it is the init of the new namespace.
void UnshareCallerNotMoved(const Probe& p) {
  ChildProcess caller = Spawn(0, [&] {
    p.Value("caller.getpid_before", RawGetpid());
    p.NsId("caller.ns_before", "/proc/self/ns/pid");
    p.Call("caller.unshare", unshare(p.Flags(CLONE_NEWPID, CLONE_NEWPID)));
    p.Value("caller.getpid_after", RawGetpid());
    p.NsId("caller.ns_after", "/proc/self/ns/pid");
    ChildProcess first = Spawn(0, [&] {
      p.Value("first_child.getpid", RawGetpid());
      return 0;
    });
    RequireCreated(p, first, "fork after unshare");
    first.Wait();
    return 0;
  });
  RequireCreated(p, caller, "fork of the unsharing process");
  caller.Wait();
}

NSC_CASE({
    .id = "pid.unshare_caller_not_moved",
    .title = "unshare(CLONE_NEWPID) does not move the caller; only its later children go in",
    .source = {"pid_namespaces(7)", "setns(2) and unshare(2) semantics"},
    .references = {"unshare(2), CLONE_NEWPID"},
    .observe = "getpid() and the identity of /proc/self/ns/pid are the same before and after "
               "unshare(CLONE_NEWPID); the next fork() child sees getpid() == 1",
    .control = "unshare(0) instead of unshare(CLONE_NEWPID): the child stays in the caller's "
               "namespace and gets an ordinary PID, not 1, contradicting first_child.getpid",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("caller.unshare", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectSameValue("caller.getpid_after", "caller.getpid_before"),
               ExpectSameNs("caller.ns_after", "caller.ns_before"),
               Expect("first_child.getpid", Eq(1))},
    .body = UnshareCallerNotMoved,
});

// Flow:
//  1. A child C calls unshare(CLONE_NEWPID) (unshare(0) in the control).
//  2. C forks I, which records getpid() (1) and stays alive until released.
//  3. While I lives, C forks S, which records the last field of its NSpid line (2).
//  4. C releases I and reaps both.
void UnshareFirstChildIsInit(const Probe& p) {
  ChildProcess caller = Spawn(0, [&] {
    Barrier release;
    if (!release.ok()) p.SetupFailed("pipe");
    p.Call("caller.unshare", unshare(p.Flags(CLONE_NEWPID, CLONE_NEWPID)));
    ChildProcess init = Spawn(0, [&] {
      release.CloseWriteEnd();
      p.Value("first_child.getpid", RawGetpid());
      release.Wait();
      return 0;
    });
    RequireCreated(p, init, "first fork after unshare");
    ChildProcess second = Spawn(0, [&] {
      p.Value("second_child.nspid_innermost", InnermostNsPid(p));
      return 0;
    });
    RequireCreated(p, second, "second fork after unshare");
    second.Wait();
    release.Signal();
    init.Wait();
    return 0;
  });
  RequireCreated(p, caller, "fork of the unsharing process");
  caller.Wait();
}

NSC_CASE({
    .id = "pid.unshare_first_child_is_init",
    .title = "After unshare(CLONE_NEWPID) the caller's first child is PID 1 of the new namespace",
    .source = {"unshare(2)", "CLONE_NEWPID"},
    .references = {"pid_namespaces(7), 'The namespace \"init\" process'"},
    .observe = "unshare(CLONE_NEWPID), then fork(): the child's getpid() is 1; while it lives, a "
               "second fork() from the caller gets PID 2 there (last field of its NSpid line)",
    .control = "unshare(0): both children get ordinary PIDs in the caller's namespace, "
               "contradicting first_child.getpid and second_child.nspid_innermost",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 1}},
    .preconditions = {Given(ExpectCall("caller.unshare", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {Expect("first_child.getpid", Eq(1)),
               Expect("second_child.nspid_innermost", Eq(2))},
    .body = UnshareFirstChildIsInit,
});

// Flow:
//  1. A child C calls unshare(CLONE_NEWPID) (unshare(0) in the control, so there is no first
//     PID-namespace unshare).
//  2. C calls unshare(CLONE_NEWPID) again: EINVAL.
void UnshareOnlyOnce(const Probe& p) {
  ChildProcess caller = Spawn(0, [&] {
    p.Call("first_unshare", unshare(p.Flags(CLONE_NEWPID, CLONE_NEWPID)));
    p.Call("second_unshare", unshare(CLONE_NEWPID));
    return 0;
  });
  RequireCreated(p, caller, "fork of the unsharing process");
  caller.Wait();
}

NSC_CASE({
    .id = "pid.unshare_only_once_einval",
    .title = "A process may unshare(CLONE_NEWPID) only once; the second call fails with EINVAL",
    .source = {"pid_namespaces(7)", "setns(2) and unshare(2) semantics"},
    .references = {"unshare(2), ERRORS"},
    .observe = "the first unshare(CLONE_NEWPID) returns 0, the second returns -1 with EINVAL",
    .control = "the first call is unshare(0): the later unshare(CLONE_NEWPID) is then the first "
               "one and succeeds, contradicting second_unshare",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    // A first unshare(CLONE_NEWPID) refused here (a seccomp filter, say) leaves nothing to test.
    .preconditions = {Given(ExpectCall("first_unshare", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("second_unshare", FailsWith(EINVAL))},
    .body = UnshareOnlyOnce,
});

// Flow:
//  1. A child C calls unshare(CLONE_NEWPID) (unshare(0) in the control).
//  2. C forks I, which records the identity of its /proc/self/ns/pid and stays alive.
//  3. C records the identities of its own /proc/self/ns/pid and pid_for_children, then
//     releases I.
void PidForChildrenDiffers(const Probe& p) {
  ChildProcess caller = Spawn(0, [&] {
    Barrier observed, release;
    if (!observed.ok() || !release.ok()) p.SetupFailed("pipe");
    p.Call("caller.unshare", unshare(p.Flags(CLONE_NEWPID, CLONE_NEWPID)));
    ChildProcess init = Spawn(0, [&] {
      release.CloseWriteEnd();
      p.NsId("child.pid", "/proc/self/ns/pid");
      observed.Signal();
      release.Wait();
      return 0;
    });
    RequireCreated(p, init, "fork after unshare");
    observed.CloseWriteEnd();
    if (!observed.Wait()) p.SetupFailed("the child died before observing");
    p.NsId("caller.pid", "/proc/self/ns/pid");
    p.NsId("caller.pid_for_children", "/proc/self/ns/pid_for_children");
    release.Signal();
    init.Wait();
    return 0;
  });
  RequireCreated(p, caller, "fork of the unsharing process");
  caller.Wait();
}

NSC_CASE({
    .id = "pid.pid_for_children_differs_after_unshare",
    .title = "After unshare(CLONE_NEWPID) and a first child, pid_for_children names the new "
             "namespace while pid still names the old one",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .references = {"pid_namespaces(7), 'setns(2) and unshare(2) semantics'"},
    .observe = "after unshare and fork, the caller's /proc/self/ns/pid and pid_for_children are "
               "different namespaces, and the child's /proc/self/ns/pid is the caller's "
               "pid_for_children",
    .control = "unshare(0): pid_for_children stays the caller's own namespace, contradicting "
               "caller.pid_for_children",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 12}},
    .preconditions = {Given(ExpectCall("caller.unshare", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectDifferentNs("caller.pid_for_children", "caller.pid"),
               ExpectSameNs("child.pid", "caller.pid_for_children")},
    .body = PidForChildrenDiffers,
});

bool StartsWith(const char* s, const char* prefix) {
  while (*prefix != '\0') {
    if (*s++ != *prefix++) return false;
  }
  return true;
}

// Flow:
//  1. A child C calls unshare(CLONE_NEWPID) (unshare(0) in the control) and forks nothing.
//  2. C reads the pid_for_children link with readlink(), and opens it; the pages promise an
//     empty readlink buffer, 6.18 fails both with ENOENT: both are recorded, and the check is
//     only that no "pid:[N]" name comes back.
void PidForChildrenUnset(const Probe& p) {
  ChildProcess caller = Spawn(0, [&] {
    p.Call("caller.unshare", unshare(p.Flags(CLONE_NEWPID, CLONE_NEWPID)));
    char link[128];
    const ssize_t n = readlink("/proc/self/ns/pid_for_children", link, sizeof link - 1);
    p.Call("caller.readlink", n);
    link[n > 0 ? n : 0] = '\0';
    p.Text("caller.readlink_text", link);
    p.Value("caller.link_names_a_namespace", n > 0 && StartsWith(link, "pid:[") ? 1 : 0);
    UniqueFd fd = OpenFile("/proc/self/ns/pid_for_children", O_RDONLY);
    p.Call("caller.open", fd.get());
    return 0;
  });
  RequireCreated(p, caller, "fork of the unsharing process");
  caller.Wait();
}

NSC_CASE({
    .id = "pid.pid_for_children_unset_before_first_child",
    .title = "Until the first child exists in the new namespace, pid_for_children has no value",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .references = {"pid_namespaces(7), 'setns(2) and unshare(2) semantics'"},
    .observe = "right after unshare(CLONE_NEWPID), readlink(\"/proc/self/ns/pid_for_children\") "
               "returns no pid:[N] name (the pages say an empty buffer; the errno or length and "
               "the open() result are recorded)",
    .control = "unshare(0): pid_for_children is the caller's own namespace and readlink names "
               "it, contradicting caller.link_names_a_namespace",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 12}},
    .preconditions = {Given(ExpectCall("caller.unshare", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {Expect("caller.link_names_a_namespace", Eq(0)), Record("caller.readlink"),
               Record("caller.readlink_text"), Record("caller.open")},
    .body = PidForChildrenUnset,
});

// The thread started by the control's clone(): it touches nothing (no libc, no errno) and
// returns, so the clone wrapper ends it with exit(2).
int ExitAtOnce(void*) { return 0; }

alignas(64) char g_thread_stack[64 * 1024];

// Flow:
//  0. The positive arm: an ordinary clone(CLONE_NEWPID) child of the body must be possible here
//     (a filter refusing CLONE_NEWPID altogether says nothing about CLONE_THREAD).
//  1. A child C (single-threaded, so a thread it might create dies with it) calls
//     clone(CLONE_NEWPID|CLONE_THREAD|CLONE_SIGHAND|CLONE_VM) with its own stack.
//  2. The call fails with EINVAL (in the control, without CLONE_NEWPID, it creates a thread
//     that returns at once).
void NewpidWithThread(const Probe& p) {
  ChildProcess plain = Spawn(CLONE_NEWPID, [] { return 0; });
  p.Call("plain.clone_newpid", plain.pid());
  plain.Wait();
  ChildProcess caller = Spawn(0, [&] {
    const int flags = static_cast<int>(
        p.Flags(CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, CLONE_NEWPID));
    p.Call("clone", clone(ExitAtOnce, g_thread_stack + sizeof g_thread_stack, flags, nullptr));
    return 0;
  });
  RequireCreated(p, caller, "fork of the cloning process");
  caller.Wait();
}

NSC_CASE({
    .id = "pid.newpid_with_thread_einval",
    .title = "CLONE_NEWPID cannot be combined with CLONE_THREAD (EINVAL)",
    .source = {"pid_namespaces(7)", "Compatibility of CLONE_NEWPID with other CLONE_* flags"},
    .references = {"clone(2), ERRORS"},
    .observe = "clone(fn, stack, CLONE_NEWPID|CLONE_THREAD|CLONE_SIGHAND|CLONE_VM, ...) returns "
               "-1 with EINVAL",
    .control = "the same clone without CLONE_NEWPID: an ordinary thread is created, "
               "contradicting clone",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID,
              .min_kernel = {2, 6, 24}},
    .preconditions = {Given(ExpectCall("plain.clone_newpid", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("clone", FailsWith(EINVAL))},
    .body = NewpidWithThread,
});

// Flow:
//  1. The positive arm: a child W that holds CAP_SYS_ADMIN calls unshare(CLONE_NEWPID): it
//     succeeds (otherwise the EPERM below could come from anything, e.g. a seccomp filter).
//  2. A child C drops CAP_SYS_ADMIN from its effective, permitted and inheritable sets with
//     capset(2) (kept in the control) and checks it is gone. C is root, or root of a fresh
//     user namespace.
//  3. C calls unshare(CLONE_NEWPID), without CLONE_NEWUSER: EPERM.
void NewpidRequiresCapSysAdmin(const Probe& p) {
  ChildProcess with_cap = Spawn(0, [&] {
    if (HasEffectiveCapability(CAP_SYS_ADMIN) != 1) {
      p.Skip(ReasonCode::kInsufficientPrivilege, "CAP_SYS_ADMIN is not effective to begin with");
    }
    p.Call("with_cap.unshare", unshare(CLONE_NEWPID));
    return 0;
  });
  RequireCreated(p, with_cap, "fork of the positive arm");
  with_cap.Wait();
  ChildProcess caller = Spawn(0, [&] {
    if (!p.control()) NSC_SETUP(p, DropCapability(CAP_SYS_ADMIN), "capset dropping CAP_SYS_ADMIN");
    const int cap = HasEffectiveCapability(CAP_SYS_ADMIN);
    p.Value("caller.cap_sys_admin", cap);
    if (cap != (p.control() ? 1 : 0)) {
      errno = 0;
      p.SetupFailed("CAP_SYS_ADMIN is not as the case set it");
    }
    p.Call("unshare", unshare(CLONE_NEWPID));
    return 0;
  });
  RequireCreated(p, caller, "fork of the unsharing process");
  caller.Wait();
}

NSC_CASE({
    .id = "pid.newpid_requires_cap_sys_admin",
    .title = "Creating a PID namespace needs CAP_SYS_ADMIN in the caller's user namespace (EPERM)",
    .source = {"clone(2)", "CLONE_NEWPID"},
    .references = {"clone(2), ERRORS", "unshare(2), CLONE_NEWPID"},
    .observe = "unshare(CLONE_NEWPID) first succeeds in a child holding CAP_SYS_ADMIN; after "
               "dropping CAP_SYS_ADMIN with capset, unshare(CLONE_NEWPID) (no new user "
               "namespace) returns -1 with EPERM",
    .control = "CAP_SYS_ADMIN is kept: the unshare succeeds, contradicting unshare",
    // CLONE_NEWPID exists since 2.6.24; the body uses unshare(CLONE_NEWPID), since 3.8.
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8},
              .needs_userns = true},
    .preconditions = {Given(ExpectCall("with_cap.unshare", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("unshare", FailsWith(EPERM)), Record("caller.cap_sys_admin")},
    .body = NewpidRequiresCapSysAdmin,
});

}  // namespace
}  // namespace nsc::cases
