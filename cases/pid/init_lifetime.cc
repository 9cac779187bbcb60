// PID namespaces: the life and death of a namespace — the init's exit kills every member, a
// namespace whose init is gone accepts no new process (ENOMEM), and an open
// /proc/PID/ns/pid fd keeps the namespace itself in existence.
// Sources: pid_namespaces(7), 'The namespace "init" process'; namespaces(7), 'The /proc/pid/ns/
// directory' and 'Namespace lifetime'.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <linux/membarrier.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsconform/case.h"
#include "creation.h"
#include "nsfs_handle.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

// Reaps every remaining child of the caller (for a body that made itself a subreaper).
void ReapAllChildren() {
  int status;
  while (waitpid(-1, &status, __WALL) > 0 || errno == EINTR) {
  }
}

// 1 if the read end `fd` of a pipe reports end-of-file right now (every writer is gone),
// 0 if a writer is still open (poll with a zero timeout: no waiting), -1 on error.
int64_t PipeAtEof(int fd) {
  struct pollfd pfd = {fd, POLLIN, 0};
  int r;
  do {
    r = poll(&pfd, 1, 0);
  } while (r == -1 && errno == EINTR);
  if (r == -1) return -1;
  return (pfd.revents & POLLHUP) != 0 ? 1 : 0;
}

// Flow:
//  1. In the control only, the parent makes itself a subreaper (so that the orphaned member
//     comes back to it; in the rule nothing is orphaned outside the namespace). It creates two pipes: `member_alive` (only the member keeps its write end)
//     and `hold` (the member blocks reading it; the parent keeps its write end).
//  2. clone(CLONE_NEWPID): the init forks the member, closes its copy of `member_alive`'s
//     write end and exits at once (without killing the member).
//  3. The parent reaps the init. The kernel reports the init's death to its parent only after
//     every other member of the namespace is gone, so `member_alive` must now be at EOF: the
//     parent checks it with a zero-timeout poll (no waiting).
//  4. The parent closes `hold` (a member that survived would now exit) and reaps all children.
void InitExitKillsNamespace(const Probe& p) {
  if (p.control()) NSC_SETUP(p, prctl(PR_SET_CHILD_SUBREAPER, 1), "control: PR_SET_CHILD_SUBREAPER");
  Barrier member_alive, hold;
  if (!member_alive.ok() || !hold.ok()) p.SetupFailed("pipes");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    member_alive.CloseReadEnd();
    ChildProcess member = Spawn(0, [&] {
      hold.CloseWriteEnd();
      hold.Wait();  // returns at EOF, i.e. only if it outlives everything else
      return 0;
    });
    RequireCreated(p, member, "fork of the namespace member");
    p.Value("init.member_pid", member.pid());
    (void)member.Release();  // the init must not kill the member itself: it just exits
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  member_alive.CloseWriteEnd();
  hold.CloseReadEnd();
  const int status = init.Wait();
  p.Value("init.exited_0", ExitedWith(status, 0) ? 1 : 0);
  p.Value("member.pipe_at_eof_after_init_reaped", PipeAtEof(member_alive.read_fd()));
  hold.CloseWriteEnd();
  if (p.control()) ReapAllChildren();
}

NSC_CASE({
    .id = "pid.init_exit_kills_namespace",
    .title = "When a namespace's init terminates, every other process in it is killed",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "The init forks a member holding the only write end of a pipe, then exits; once "
               "the parent has reaped the init, the parent's read end of that pipe is at EOF "
               "(the member is gone), checked with a zero-timeout poll",
    .control = "clone without CLONE_NEWPID: the 'init' is an ordinary process whose exit leaves "
               "the member alive, so the pipe is not at EOF, contradicting "
               "member.pipe_at_eof_after_init_reaped",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .preconditions = {Given(Expect("init.exited_0", Eq(1)))},
    .expect = {Expect("member.pipe_at_eof_after_init_reaped", Eq(1)), Record("init.member_pid")},
    .body = InitExitKillsNamespace,
});

// Flow:
//  1. unshare(CLONE_NEWPID) in the body: its next child becomes the init of the new namespace.
//  2. The first child records getpid() (1). In the rule it exits at once and the body reaps it;
//     in the control it stays alive, blocked on a pipe.
//  3. The body forks again and records the result: ENOMEM when the init is dead.
//  4. Clean-up: a second child that was created exits at once; the first child is released.
void ForkAfterInitExitEnomem(const Probe& p) {
  Barrier hold;
  if (!hold.ok()) p.SetupFailed("pipe");
  p.Call("unshare", unshare(CLONE_NEWPID));
  ChildProcess first = Spawn(0, [&] {
    hold.CloseWriteEnd();
    p.Value("first_child.getpid", RawGetpid());
    if (p.control()) hold.Wait();  // the init stays alive until the body closes the pipe
    return 0;
  });
  RequireCreated(p, first, "fork of the first child (the namespace init)");
  hold.CloseReadEnd();
  if (!p.control()) first.Wait();
  ChildProcess second = Spawn(0, [] { return 0; });
  p.Call("second_fork", second.pid());
  second.Wait();
  hold.CloseWriteEnd();
  first.Wait();
}

NSC_CASE({
    .id = "pid.fork_after_init_exit_enomem",
    .title = "After the init of a PID namespace has died, fork() into it fails with ENOMEM",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "unshare(CLONE_NEWPID); the first child (PID 1) exits and is reaped; the next "
               "fork() returns -1 with ENOMEM",
    .control = "the first child (the init) stays alive while the body forks again: the fork "
               "succeeds, contradicting second_fork, so ENOMEM is due to the init's death",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("unshare", Succeeds()), ReasonCode::kPreconditionUnmet),
                      Given(Expect("first_child.getpid", Eq(1)))},
    .expect = {ExpectCall("second_fork", FailsWith(ENOMEM))},
    .body = ForkAfterInitExitEnomem,
});

// Spawns a namespace init that blocks on `hold` until the parent closes its write end.
ChildProcess SpawnBlockedInit(Barrier& hold) {
  return Spawn(CLONE_NEWPID, [&] {
    hold.CloseWriteEnd();
    hold.Wait();
    return 0;
  });
}

// Flow:
//  1. clone(CLONE_NEWPID) an init that blocks on a pipe; the parent opens /proc/<init>/ns/pid.
//  2. Rule: the parent SIGKILLs and reaps the init. Control: the init stays alive.
//  3. A helper (an ordinary child of the parent) calls setns(fd, CLONE_NEWPID), then forks and
//     records both results.
//  4. Clean-up: the helper's child (control) exits at once; the init is released.
void SetnsIntoDeadNsForkEnomem(const Probe& p) {
  Barrier hold;
  if (!hold.ok()) p.SetupFailed("pipe");
  ChildProcess init = SpawnBlockedInit(hold);
  RequireCreated(p, init, "clone of the namespace init");
  hold.CloseReadEnd();
  const PathBuf path = ProcPath(init.pid(), "ns/pid");
  UniqueFd ns = OpenFile(path.c_str(), O_RDONLY);
  if (!ns.valid()) p.SetupFailed("open /proc/<init>/ns/pid");
  RequireSetnsNotFiltered(p, ns.get());
  if (!p.control()) {
    init.KillAndReap();
    if (init.ok()) p.SetupFailed("SIGKILL and reap the namespace init");
  }
  p.Value("init.reaped", init.ok() ? 0 : 1);
  ChildProcess helper = Spawn(0, [&] {
    p.Call("helper.setns", setns(ns.get(), CLONE_NEWPID));
    ChildProcess child = Spawn(0, [] { return 0; });
    p.Call("helper.fork", child.pid());
    child.Wait();
    return 0;
  });
  RequireCreated(p, helper, "fork of the helper");
  helper.Wait();
  hold.CloseWriteEnd();
  init.Wait();
}

NSC_CASE({
    .id = "pid.setns_into_dead_ns_fork_enomem",
    .title = "A PID namespace whose init is gone can be joined with setns(), but fork() then "
             "fails with ENOMEM",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .references = {"setns(2), CLONE_NEWPID"},
    .observe = "Open /proc/<init>/ns/pid, kill and reap the init; setns(fd, CLONE_NEWPID) "
               "returns 0 and the next fork() returns -1 with ENOMEM",
    .control = "the init is left alive (the one factor removed: its death): setns() and the "
               "fork both succeed, contradicting helper.fork, so ENOMEM is due to the init's "
               "death",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .expect = {ExpectCall("helper.setns", Succeeds()),
               ExpectCall("helper.fork", FailsWith(ENOMEM)), Record("init.reaped")},
    .body = SetnsIntoDeadNsForkEnomem,
});

// Whether a namespace that nothing holds any more is gone is seen only after a delay: a reaped
// process drops its references from RCU callbacks (kernel/pid.c: free_pid() ->
// call_rcu(delayed_put_pid), and the task itself through put_task_struct_rcu_user()). So the
// handle is decoded once per RCU grace period, for at most kGracePeriods of them, until it
// stops decoding (membarrier(MEMBARRIER_CMD_GLOBAL) waits for one grace period:
// kernel/sched/membarrier.c, synchronize_rcu()). A held namespace decodes through all of them;
// one that nothing holds stops decoding after a few (at most 86 on the development host, 6.18,
// 2 CPUs, about 0.1 s). The same loop runs in rule and control; a held namespace costs the
// whole loop (about 0.7 s there).
constexpr int kGracePeriods = 512;

// Decodes `handle` until it fails or kGracePeriods grace periods have passed; returns the last
// decode's result (an fd owned by the caller, or -1 with errno) and stores the rounds taken.
int DecodeAcrossGracePeriods(const Probe& p, NsHandleBuffer& handle, int64_t* rounds) {
  for (int i = 0;; ++i) {
    const int fd = DecodeNsHandle(handle);
    *rounds = i;
    if (fd == -1 || i == kGracePeriods) return fd;
    close(fd);
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == -1) {
      p.SetupFailed("membarrier(MEMBARRIER_CMD_GLOBAL) to wait for an RCU grace period");
    }
  }
}

// What keeps the namespace of one phase of pid.fd_pins_namespace in existence.
enum class Holder { kFd, kBindMount };

constexpr const char* kBindTarget = "/tmp/nsc-pidns";

// One phase of pid.fd_pins_namespace, its keys prefixed with `prefix` ("fd." or "bind."):
//  1. clone(CLONE_NEWPID) an init that blocks on a pipe; open /proc/<init>/ns/pid, fstat it
//     and encode an nsfs file handle of it; decoding the handle now (the init alive) must work
//     here (precondition: open_by_handle_at may be filtered).
//  2. The holder: keep the fd open, or bind-mount it on kBindTarget and close it. The control
//     keeps no holder at all.
//  3. SIGKILL and reap the init, the namespace's only process.
//  4. Decode the handle: the fd names the same (st_dev, st_ino) as in step 1, and a helper can
//     setns() into it.
//  5. Release the holder (close, or umount) and every decoded fd: the handle no longer decodes
//     (ESTALE), the namespace is gone.
void PinOneNamespace(const Probe& p, Holder holder, const char* prefix) {
  auto key = [&](const char* name) { return PathBuf(prefix).Add(name); };
  Barrier hold;
  if (!hold.ok()) p.SetupFailed("pipe");
  ChildProcess init = SpawnBlockedInit(hold);
  RequireCreated(p, init, "clone of the namespace init");
  hold.CloseReadEnd();
  UniqueFd ns = OpenNs(init.pid(), "pid");
  if (!ns.valid()) p.SetupFailed("open /proc/<init>/ns/pid");
  RequireSetnsNotFiltered(p, ns.get());
  struct stat live {};
  NSC_SETUP(p, fstat(ns.get(), &live), "fstat of the live namespace's fd");
  NsHandleBuffer handle;
  p.Call(key("encode").c_str(), EncodeNsHandle(ns.get(), handle));
  {
    UniqueFd while_alive(DecodeNsHandle(handle));
    p.Call(key("live_decode").c_str(), while_alive.get());
  }

  const bool held = !p.control();
  if (held && holder == Holder::kBindMount) {
    const PathBuf source = ProcPath(0, "fd/").Add(ns.get());
    NSC_SETUP(p, mount(source.c_str(), kBindTarget, nullptr, MS_BIND, nullptr),
              "bind-mount the namespace file on the scratch tmpfs");
  }
  if (!held || holder == Holder::kBindMount) ns.Reset();

  init.KillAndReap();
  if (init.ok()) p.SetupFailed("SIGKILL and reap the namespace init");
  int64_t rounds = 0;
  UniqueFd decoded(DecodeAcrossGracePeriods(p, handle, &rounds));
  p.Call(key("decode").c_str(), decoded.get());
  struct stat now {};
  const bool same = decoded.valid() && fstat(decoded.get(), &now) == 0 &&
                    now.st_dev == live.st_dev && now.st_ino == live.st_ino;
  p.Value(key("same_ns").c_str(), same ? 1 : 0);
  p.Value(key("grace_periods_decoded").c_str(), rounds);
  ChildProcess helper = Spawn(0, [&] {
    p.Call(key("setns").c_str(), setns(decoded.get(), CLONE_NEWPID));
    return 0;
  });
  RequireCreated(p, helper, "fork of the helper");
  helper.Wait();

  decoded.Reset();
  ns.Reset();
  if (held && holder == Holder::kBindMount) {
    NSC_SETUP(p, umount2(kBindTarget, 0), "umount the namespace file's bind mount");
  }
  UniqueFd after(DecodeAcrossGracePeriods(p, handle, &rounds));
  p.Call(key("released_decode").c_str(), after.get());
  p.Value(key("grace_periods_to_release").c_str(), rounds);
}

// Flow: a private mount namespace with a scratch tmpfs on /tmp (for the bind mount), then the
// two phases of PinOneNamespace: an fd holder, then a bind-mount holder.
void FdPinsNamespace(const Probe& p) {
  NSC_SETUP(p, EnterPrivateMountNamespace(), "private mount namespace");
  if (mount("nsc-scratch", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") == -1) {
    if (errno == ENOENT) p.Skip(ReasonCode::kPreconditionUnmet, "no /tmp to mount a scratch tmpfs on");
    p.SetupFailed("mount a scratch tmpfs on /tmp in the private mount namespace");
  }
  UniqueFd target = OpenFile(kBindTarget, O_WRONLY | O_CREAT | O_EXCL);
  if (!target.valid()) p.SetupFailed("create the bind-mount target file");
  target.Reset();
  PinOneNamespace(p, Holder::kFd, "fd.");
  PinOneNamespace(p, Holder::kBindMount, "bind.");
}

NSC_CASE({
    .id = "pid.fd_pins_namespace",
    .title = "An open /proc/PID/ns/pid fd, or a bind mount of it, keeps a PID namespace in "
             "existence after its last member has exited",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .references = {"namespaces(7), Namespace lifetime",
                   "open_by_handle_at(2) with FD_NSFS_ROOT (nsfs file handles, Linux 6.18)"},
    .observe = "An nsfs file handle is taken of /proc/<init>/ns/pid while the init (the only "
               "member) lives; the namespace is held by an open fd (first) or by a bind mount of "
               "it on a file of a scratch tmpfs in a private mount namespace (second); the init "
               "is killed and reaped. The handle still decodes, to the same (st_dev, st_ino), "
               "and setns(CLONE_NEWPID) into it returns 0; the result of decoding once the fd is closed or the bind "
               "mount removed (ESTALE, when the kernel has freed the namespace by then) is recorded",
    .control = "none (see no_control_because)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID | CLONE_NEWNS,
              .min_kernel = {6, 18}},
    .no_control_because =
        "an unheld PID namespace is freed some time after its last reference goes (deferred "
        "through RCU and a work queue): measured here from 0 to more than 512 grace periods, "
        "with no event to wait for, so neither a control without a holder nor the 'ESTALE once "
        "released' half can be judged without a timing guess; both are recorded",
    .preconditions = {Given(ExpectCall("fd.encode", Succeeds()), ReasonCode::kPreconditionUnmet),
                      Given(ExpectCall("fd.live_decode", Succeeds()),
                            ReasonCode::kPreconditionUnmet),
                      Given(ExpectCall("bind.encode", Succeeds()), ReasonCode::kPreconditionUnmet),
                      Given(ExpectCall("bind.live_decode", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("fd.decode", Succeeds()), Expect("fd.same_ns", Eq(1)),
               ExpectCall("fd.setns", Succeeds()),
               Record("fd.released_decode"),
               ExpectCall("bind.decode", Succeeds()), Expect("bind.same_ns", Eq(1)),
               ExpectCall("bind.setns", Succeeds()),
               Record("bind.released_decode"),
               Record("fd.grace_periods_decoded"), Record("fd.grace_periods_to_release"),
               Record("bind.grace_periods_decoded"), Record("bind.grace_periods_to_release")},
    .body = FdPinsNamespace,
});

}  // namespace
}  // namespace nsc::cases
