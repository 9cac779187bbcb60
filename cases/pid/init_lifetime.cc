// PID namespaces: the life and death of a namespace — the init's exit kills every member, a
// namespace whose init is gone accepts no new process (ENOMEM), and an open
// /proc/PID/ns/pid fd keeps the namespace itself in existence.
// Sources: pid_namespaces(7), 'The namespace "init" process'; namespaces(7), 'The /proc/pid/ns/
// directory' and 'Namespace lifetime'.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsconform/case.h"

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
//  1. The parent makes itself a subreaper (so that, in the control, the orphaned member comes
//     back to it) and creates two pipes: `member_alive` (only the member keeps its write end)
//     and `hold` (the member blocks reading it; the parent keeps its write end).
//  2. clone(CLONE_NEWPID): the init forks the member, closes its copy of `member_alive`'s
//     write end and exits at once (without killing the member).
//  3. The parent reaps the init. The kernel reports the init's death to its parent only after
//     every other member of the namespace is gone, so `member_alive` must now be at EOF: the
//     parent checks it with a zero-timeout poll (no waiting).
//  4. The parent closes `hold` (a member that survived would now exit) and reaps all children.
void InitExitKillsNamespace(const Probe& p) {
  NSC_SETUP(p, prctl(PR_SET_CHILD_SUBREAPER, 1), "PR_SET_CHILD_SUBREAPER");
  Barrier member_alive, hold;
  if (!member_alive.ok() || !hold.ok()) p.SetupFailed("pipes");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    member_alive.CloseReadEnd();
    ChildProcess member = Spawn(0, [&] {
      hold.CloseWriteEnd();
      hold.Wait();  // returns at EOF, i.e. only if it outlives everything else
      return 0;
    });
    if (!member.ok()) p.SetupFailed("fork of the namespace member");
    p.Value("init.member_pid", member.pid());
    (void)member.Release();  // the init must not kill the member itself: it just exits
    return 0;
  });
  if (!init.ok()) p.SetupFailed("clone of the namespace init");
  member_alive.CloseWriteEnd();
  hold.CloseReadEnd();
  const int status = init.Wait();
  p.Value("init.exited_0", ExitedWith(status, 0) ? 1 : 0);
  p.Value("member.pipe_at_eof_after_init_reaped", PipeAtEof(member_alive.read_fd()));
  hold.CloseWriteEnd();
  ReapAllChildren();
}

NSC_CASE({
    .id = "pid.init_exit_kills_namespace",
    .title = "When a namespace's init terminates, every other process in it is killed",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "The init forks a member holding the only write end of a pipe, then exits; once "
               "the parent has reaped the init, the parent's read end of that pipe is at EOF "
               "(the member is gone), checked with a zero-timeout poll",
    .control = "clone without CLONE_NEWPID: the 'init' is an ordinary process whose exit leaves "
               "the member alive, so the pipe is not at EOF",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {Expect("init.exited_0", Eq(1)),
               Expect("member.pipe_at_eof_after_init_reaped", Eq(1))},
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
  if (!first.ok()) p.SetupFailed("fork of the first child (the namespace init)");
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
               "succeeds, so ENOMEM is due to the init's death",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .expect = {ExpectCall("unshare", Succeeds()), Expect("first_child.getpid", Eq(1)),
               ExpectCall("second_fork", FailsWith(ENOMEM))},
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
  if (!init.ok()) p.SetupFailed("clone of the namespace init");
  hold.CloseReadEnd();
  const PathBuf path = ProcPath(init.pid(), "ns/pid");
  UniqueFd ns = OpenFile(path.c_str(), O_RDONLY);
  if (!ns.valid()) p.SetupFailed("open /proc/<init>/ns/pid");
  if (!p.control()) {
    init.KillAndReap();
    p.Value("init.reaped", init.ok() ? 0 : 1);
  } else {
    p.Value("init.reaped", 0);
  }
  ChildProcess helper = Spawn(0, [&] {
    p.Call("helper.setns", setns(ns.get(), CLONE_NEWPID));
    ChildProcess child = Spawn(0, [] { return 0; });
    p.Call("helper.fork", child.pid());
    child.Wait();
    return 0;
  });
  if (!helper.ok()) p.SetupFailed("fork of the helper");
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
    .control = "the init is left alive: setns() and the fork both succeed, so ENOMEM is due to "
               "the init's death",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .expect = {Expect("init.reaped", Eq(1)), ExpectCall("helper.setns", Succeeds()),
               ExpectCall("helper.fork", FailsWith(ENOMEM))},
    .body = SetnsIntoDeadNsForkEnomem,
});

// Flow:
//  1. clone(CLONE_NEWPID) an init that blocks on a pipe; the parent records the namespace's
//     identity through /proc/<init>/ns/pid while the init is alive.
//  2. Rule: the parent opens /proc/<init>/ns/pid now. Then it SIGKILLs and reaps the init (the
//     only process of the namespace). Control: the fd is opened only after the init is reaped,
//     when nothing pins the namespace.
//  3. With the fd: fstat() identity, ioctl(NS_GET_NSTYPE), and setns(fd, CLONE_NEWPID) in a
//     helper process.
void FdPinsNamespace(const Probe& p) {
  Barrier hold;
  if (!hold.ok()) p.SetupFailed("pipe");
  ChildProcess init = SpawnBlockedInit(hold);
  if (!init.ok()) p.SetupFailed("clone of the namespace init");
  hold.CloseReadEnd();
  const PathBuf path = ProcPath(init.pid(), "ns/pid");
  p.NsId("init.pidns", path.c_str());
  UniqueFd ns;
  if (!p.control()) ns = OpenFile(path.c_str(), O_RDONLY);
  init.KillAndReap();
  if (p.control()) ns = OpenFile(path.c_str(), O_RDONLY);
  p.NsIdOfFd("fd.pidns_after_members_gone", ns.get());
  p.Call("fd.ns_get_nstype", ioctl(ns.get(), NS_GET_NSTYPE));
  ChildProcess helper = Spawn(0, [&] {
    p.Call("helper.setns", setns(ns.get(), CLONE_NEWPID));
    return 0;
  });
  if (!helper.ok()) p.SetupFailed("fork of the helper");
  helper.Wait();
}

NSC_CASE({
    .id = "pid.fd_pins_namespace",
    .title = "An open /proc/PID/ns/pid fd keeps a PID namespace in existence after its last "
             "member has exited",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .references = {"namespaces(7), Namespace lifetime", "ioctl_nsfs(2), NS_GET_NSTYPE (Linux 4.11)"},
    .observe = "Keep an fd on /proc/<init>/ns/pid, kill and reap the init (the only member): "
               "fstat(fd) gives the same (st_dev, st_ino) as the live namespace had, "
               "ioctl(fd, NS_GET_NSTYPE) returns CLONE_NEWPID and setns(fd, CLONE_NEWPID) returns 0",
    .control = "the fd is opened only after the init was reaped, when nothing pins the "
               "namespace: the open fails and there is no namespace to identify or join",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 11}},
    .expect = {ExpectSameNs("fd.pidns_after_members_gone", "init.pidns"),
               ExpectCall("fd.ns_get_nstype", SucceedsWith(Eq(CLONE_NEWPID))),
               ExpectCall("helper.setns", Succeeds())},
    .body = FdPinsNamespace,
});

}  // namespace
}  // namespace nsc::cases
