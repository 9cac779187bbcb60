// Time namespaces: creating one. unshare(CLONE_NEWTIME) does not move the caller, only its
// future children; creating needs CAP_SYS_ADMIN.
// Source: time_namespaces(7), DESCRIPTION; unshare(2), CLONE_NEWTIME.
//
// Also records two points of the catalogue's "record, don't assert" list: item 5 (clone3()
// with CLONE_NEWTIME, although the page says only unshare creates time namespaces) and item 6
// (CLONE_VM / CLONE_THREAD children while time_for_children differs from time, which older
// kernels refused with EINVAL).
#include <linux/capability.h>
#include <sys/wait.h>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases {
namespace {

// Stack for the short-lived CLONE_VM children of item 6. The body is a private copy after
// fork, so a static buffer is owned by this process alone.
alignas(16) char g_clone_vm_stack[64 * 1024];
char* CloneVmStackTop() { return g_clone_vm_stack + sizeof g_clone_vm_stack; }

int ExitAtOnce(void*) { _exit(0); }
int ExitThreadAtOnce(void*) {
  syscall(SYS_exit, 0);  // ends this thread only
  return 0;
}

// clone(CLONE_VM | CLONE_VFORK): a vfork()-style child that exits at once. Returns the
// child's PID (after it exited) or -1 with errno.
long TryVforkChild() {
  int pid = clone(ExitAtOnce, CloneVmStackTop(), CLONE_VM | CLONE_VFORK | SIGCHLD, nullptr);
  if (pid > 0) {
    int status;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
  }
  return pid;
}

// clone(CLONE_THREAD | CLONE_VM | ...): a thread that exits at once. Returns its TID or -1.
long TryThread() {
  return clone(ExitThreadAtOnce, CloneVmStackTop(),
               CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM,
               nullptr);
}

// clone3() with CLONE_NEWTIME; the child exits at once. Returns the child's PID or -1/errno.
long TryClone3NewTime() {
  struct clone_args args{};
  args.flags = CLONE_NEWTIME;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) _exit(0);
  if (pid > 0) {
    int status;
    while (waitpid(static_cast<pid_t>(pid), &status, 0) == -1 && errno == EINTR) {
    }
  }
  return pid;
}

// Flow: 1. a child records its ns/time; 2. unshares CLONE_NEWTIME (control: unshare(0); a
// refusal is SKIP/ERROR);
// 3. records ns/time and ns/time_for_children again; 4. forks a grandchild that records its
// ns/time; 5. (record only) tries a vfork()-style child and a thread, then clone3() with
// CLONE_NEWTIME from the body.
void UnshareMovesChildrenOnly(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    p.NsId("before.time", "/proc/self/ns/time");
    // The unshare only sets the stage: a refusal is SKIP/ERROR, never FAIL.
    SetupUnshare(p, p.Flags(CLONE_NEWTIME, CLONE_NEWTIME), "unshare(CLONE_NEWTIME)");
    p.NsId("after.time", "/proc/self/ns/time");
    p.NsId("after.time_for_children", "/proc/self/ns/time_for_children");
    ChildProcess grandchild = Spawn(0, [&] {
      p.NsId("grandchild.time", "/proc/self/ns/time");
      return 0;
    });
    NSC_SETUP(p, grandchild.pid(), "fork of the grandchild");
    grandchild.Wait();
    p.Call("record.vfork_after_unshare", TryVforkChild());
    p.Call("record.thread_after_unshare", TryThread());
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
  p.Call("record.clone3_newtime", TryClone3NewTime());
}

NSC_CASE({
    .id = "time.unshare_moves_children_only",
    .title = "unshare(CLONE_NEWTIME) leaves the caller in place; its later children join the new namespace",
    .source = {"time_namespaces(7)", "DESCRIPTION"},
    .references = {"unshare(2), CLONE_NEWTIME",
                   "rules.md record items 5 (clone3 CLONE_NEWTIME) and 6 (CLONE_VM/CLONE_THREAD "
                   "after unshare)"},
    .observe = "after unshare(CLONE_NEWTIME), the caller's ns/time is unchanged and differs from "
               "its ns/time_for_children; a child forked afterwards has ns/time equal to the "
               "parent's time_for_children",
    .control = "unshare(0): no new time namespace, time_for_children stays equal to time "
               "(contradicts after.time_for_children)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    .expect = {ExpectSameNs("after.time", "before.time"),
               ExpectDifferentNs("after.time_for_children", "after.time"),
               ExpectSameNs("grandchild.time", "after.time_for_children"),
               Record("record.vfork_after_unshare"), Record("record.thread_after_unshare"),
               Record("record.clone3_newtime")},
    .body = UnshareMovesChildrenOnly,
});

NSC_CASE({
    .id = "time.requires_cap_sys_admin",
    .title = "Creating a time namespace without CAP_SYS_ADMIN fails with EPERM",
    .source = {"unshare(2)", "CLONE_NEWTIME"},
    .references = {"unshare(2), ERRORS (EPERM)"},
    .observe = "a process without CAP_SYS_ADMIN (dropped with capset) calls "
               "unshare(CLONE_NEWTIME): EPERM",
    .control = kUnshareWithoutCapSysAdminControl,
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}, .needs_userns = true},
    .preconditions = UnshareWithoutCapSysAdminPreconditions(),
    .expect = UnshareWithoutCapSysAdminExpectations(),
    .body = UnshareWithoutCapSysAdmin<CLONE_NEWTIME>,
});

}  // namespace
}  // namespace nsc::cases
