// Namespace API: creating namespaces with clone(2)/unshare(2) — the capability needed, unshare's
// flag validation, the thread-related flags, and CLONE_THREAD after a PID-namespace change.
// Sources: namespaces(7), 'The namespaces API'; unshare(2); clone(2), ERRORS.
#include <sys/wait.h>

#include "api_util.h"

namespace nsc::cases {
namespace {

// Flow: 1. a child drops every capability (the control: keeps them); 2. it calls unshare() with
// each non-user CLONE_NEW* flag and clone(CLONE_NEWUTS); 3. it calls
// unshare(CLONE_NEWUSER | CLONE_NEWUTS).
void CreateRequiresCapSysAdmin(const Probe& p) {
  ChildProcess caller = Spawn(0, [&] {
    if (!p.control() && DropAllCapabilities() == -1) p.SetupFailed("capset");
    ChildProcess cloned = Spawn(CLONE_NEWUTS, [] { return 0; });
    p.Call("nocap.clone_uts", cloned.pid());
    cloned.Wait();
    p.Call("nocap.unshare_uts", unshare(CLONE_NEWUTS));
    p.Call("nocap.unshare_ipc", unshare(CLONE_NEWIPC));
    p.Call("nocap.unshare_net", unshare(CLONE_NEWNET));
    p.Call("nocap.unshare_mnt", unshare(CLONE_NEWNS));
    p.Call("nocap.unshare_cgroup", unshare(CLONE_NEWCGROUP));
    p.Call("nocap.unshare_pid", unshare(CLONE_NEWPID));
    p.Call("nocap.unshare_user_uts", unshare(CLONE_NEWUSER | CLONE_NEWUTS));
    return 0;
  });
  if (!caller.ok()) p.SetupFailed("fork");
  caller.Wait();
}

NSC_CASE({
    .id = "api.create_requires_cap_sys_admin",
    .title = "Creating a non-user namespace needs CAP_SYS_ADMIN; a user namespace needs nothing",
    .source = {"namespaces(7)", "The namespaces API"},
    .references = {"clone(2), ERRORS", "unshare(2), ERRORS"},
    .observe = "without capabilities, unshare() of a UTS, IPC, network, mount, cgroup or PID "
               "namespace and clone(CLONE_NEWUTS) fail with EPERM; "
               "unshare(CLONE_NEWUSER|CLONE_NEWUTS) succeeds",
    .control = "the caller keeps its capabilities: every creation succeeds",
    .needs = {.privilege = Privilege::kNocap,
              .namespaces = CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS |
                            CLONE_NEWCGROUP | CLONE_NEWPID | CLONE_NEWUSER,
              .min_kernel = {4, 6},
              .needs_userns = true},
    .expect = {ExpectCall("nocap.clone_uts", FailsWith(EPERM)),
               ExpectCall("nocap.unshare_uts", FailsWith(EPERM)),
               ExpectCall("nocap.unshare_ipc", FailsWith(EPERM)),
               ExpectCall("nocap.unshare_net", FailsWith(EPERM)),
               ExpectCall("nocap.unshare_mnt", FailsWith(EPERM)),
               ExpectCall("nocap.unshare_cgroup", FailsWith(EPERM)),
               ExpectCall("nocap.unshare_pid", FailsWith(EPERM)),
               ExpectCall("nocap.unshare_user_uts", Succeeds())},
    .body = CreateRequiresCapSysAdmin,
});

// Flow: 1. record every base namespace of the body; 2. unshare(0) (the control:
// unshare(CLONE_NEWUSER)); 3. record them again.
void UnshareZeroNoop(const Probe& p) {
  api::RecordBaseNsSet(p, "before");
  p.Call("unshare", unshare(p.Pick(0, CLONE_NEWUSER)));
  api::RecordBaseNsSet(p, "after");
}

NSC_CASE({
    .id = "api.unshare_zero_noop",
    .title = "unshare(0) succeeds and changes nothing",
    .source = {"unshare(2)", "DESCRIPTION"},
    .observe = "unshare(0) returns 0 and the ipc, mnt, net, pid, user and uts identities are "
               "unchanged",
    .control = "unshare(CLONE_NEWUSER) instead: the user namespace changes",
    .needs = {.privilege = Privilege::kNone,
              .namespaces = api::kBaseNsFlags,
              .min_kernel = {2, 6, 16}},
    .expect = {ExpectCall("unshare", Succeeds()), ExpectSameNs("after.ipc", "before.ipc"),
               ExpectSameNs("after.mnt", "before.mnt"), ExpectSameNs("after.net", "before.net"),
               ExpectSameNs("after.pid", "before.pid"), ExpectSameNs("after.user", "before.user"),
               ExpectSameNs("after.uts", "before.uts")},
    .body = UnshareZeroNoop,
});

// Flow: unshare(CLONE_PARENT) and unshare(CLONE_IO), passing the exact bit as an unsigned long
// (the control: CLONE_FS and CLONE_FILES, which unshare implements).
void UnshareInvalidFlagEinval(const Probe& p) {
  p.Call("unshare_clone_parent", syscall(SYS_unshare, p.Pick(0x00008000UL, 0x00000200UL)));
  p.Call("unshare_clone_io", syscall(SYS_unshare, p.Pick(0x80000000UL, 0x00000400UL)));
}

NSC_CASE({
    .id = "api.unshare_invalid_flag_einval",
    .title = "unshare() rejects flags it does not implement with EINVAL",
    .source = {"unshare(2)", "ERRORS"},
    .observe = "unshare(CLONE_PARENT) (0x8000) and unshare(CLONE_IO) (0x80000000) fail with EINVAL",
    .control = "unshare(CLONE_FS) and unshare(CLONE_FILES), which are valid, succeed",
    .needs = {.privilege = Privilege::kNone, .min_kernel = {2, 6, 16}},
    .expect = {ExpectCall("unshare_clone_parent", FailsWith(EINVAL)),
               ExpectCall("unshare_clone_io", FailsWith(EINVAL))},
    .body = UnshareInvalidFlagEinval,
});

// Flow: 1. a single-threaded child calls unshare(CLONE_VM), unshare(CLONE_SIGHAND) and
// unshare(CLONE_THREAD); 2. another child starts a raw-clone thread (the control: none) and
// calls the same three, plus unshare(CLONE_NEWUSER) (recorded); 3. record list item 36: a
// child sharing the body's fs_struct (CLONE_FS, no thread) calls setns() into a user namespace
// held by a sibling, then unshare(CLONE_NEWUSER); both recorded.
void UnshareThreadVmSighand(const Probe& p) {
  ChildProcess single = Spawn(0, [&] {
    p.Call("single.unshare_vm", unshare(CLONE_VM));
    p.Call("single.unshare_sighand", unshare(CLONE_SIGHAND));
    p.Call("single.unshare_thread", unshare(CLONE_THREAD));
    return 0;
  });
  if (!single.ok()) p.SetupFailed("fork");
  single.Wait();

  ChildProcess multi = Spawn(0, [&] {
    Barrier park;
    if (!park.ok()) p.SetupFailed("pipe2");
    if (!p.control() && StartBlockedThread(CLONE_FS | CLONE_FILES, park.read_fd()) == -1) {
      p.SetupFailed("clone of the helper thread");
    }
    p.Call("multi.unshare_vm", unshare(CLONE_VM));
    p.Call("multi.unshare_sighand", unshare(CLONE_SIGHAND));
    p.Call("multi.unshare_thread", unshare(CLONE_THREAD));
    p.Call("multi.unshare_user", unshare(CLONE_NEWUSER));
    park.Signal();
    return 0;
  });
  if (!multi.ok()) p.SetupFailed("fork");
  multi.Wait();

  // Record list item 36: a CLONE_FS-sharing (not multithreaded) caller.
  Barrier held, release;
  if (!held.ok() || !release.ok()) p.SetupFailed("pipe2");
  ChildProcess holder = Spawn(0, [&] {
    held.CloseReadEnd();
    release.CloseWriteEnd();
    const int r = unshare(CLONE_NEWUSER);
    held.Send(r == 0 ? 0 : errno);
    release.Wait();
    return 0;
  });
  held.CloseWriteEnd();
  release.CloseReadEnd();
  if (!holder.ok()) p.SetupFailed("fork of the user namespace holder");
  int64_t holder_err = -1;
  if (!held.Receive(&holder_err)) p.SetupFailed("the user namespace holder died");
  p.Value("fs_sharer.target_unshare_errno", holder_err);
  UniqueFd target = OpenNs(holder.pid(), "user");
  ChildProcess sharer = Spawn(CLONE_FS, [&] {
    p.Call("fs_sharer.setns_user", setns(target.get(), CLONE_NEWUSER));
    p.Call("fs_sharer.unshare_user", unshare(CLONE_NEWUSER));
    return 0;
  });
  if (!sharer.ok()) p.SetupFailed("clone(CLONE_FS)");
  sharer.Wait();
  release.Signal();
  holder.Wait();
}

NSC_CASE({
    .id = "api.unshare_thread_vm_sighand_singlethreaded",
    .title = "unshare(CLONE_THREAD/SIGHAND/VM) is a no-op single-threaded and EINVAL multithreaded",
    .source = {"unshare(2)", "DESCRIPTION"},
    .references = {"unshare(2), ERRORS"},
    .observe = "a single-threaded caller's unshare(CLONE_VM), unshare(CLONE_SIGHAND) and "
               "unshare(CLONE_THREAD) return 0; with a second thread (raw clone with CLONE_VM|"
               "CLONE_THREAD|CLONE_SIGHAND|CLONE_FS|CLONE_FILES) all three fail with EINVAL. "
               "Recorded: the multithreaded caller's unshare(CLONE_NEWUSER), and (record list "
               "item 36) a CLONE_FS-sharing process's setns() into a user namespace and "
               "unshare(CLONE_NEWUSER)",
    .control = "no second thread is started: the caller stays single-threaded and the three "
               "calls succeed",
    .needs = {.privilege = Privilege::kNone, .min_kernel = {2, 6, 16}},
    .expect = {ExpectCall("single.unshare_vm", Succeeds()),
               ExpectCall("single.unshare_sighand", Succeeds()),
               ExpectCall("single.unshare_thread", Succeeds()),
               ExpectCall("multi.unshare_vm", FailsWith(EINVAL)),
               ExpectCall("multi.unshare_sighand", FailsWith(EINVAL)),
               ExpectCall("multi.unshare_thread", FailsWith(EINVAL)), Record("multi.unshare_user"),
               Record("fs_sharer.target_unshare_errno"), Record("fs_sharer.setns_user"),
               Record("fs_sharer.unshare_user")},
    .body = UnshareThreadVmSighand,
});

int ExitAtOnce(void*) { return 0; }

// clone(2) through the glibc wrapper on an mmap'ed stack, for flag sets with CLONE_VM; the child
// exits at once. Returns clone's result (errno kept) and reaps a process child.
long CloneOnStack(unsigned long flags) {
  constexpr size_t kStackSize = 64 * 1024;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  const int r =
      clone(ExitAtOnce, static_cast<char*>(stack) + kStackSize, static_cast<int>(flags), nullptr);
  const int err = errno;
  if (r > 0 && (flags & CLONE_THREAD) == 0) {
    int status;
    while (waitpid(r, &status, __WALL) == -1 && errno == EINTR) {
    }
  }
  // A thread may still run on the stack: leave it mapped (the process exits soon).
  errno = err;
  return r;
}

// Flow: 1. a child unshare(CLONE_NEWPID)s (the control: unshare(0)) and tries to start a thread
// with a raw clone(CLONE_VM|CLONE_THREAD|...); 2. a member child waits in a new PID namespace;
// another child setns()es into it (the control: into its own PID namespace) and tries to start
// a thread; 3. record list item 20: a child that has not changed PID namespace records
// clone(CLONE_NEWPID|CLONE_VM), clone(CLONE_NEWPID|CLONE_VM|CLONE_SIGHAND) and
// clone(CLONE_NEWPID|CLONE_VM|CLONE_SIGHAND|CLONE_THREAD).
void CloneThreadAfterPidnsChange(const Probe& p) {
  ChildProcess unsharer = Spawn(0, [&] {
    Barrier park;
    if (!park.ok()) p.SetupFailed("pipe2");
    p.Call("unshare.newpid", unshare(p.Flags(CLONE_NEWPID, CLONE_NEWPID)));
    p.Call("unshare.clone_thread", StartBlockedThread(CLONE_FS | CLONE_FILES, park.read_fd()));
    park.Signal();
    return 0;
  });
  if (!unsharer.ok()) p.SetupFailed("fork");
  unsharer.Wait();

  Barrier ready, release;
  if (!ready.ok() || !release.ok()) p.SetupFailed("pipe2");
  ChildProcess member = Spawn(CLONE_NEWPID, [&] {
    ready.CloseReadEnd();
    release.CloseWriteEnd();
    ready.Signal();
    release.Wait();
    return 0;
  });
  ready.CloseWriteEnd();
  release.CloseReadEnd();
  if (!member.ok()) p.SetupFailed("clone(CLONE_NEWPID) of the member");
  if (!ready.Wait()) p.SetupFailed("the member died before it was ready");
  UniqueFd target = OpenNs(p.control() ? 0 : member.pid(), "pid");
  if (!target.valid()) p.SetupFailed("open of the PID namespace link");
  ChildProcess joiner = Spawn(0, [&] {
    Barrier park;
    if (!park.ok()) p.SetupFailed("pipe2");
    p.Call("setns.newpid", setns(target.get(), CLONE_NEWPID));
    p.Call("setns.clone_thread", StartBlockedThread(CLONE_FS | CLONE_FILES, park.read_fd()));
    park.Signal();
    return 0;
  });
  if (!joiner.ok()) p.SetupFailed("fork");
  joiner.Wait();
  release.Signal();
  member.Wait();

  // Record list item 20: historical CLONE_NEWPID flag restrictions.
  ChildProcess history = Spawn(0, [&] {
    p.Call("history.newpid_vm", CloneOnStack(CLONE_NEWPID | CLONE_VM | SIGCHLD));
    p.Call("history.newpid_vm_sighand",
           CloneOnStack(CLONE_NEWPID | CLONE_VM | CLONE_SIGHAND | SIGCHLD));
    p.Call("history.newpid_thread",
           CloneOnStack(CLONE_NEWPID | CLONE_VM | CLONE_SIGHAND | CLONE_THREAD));
    return 0;
  });
  if (!history.ok()) p.SetupFailed("fork");
  history.Wait();
}

NSC_CASE({
    .id = "api.clone_thread_after_pidns_change_einval",
    .title =
        "After unshare(CLONE_NEWPID) or setns() into a PID namespace, CLONE_THREAD gives EINVAL",
    .source = {"clone(2)", "ERRORS"},
    .references = {"pid_namespaces(7)"},
    .observe = "after unshare(CLONE_NEWPID), a raw clone(CLONE_VM|CLONE_THREAD|CLONE_SIGHAND|"
               "CLONE_FS|CLONE_FILES), which is how a threads library starts a thread, fails "
               "with EINVAL; likewise after setns() into a child PID namespace. Recorded (record "
               "list item 20): "
               "CLONE_NEWPID combined with CLONE_VM, CLONE_VM|CLONE_SIGHAND, and "
               "CLONE_VM|CLONE_SIGHAND|CLONE_THREAD",
    .control = "unshare(0) instead of unshare(CLONE_NEWPID), and setns() into the caller's own "
               "PID namespace: pid_for_children stays the active namespace and the thread starts",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .expect = {ExpectCall("unshare.newpid", Succeeds()),
               ExpectCall("unshare.clone_thread", FailsWith(EINVAL)),
               ExpectCall("setns.newpid", Succeeds()),
               ExpectCall("setns.clone_thread", FailsWith(EINVAL)), Record("history.newpid_vm"),
               Record("history.newpid_vm_sighand"), Record("history.newpid_thread")},
    .body = CloneThreadAfterPidnsChange,
});

}  // namespace
}  // namespace nsc::cases
