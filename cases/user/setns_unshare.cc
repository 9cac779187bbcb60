// User namespaces: joining with setns() and leaving with unshare() — who may join which
// namespace, what joining grants, and the single-threaded, unshared-fs requirement.
// Sources: setns(2), 'Details for specific namespace types' (User namespaces) and ERRORS;
// unshare(2), CLONE_NEWUSER and ERRORS; user_namespaces(7), 'Capabilities' and 'Nested
// namespaces, namespace membership'.
#include "user_common.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using userns::BecomeUnprivileged;
using userns::FullCapMask;
using userns::OwnStatusHex;

// Parks a child of the caller in a new user namespace (flags: CLONE_NEWUSER, or 0 in a control
// that wants none). A refusal by the environment makes the child skip the case.
bool ParkInNewUserNs(const Probe& p, userns::ParkedChild& holder, unsigned long flags) {
  return holder.Start(0, [&] {
    if (unshare(static_cast<int>(flags)) == -1) userns::UserNsSetupFailed(p, "unshare(CLONE_NEWUSER)");
    return 0;
  });
}

// Flow: 1. a child opens its user namespace P, calls unshare(CLONE_NEWUSER) and maps itself
// ("0 E 1"), and records CapEff (full in the new namespace U); 2. it calls setns() into P.
// In the control it instead targets U2, a child namespace of U held by a parked grandchild.
void SetnsNeedsCapInTarget(const Probe& p) {
  userns::RequireSetnsReachesKernel(p);
  ChildProcess child = Spawn(0, [&] {
    UniqueFd parent_ns = OpenNs(0, "user");
    if (!parent_ns.valid()) p.SetupFailed("open /proc/self/ns/user");
    userns::EnterMappedUserNs(p, 0, "unshare(CLONE_NEWUSER)");
    p.Value("full_mask", FullCapMask(p));
    p.Value("cap_eff", OwnStatusHex("CapEff"));
    userns::ParkedChild descendant;
    int target = parent_ns.get();
    UniqueFd descendant_ns;
    if (p.control()) {
      if (!descendant.Start(CLONE_NEWUSER, [] { return 0; })) p.SetupFailed("a child user namespace");
      descendant_ns = OpenNs(descendant.pid(), "user");
      target = descendant_ns.get();
    }
    userns::CallUnderTest(p, "setns_parent", setns(target, CLONE_NEWUSER), EPERM);
    if (p.control()) descendant.Release();
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.setns_needs_cap_in_target",
    .title = "setns() into a user namespace needs CAP_SYS_ADMIN there: an ancestor cannot be joined",
    .source = {"setns(2)", "Details for specific namespace types"},
    .references = {"user_namespaces(7), Nested namespaces, namespace membership", "setns(2), ERRORS"},
    .observe = "a process with every capability in its new user namespace calls setns() with an "
               "fd of the parent user namespace: EPERM",
    .control = "the target is a child of the new namespace instead: setns succeeds (contradicts "
               "setns_parent)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectSameValue("cap_eff", "full_mask"))},
    .expect = {ExpectCall("setns_parent", FailsWith(EPERM))},
    .body = SetnsNeedsCapInTarget,
});

// Flow: 1. child A drops to an unprivileged uid E, calls unshare(CLONE_NEWUSER) (U, owner E)
// and waits; 2. sibling B (uid E) records CapEff (empty), calls setns() into U and records
// CapEff, CapPrm and its uid there (unmapped: the overflow uid).
void SetnsGrantsFullCaps(const Probe& p) {
  userns::RequireSetnsReachesKernel(p);
  userns::ParkedChild a;
  const bool started = a.Start(0, [&] {
    BecomeUnprivileged(p);
    if (unshare(static_cast<int>(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER))) == -1) {
      userns::UserNsSetupFailed(p, "unshare(CLONE_NEWUSER)");
    }
    return 0;
  });
  if (!started) return;
  UniqueFd target = OpenNs(a.pid(), "user");
  if (!target.valid()) p.SetupFailed("open /proc/<A>/ns/user");
  ChildProcess b = Spawn(0, [&] {
    BecomeUnprivileged(p);
    p.Value("full_mask", FullCapMask(p));
    p.Value("before.cap_eff", OwnStatusHex("CapEff"));
    userns::CallUnderTest(p, "setns", setns(target.get(), CLONE_NEWUSER));
    p.Value("after.cap_eff", OwnStatusHex("CapEff"));
    p.Value("after.cap_prm", OwnStatusHex("CapPrm"));
    p.Value("after.uid", getuid());
    return 0;
  });
  if (!b.ok()) p.SetupFailed("fork");
  b.Wait();
  a.Release();
}

NSC_CASE({
    .id = "user.setns_grants_full_caps",
    .title = "A successful setns() into a user namespace grants a full capability set there",
    .source = {"setns(2)", "Details for specific namespace types"},
    .references = {"user_namespaces(7), Capabilities"},
    .observe = "an unprivileged sibling of the namespace's creator (same euid, empty CapEff) joins "
               "it with setns(): CapEff and CapPrm become the full mask although its uid is "
               "unmapped there",
    .control = "the creator makes no namespace: setns into the caller's own fails and CapEff "
               "stays empty (contradicts setns, after.cap_eff and after.cap_prm)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("before.cap_eff", Eq(0)))},
    .expect = {ExpectCall("setns", Succeeds()),
               ExpectSameValue("after.cap_eff", "full_mask"),
               ExpectSameValue("after.cap_prm", "full_mask"), Record("after.uid")},
    .body = SetnsGrantsFullCaps,
});

// Flow: 1. a child opens its user namespace P, calls unshare(CLONE_NEWUSER) and opens the new
// namespace U; 2. it drops every capability and records CapEff; 3. it calls setns() into U (the
// namespace it is in) and records CapEff again.
void SetnsSameNsEinval(const Probe& p) {
  userns::RequireSetnsReachesKernel(p);
  ChildProcess child = Spawn(0, [&] {
    UniqueFd parent_ns = OpenNs(0, "user");
    if (!parent_ns.valid()) p.SetupFailed("open /proc/self/ns/user");
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    UniqueFd own_ns = OpenNs(0, "user");
    if (!own_ns.valid()) p.SetupFailed("open /proc/self/ns/user");
    NSC_SETUP(p, DropAllCapabilities(), "dropping all capabilities");
    p.Value("before.cap_eff", OwnStatusHex("CapEff"));
    const int fd = p.Pick(own_ns.get(), parent_ns.get());
    userns::CallUnderTest(p, "setns_own", setns(fd, CLONE_NEWUSER), EINVAL);
    p.Value("after.cap_eff", OwnStatusHex("CapEff"));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.setns_same_ns_einval",
    .title = "setns() into the caller's own user namespace fails with EINVAL (no regaining dropped caps)",
    .source = {"setns(2)", "Details for specific namespace types"},
    .references = {"setns(2), ERRORS"},
    .observe = "in a new user namespace, after dropping every capability, setns() with an fd of "
               "that same namespace fails with EINVAL and CapEff stays empty",
    .control = "the fd names the parent namespace instead: the call fails, but with EPERM, not "
               "EINVAL (contradicts setns_own)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("before.cap_eff", Eq(0)))},
    .expect = {ExpectCall("setns_own", FailsWith(EINVAL)),
               Expect("after.cap_eff", Eq(0))},
    .body = SetnsSameNsEinval,
});

// Flow: 1. a child P becomes root of a new, mapped user namespace U0 (so it holds every
// capability there, as real root or not); 2. P parks a child H that enters a new user namespace
// U below U0 (control: a new UTS namespace); 3. P starts a second thread (CLONE_VM|CLONE_THREAD|
// CLONE_SIGHAND, no CLONE_FS) that blocks on a pipe, records its Threads count, and calls
// setns() into H's namespace.
void SetnsMultithreadedEinval(const Probe& p) {
  userns::RequireSetnsReachesKernel(p);
  ChildProcess child = Spawn(0, [&] {
    userns::EnterMappedUserNs(p, 0, "unshare(CLONE_NEWUSER) for the caller's namespace");
    const unsigned long type = p.Pick(CLONE_NEWUSER, CLONE_NEWUTS);
    userns::ParkedChild holder;
    if (!holder.Start(0, [&] {
          userns::UnshareOrSkip(p, type, "unshare() of the namespace to join");
          // P may lack capabilities in the user namespace the body was exec'ed in; a dumpable
          // holder lets P, with the same ids, open its /proc/PID/ns files all the same.
          NSC_SETUP(p, prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "PR_SET_DUMPABLE");
          return 0;
        })) {
      p.SetupFailed("a child parked in the namespace to join");
    }
    UniqueFd target = OpenNs(holder.pid(), p.Pick("user", "uts"));
    if (!target.valid()) p.SetupFailed("open /proc/<H>/ns/<type>");
    Barrier block;
    if (!block.ok()) p.SetupFailed("pipe");
    if (StartBlockedThread(CLONE_FILES, block.read_fd()) == -1) {
      p.SetupFailed("starting a second thread");
    }
    int64_t threads = -1;
    ReadStatusIds(0, "Threads", &threads, 1);
    p.Value("threads", threads);
    userns::CallUnderTest(p, "setns", setns(target.get(), static_cast<int>(type)), EINVAL);
    holder.Release();
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.setns_multithreaded_einval",
    .title = "A multithreaded process cannot join a user namespace: setns() fails with EINVAL",
    .source = {"setns(2)", "Details for specific namespace types"},
    .references = {"setns(2), ERRORS"},
    .observe = "a process with a second thread (raw clone, no CLONE_FS) and every capability in "
               "its user namespace calls setns() into a child user namespace: EINVAL",
    .control = "the same multithreaded process joins a child UTS namespace instead, which "
               "multithreaded callers may: setns succeeds (contradicts setns)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("threads", Eq(2)))},
    .expect = {ExpectCall("setns", FailsWith(EINVAL))},
    .body = SetnsMultithreadedEinval,
});

// Flow: 1. a parked child H enters a new user namespace U owned by the caller's euid; 2. the
// body clones C with CLONE_FS (no CLONE_VM) and waits for it, so C shares its filesystem
// attributes; C calls setns() into U; 3. record item 36: another CLONE_FS child calls
// unshare(CLONE_NEWUSER), which unshares the filesystem attributes implicitly.
void SetnsSharedFsEinval(const Probe& p) {
  userns::RequireSetnsReachesKernel(p);
  userns::ParkedChild holder;
  if (!ParkInNewUserNs(p, holder, CLONE_NEWUSER)) return;
  UniqueFd target = OpenNs(holder.pid(), "user");
  if (!target.valid()) p.SetupFailed("open /proc/<H>/ns/user");
  ChildProcess c = Spawn(p.Flags(CLONE_FS, CLONE_FS), [&] {
    userns::CallUnderTest(p, "setns", setns(target.get(), CLONE_NEWUSER), EINVAL);
    return 0;
  });
  if (!c.ok()) p.SetupFailed("clone(CLONE_FS)");
  c.Wait();
  ChildProcess u = Spawn(CLONE_FS, [&] {
    p.Call("fs_shared.unshare_newuser", unshare(CLONE_NEWUSER));
    return 0;
  });
  if (!u.ok()) p.SetupFailed("clone(CLONE_FS)");
  u.Wait();
  holder.Release();
}

NSC_CASE({
    .id = "user.setns_shared_fs_einval",
    .title = "A process sharing filesystem attributes (CLONE_FS) cannot join a user namespace",
    .source = {"setns(2)", "Details for specific namespace types"},
    .references = {"setns(2), ERRORS",
                   "catalogue record item 36: unshare(CLONE_NEWUSER) by a CLONE_FS sharer is "
                   "recorded (it unshares the attributes and succeeds)"},
    .observe = "a child created with clone(CLONE_FS) while its parent lives calls setns() into a "
               "user namespace it owns: EINVAL",
    .control = "the child is created without CLONE_FS: the same setns() succeeds (contradicts "
               "setns)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 9}},
    .expect = {ExpectCall("setns", FailsWith(EINVAL)), Record("fs_shared.unshare_newuser")},
    .body = SetnsSharedFsEinval,
});

// Flow: a child becomes root of a new, mapped user namespace U0 (every capability there), starts
// a second thread (CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, no CLONE_FS) that blocks on a pipe,
// records its Threads count, and calls unshare(CLONE_NEWUSER) (control: unshare(CLONE_NEWUTS)).
void UnshareMultithreadedEinval(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    userns::EnterMappedUserNs(p, 0, "unshare(CLONE_NEWUSER) for the caller's namespace");
    Barrier block;
    if (!block.ok()) p.SetupFailed("pipe");
    if (StartBlockedThread(CLONE_FILES, block.read_fd()) == -1) {
      p.SetupFailed("starting a second thread");
    }
    int64_t threads = -1;
    ReadStatusIds(0, "Threads", &threads, 1);
    p.Value("threads", threads);
    const int flags = static_cast<int>(p.Pick(CLONE_NEWUSER, CLONE_NEWUTS));
    userns::CallUnderTest(p, "unshare", unshare(flags), EINVAL);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.unshare_multithreaded_einval",
    .title = "unshare(CLONE_NEWUSER) implies CLONE_THREAD: a multithreaded caller gets EINVAL",
    .source = {"unshare(2)", "CLONE_NEWUSER"},
    .references = {"unshare(2), ERRORS"},
    .observe = "a process with a second thread (raw clone, no CLONE_FS) and every capability in "
               "its user namespace calls unshare(CLONE_NEWUSER): EINVAL",
    .control = "the same multithreaded process calls unshare(CLONE_NEWUTS), which implies no "
               "CLONE_THREAD: it succeeds (contradicts unshare)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("threads", Eq(2)))},
    .expect = {ExpectCall("unshare", FailsWith(EINVAL))},
    .body = UnshareMultithreadedEinval,
});

}  // namespace
}  // namespace nsc::cases
