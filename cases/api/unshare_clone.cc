// Namespace API: creating namespaces with clone(2)/unshare(2) — the capability needed, unshare's
// flag validation, the thread-related flags, and CLONE_THREAD after a PID-namespace change.
// Sources: namespaces(7), 'The namespaces API'; unshare(2); clone(2), ERRORS.
#include <linux/capability.h>
#include <sys/wait.h>

#include "api_util.h"
#include "ns_entries_expectations.h"

namespace nsc::cases {
namespace {

// The non-user flags whose creation needs CAP_SYS_ADMIN, in the order the body tries them.
constexpr unsigned long kCapGatedFlags[] = {CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET,
                                            CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWPID};

// The positive arm: a child that keeps its capabilities creates every namespace type the rule
// covers (clone(CLONE_NEWUTS) and one unshare per flag). Returns only if all of them succeeded;
// otherwise the case SKIPs (a filter, a sysctl) or ERRORs here, before any verdict.
void ProveCreationWorksWithCaps(const Probe& p) {
  ChildProcess with_caps = Spawn(0, [&] {
    ChildProcess cloned = Spawn(CLONE_NEWUTS, [] { return 0; });
    if (!cloned.ok()) return errno;
    cloned.Wait();
    for (unsigned long flag : kCapGatedFlags) {
      if (unshare(flag) == -1) return errno;
    }
    return 0;
  });
  if (!with_caps.ok()) p.SetupFailed("fork of the positive arm");
  const int status = with_caps.Wait();
  if (status == -1 || !WIFEXITED(status)) p.SetupFailed("the positive arm did not exit normally");
  if (WEXITSTATUS(status) != 0) {
    SetupStepRefused(p, "positive arm: creating the namespaces WITH the capabilities",
                     WEXITSTATUS(status));
  }
}

// Flow: 1. positive arm: a child with every capability creates each namespace type (must work,
// or the case SKIPs/ERRORs); 2. a child drops every capability and checks that CAP_SYS_ADMIN
// is gone (the control, the one factor removed: keeps them); 3. it calls unshare() with each
// non-user CLONE_NEW* flag and clone(CLONE_NEWUTS); 4. it calls
// unshare(CLONE_NEWUSER | CLONE_NEWUTS).
void CreateRequiresCapSysAdmin(const Probe& p) {
  ProveCreationWorksWithCaps(p);
  ChildProcess caller = Spawn(0, [&] {
    if (!p.control()) {
      if (DropAllCapabilities() == -1) p.SetupFailed("capset");
      if (HasEffectiveCapability(CAP_SYS_ADMIN) != 0) p.SetupFailed("CAP_SYS_ADMIN still effective");
    }
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
    .control = "the caller keeps its capabilities: every creation succeeds (contradicts every "
               "nocap.* key but nocap.unshare_user_uts)",
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

// Every entry of /proc/self/ns: the ten of Linux 5.6 and later.
constexpr const char* kAllNsEntries[] = {"cgroup", "ipc",  "mnt",  "net",  "pid",
                                         "pid_for_children", "time", "time_for_children",
                                         "user", "uts"};

// Records "<prefix>.<entry>" = identity of /proc/self/ns/<entry> for every entry.
void RecordAllNsEntries(const Probe& p, const char* prefix) {
  for (const char* entry : kAllNsEntries) {
    PathBuf key(prefix);
    key.Add(".").Add(entry);
    PathBuf path("/proc/self/ns/");
    path.Add(entry);
    p.NsId(key.c_str(), path.c_str());
  }
}


// Flow: 1. record every /proc/self/ns entry of the body (the *_for_children ones included);
// 2. unshare(0) (the control: unshare(CLONE_NEWUSER)); 3. record them again.
void UnshareZeroNoop(const Probe& p) {
  RecordAllNsEntries(p, "before");
  p.Call("unshare", unshare(p.Pick(0, CLONE_NEWUSER)));
  RecordAllNsEntries(p, "after");
}

NSC_CASE({
    .id = "api.unshare_zero_noop",
    .title = "unshare(0) succeeds and changes nothing",
    .source = {"unshare(2)", "DESCRIPTION"},
    .observe = "unshare(0) returns 0 and the identity of every /proc/self/ns entry (cgroup, ipc, "
               "mnt, net, pid, pid_for_children, time, time_for_children, user, uts) is unchanged",
    .control = "unshare(CLONE_NEWUSER) instead: the user namespace changes (contradicts "
               "after.user)",
    .needs = {.privilege = Privilege::kNone,
              .namespaces = api::kBaseNsFlags | CLONE_NEWCGROUP | CLONE_NEWTIME,
              .min_kernel = {2, 6, 16}},
    .expect = UnshareSucceedsAndAllNsEntriesUnchanged(kAllNsEntries),
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
    .control = "unshare(CLONE_FS) and unshare(CLONE_FILES), which are valid, succeed (contradicts "
               "both keys)",
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
               "calls succeed (contradicts multi.unshare_vm, multi.unshare_sighand and "
               "multi.unshare_thread)",
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
    SetupCall(p, "unshare.newpid", unshare(p.Flags(CLONE_NEWPID, CLONE_NEWPID)));
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
  if (!member.ok()) SetupStepRefused(p, "clone(CLONE_NEWPID) of the member", errno);
  if (!ready.Wait()) p.SetupFailed("the member died before it was ready");
  UniqueFd target = OpenNs(p.control() ? 0 : member.pid(), "pid");
  if (!target.valid()) p.SetupFailed("open of the PID namespace link");
  ChildProcess joiner = Spawn(0, [&] {
    Barrier park;
    if (!park.ok()) p.SetupFailed("pipe2");
    SetupCall(p, "setns.newpid", setns(target.get(), CLONE_NEWPID));
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
               "PID namespace: pid_for_children stays the active namespace and the thread starts "
               "(contradicts unshare.clone_thread and setns.clone_thread)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("unshare.newpid", Succeeds())),
                      Given(ExpectCall("setns.newpid", Succeeds()))},
    .expect = {ExpectCall("unshare.clone_thread", FailsWith(EINVAL)),
               ExpectCall("setns.clone_thread", FailsWith(EINVAL)), Record("history.newpid_vm"),
               Record("history.newpid_vm_sighand"), Record("history.newpid_thread")},
    .body = CloneThreadAfterPidnsChange,
});

}  // namespace
}  // namespace nsc::cases
