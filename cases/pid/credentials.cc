// PID namespaces: how PIDs are numbered in a new namespace and how PIDs that cross a namespace
// boundary are translated or refused (SCM_CREDENTIALS, pidfd_send_signal, CLONE_PARENT from an
// init). Sources: pid_namespaces(7) DESCRIPTION and 'Miscellaneous'; pidfd_send_signal(2);
// clone(2), CLONE_PARENT.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "nsconform/case.h"
#include "creation.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;

// Flow:
//  1. clone(CLONE_NEWPID) an init; it records its getpid().
//  2. The init forks two children one after the other; both stay alive (blocked on a pipe) so
//     their PIDs are in use at the same time; the init records what each fork returned and the
//     difference between the second and the first.
//  3. The init closes the pipe; the children exit and are reaped.
void PidsStartAt1AndIncrease(const Probe& p) {
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    p.Value("init.getpid", RawGetpid());
    Barrier hold;
    if (!hold.ok()) p.SetupFailed("pipe for the children");
    auto block = [&] {
      hold.CloseWriteEnd();
      hold.Wait();  // EOF when the init closes its end
      return 0;
    };
    ChildProcess first = Spawn(0, block);
    p.Call("init.first_fork", first.pid());
    ChildProcess second = Spawn(0, block);
    p.Call("init.second_fork", second.pid());
    p.Value("init.second_minus_first", static_cast<int64_t>(second.pid()) - first.pid());
    hold.CloseWriteEnd();
    first.Wait();
    second.Wait();
    return 0;
  });
  RequireCreated(p, init, "clone of the init");
  p.Call("parent.clone", init.pid());
  init.Wait();
}

NSC_CASE({
    .id = "pid.pids_start_at_1_and_increase",
    .title = "PIDs in a new namespace start at 1; later forks get further, distinct PIDs",
    .source = {"pid_namespaces(7)", "DESCRIPTION"},
    .observe = "clone(CLONE_NEWPID): the init's getpid() is 1; it forks two children that are "
               "alive at the same time: both get PIDs greater than 1 and the second is greater "
               "than the first (2 and 3 in a fresh namespace; ns_last_pid could shift them)",
    .control = "clone without CLONE_NEWPID: the 'init' gets an ordinary PID, not 1, "
               "contradicting init.getpid (the forks' PIDs stay > 1 and distinct, which the "
               "namespace cannot change)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .preconditions = {Given(ExpectCall("parent.clone", Succeeds()), ReasonCode::kPreconditionUnmet)},
    .expect = {Expect("init.getpid", Eq(1)),
               ExpectCall("init.first_fork", SucceedsWith(Gt(1))),
               ExpectCall("init.second_fork", SucceedsWith(Gt(1))),
               Expect("init.second_minus_first", Gt(0))},
    .body = PidsStartAt1AndIncrease,
});

// Sends one byte with an explicit SCM_CREDENTIALS {pid, getuid(), getgid()}.
long SendCredentials(int fd, pid_t pid) {
  char byte = 'c';
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  std::memset(&control, 0, sizeof control);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_CREDENTIALS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(struct ucred));
  struct ucred cred = {pid, getuid(), getgid()};
  std::memcpy(CMSG_DATA(cmsg), &cred, sizeof cred);
  return sendmsg(fd, &msg, 0);
}

// Receives one byte and its SCM_CREDENTIALS; returns the PID in them, or -1 (errno set, EBADMSG
// when no credentials came with the message).
int64_t ReceiveCredentialsPid(int fd) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, 0);
  } while (n == -1 && errno == EINTR);
  if (n != 1) {
    if (n >= 0) errno = EBADMSG;
    return -1;
  }
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      return cred.pid;
    }
  }
  errno = EBADMSG;
  return -1;
}

// Flow:
//  1. socketpair(AF_UNIX, SOCK_DGRAM) before the namespace exists; SO_PASSCRED on both ends.
//  2. clone(CLONE_NEWPID): the init sends a byte with SCM_CREDENTIALS pid = getpid() (1).
//  3. The parent receives it and records the PID it sees and the init's PID as clone returned it.
//  4. Reverse direction (recorded only): the parent sends its own getpid(); the init records the
//     PID it receives for that outer sender.
void ScmCredentialsPidTranslated(const Probe& p) {
  int sv[2];
  NSC_SETUP(p, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), "socketpair");
  UniqueFd outer_end(sv[0]), inner_end(sv[1]);
  const int one = 1;
  NSC_SETUP(p, setsockopt(outer_end.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one),
            "SO_PASSCRED on the outer end");
  NSC_SETUP(p, setsockopt(inner_end.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one),
            "SO_PASSCRED on the inner end");

  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    outer_end.Reset();
    const pid_t self = RawGetpid();
    p.Value("init.sent_pid", self);
    p.Call("init.sendmsg", SendCredentials(inner_end.get(), self));
    p.Value("init.received_outer_sender_pid", ReceiveCredentialsPid(inner_end.get()));
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  inner_end.Reset();
  p.Value("init.outer_pid", init.pid());
  p.Value("parent.received_pid", ReceiveCredentialsPid(outer_end.get()));
  p.Call("parent.sendmsg", SendCredentials(outer_end.get(), RawGetpid()));
  init.Wait();
}

NSC_CASE({
    .id = "pid.scm_credentials_pid_translated",
    .title = "A PID sent as SCM_CREDENTIALS arrives translated into the receiver's PID namespace",
    .source = {"pid_namespaces(7)", "Miscellaneous"},
    .references = {"unix(7), SCM_CREDENTIALS"},
    .observe = "A socketpair made before clone(CLONE_NEWPID): the init sends SCM_CREDENTIALS with "
               "pid 1 (its getpid()); the outside receiver sees the init's outer PID, not 1. The "
               "PID an in-namespace receiver sees for an outer sender is recorded (catalogue "
               "record list item 12)",
    .control = "clone without CLONE_NEWPID: sender and receiver share a namespace, so the PID "
               "arrives unchanged, contradicting parent.received_pid (different from "
               "init.sent_pid)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .preconditions = {Given(ExpectCall("init.sendmsg", Succeeds()))},
    .expect = {ExpectSameValue("parent.received_pid", "init.outer_pid"),
               ExpectDifferentValue("parent.received_pid", "init.sent_pid"),
               Record("init.received_outer_sender_pid"), Record("parent.sendmsg")},
    .body = ScmCredentialsPidTranslated,
});

long PidfdSendSignal(int pidfd, int sig) {
  return syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
}

// Flow:
//  1. The parent opens a PID file descriptor on itself (/proc/self directory fd, accepted by
//     pidfd_send_signal since 5.1).
//  2. clone(CLONE_NEWPID): the init calls pidfd_send_signal(parent_fd, 0): the parent is in an
//     ancestor namespace, so EINVAL.
//  3. Positive side: the parent opens /proc/<init> and pidfd_send_signal(init_fd, 0) succeeds,
//     because the caller is in an ancestor of the target's namespace.
void PidfdSendSignalScope(const Probe& p) {
  UniqueFd self_fd = OpenFile("/proc/self", O_RDONLY | O_DIRECTORY);
  if (!self_fd.valid()) p.SetupFailed("open /proc/self as a PID file descriptor");
  Barrier ready, release;
  if (!ready.ok() || !release.ok()) p.SetupFailed("pipes");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    ready.CloseReadEnd();
    release.CloseWriteEnd();
    p.Call("init.pidfd_send_signal_to_parent", PidfdSendSignal(self_fd.get(), 0));
    ready.Signal();
    release.Wait();  // EOF: the parent is done with us
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  ready.CloseWriteEnd();
  release.CloseReadEnd();
  ready.Wait();
  PathBuf path("/proc/");
  path.Add(init.pid());
  UniqueFd init_fd = OpenFile(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (!init_fd.valid()) p.SetupFailed("open /proc/<init> as a PID file descriptor");
  p.Call("parent.pidfd_send_signal_to_init", PidfdSendSignal(init_fd.get(), 0));
  release.CloseWriteEnd();
  init.Wait();
}

NSC_CASE({
    .id = "pid.pidfd_send_signal_scope",
    .title = "pidfd_send_signal() works only towards the caller's PID namespace or its descendants",
    .source = {"pidfd_send_signal(2)", "DESCRIPTION"},
    .references = {"pidfd_send_signal(2), ERRORS (EINVAL)"},
    .observe = "A PID fd on the parent, opened before clone(CLONE_NEWPID); from the init, "
               "pidfd_send_signal(fd, 0) fails with EINVAL; the parent's pidfd_send_signal on the "
               "init (a descendant namespace) succeeds",
    .control = "clone without CLONE_NEWPID: the parent is in the init's own namespace, so the "
               "init's pidfd_send_signal succeeds, contradicting "
               "init.pidfd_send_signal_to_parent",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {5, 1}},
    .expect = {ExpectCall("init.pidfd_send_signal_to_parent", FailsWith(EINVAL)),
               ExpectCall("parent.pidfd_send_signal_to_init", Succeeds())},
    .body = PidfdSendSignalScope,
});

// Flow:
//  1. clone(CLONE_NEWPID): the init calls raw clone(CLONE_PARENT | SIGCHLD) and records it.
//  2. If that clone succeeded (control), the new process is the parent's child: it exits at
//     once and the parent reaps every child until none is left.
void CloneParentFromInitEinval(const Probe& p) {
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    long r = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (r == 0) _exit(0);
    p.Call("init.clone_parent", r);
    return 0;
  });
  RequireCreated(p, init, "clone of the init");
  p.Call("parent.clone", init.pid());
  init.Wait();
  int status;
  while (waitpid(-1, &status, __WALL) > 0 || errno == EINTR) {
  }
}

NSC_CASE({
    .id = "pid.clone_parent_from_init_einval",
    .title = "A PID namespace init may not use CLONE_PARENT (EINVAL)",
    .source = {"clone(2)", "CLONE_PARENT"},
    .references = {"clone(2), ERRORS (EINVAL: CLONE_PARENT from an init process)"},
    .observe = "In the init of a new PID namespace, clone(CLONE_PARENT | SIGCHLD) fails with EINVAL",
    .control = "clone without CLONE_NEWPID: the caller is an ordinary process and its "
               "CLONE_PARENT clone succeeds (the sibling is reaped by the parent), "
               "contradicting init.clone_parent",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 32}},
    .preconditions = {Given(ExpectCall("parent.clone", Succeeds()), ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("init.clone_parent", FailsWith(EINVAL))},
    .body = CloneParentFromInitEinval,
});

}  // namespace
}  // namespace nsc::cases
