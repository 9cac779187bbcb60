// PID namespaces: signals and the namespace init — which signals reach an init from inside its
// namespace and from an ancestor namespace, what si_pid an outside sender shows, and what
// kill(-1) reaches inside a namespace.
// Sources: pid_namespaces(7), 'The namespace "init" process'; kill(2), DESCRIPTION and NOTES.
//
// Determinism: a signal queued by kill() is handled (or kills the target) before the target
// next returns to user space. So after each kill() the sender writes a byte to a pipe on which
// the target blocks; once the target's read has returned in user space, the signal has had its
// chance: a handler has run, a fatal signal has killed it, or the signal was dropped. No sleeps.
//
// Safety: kill(-1, ...) is made only after the body has self-tested the PID-namespace guard
// (RequireWorkingGuard) and the caller has passed RequireOutsideHarnessPidNs
// (cases/pid/pidns_guard.h); both fail closed (ERROR before the call). The control makes the
// call under the same guard, inside a new PID namespace too.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsconform/case.h"
#include "creation.h"
#include "pidns_guard.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

// Per process (each case process is a fork): what the SIGUSR1 handler saw.
volatile sig_atomic_t g_usr1_count = 0;
volatile sig_atomic_t g_usr1_si_pid = -1;
volatile sig_atomic_t g_usr1_si_code = -1;

void CountUsr1(int) { g_usr1_count = g_usr1_count + 1; }

void RecordUsr1(int, siginfo_t* info, void*) {
  g_usr1_si_pid = info->si_pid;
  g_usr1_si_code = info->si_code;
  g_usr1_count = g_usr1_count + 1;
}

int SetDisposition(int sig, void (*handler)(int)) {
  struct sigaction sa = {};
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, nullptr);
}

int SetSiginfoHandler(int sig, void (*handler)(int, siginfo_t*, void*)) {
  struct sigaction sa = {};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, nullptr);
}

// Gives an init-to-be the dispositions the rules assume: `sig` at SIG_DFL and nothing blocked
// (a blocked signal would stay pending rather than be delivered or dropped). SIGKILL and
// SIGSTOP cannot be caught or blocked: only the mask is reset for them.
void DefaultDispositionUnblocked(const Probe& p, int sig) {
  sigset_t none;
  sigemptyset(&none);
  NSC_SETUP(p, sigprocmask(SIG_SETMASK, &none, nullptr), "unblock all signals");
  if (sig == SIGKILL || sig == SIGSTOP) return;
  NSC_SETUP(p, SetDisposition(sig, SIG_DFL), "reset a signal to SIG_DFL");
}

// A write to a pipe whose reader died must fail with EPIPE, not kill the writer.
void IgnoreSigpipe(const Probe& p) {
  NSC_SETUP(p, SetDisposition(SIGPIPE, SIG_IGN), "ignore SIGPIPE");
}

// 1 if `pid` (a child of the caller) has not terminated, 0 if it has (it is left waitable),
// -1 on error. Meaningful only after a synchronisation point, never as a race with kill().
int64_t StillAlive(pid_t pid) {
  siginfo_t si = {};
  if (waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == -1) return -1;
  return si.si_pid == 0 ? 1 : 0;
}

// Reaps every remaining child of the caller (for a body that made itself a subreaper).
void ReapAllChildren() {
  int status;
  while (waitpid(-1, &status, __WALL) > 0 || errno == EINTR) {
  }
}

// Flow (in the control only, the body is a subreaper so that the orphaned member comes back
// to it; the rule's init never leaves an orphan):
//  1. clone(CLONE_NEWPID): the init keeps default dispositions, remembers its own PID (1) and
//     forks a member M.
//  2. M: kill(init, SIGTERM), kill(init, SIGKILL); then a round trip through the init (M writes
//     `ping`, the init reads it in user space and writes `pong`). A pong proves that neither
//     signal was pending when the init's read returned. M records whether the pong came and
//     tells the body.
//  3. The body checks from outside that the init has not terminated (waitid WNOWAIT|WNOHANG),
//     then releases it and records how it ended (exit 0, no signal).
void InitUnhandledSignalDropped(const Probe& p) {
  if (p.control()) NSC_SETUP(p, prctl(PR_SET_CHILD_SUBREAPER, 1), "control: PR_SET_CHILD_SUBREAPER");
  IgnoreSigpipe(p);
  Barrier ping, pong, done, release;
  if (!ping.ok() || !pong.ok() || !done.ok() || !release.ok()) p.SetupFailed("pipes");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    done.CloseReadEnd();
    release.CloseWriteEnd();
    DefaultDispositionUnblocked(p, SIGTERM);
    const pid_t self = RawGetpid();  // 1 in the rule; the 'init' itself in the control
    ChildProcess member = Spawn(0, [&] {
      ping.CloseReadEnd();
      pong.CloseWriteEnd();
      release.CloseReadEnd();
      p.Value("member.target_pid", self);
      p.Call("member.kill_sigterm", kill(self, SIGTERM));
      p.Call("member.kill_sigkill", kill(self, SIGKILL));
      ping.Signal();
      p.Value("member.init_answered", pong.Wait() ? 1 : 0);
      done.Signal();
      return 0;
    });
    RequireCreated(p, member, "fork of the member");
    ping.CloseWriteEnd();
    pong.CloseReadEnd();
    done.CloseWriteEnd();
    if (ping.Wait()) pong.Signal();
    member.Wait();
    release.Wait();  // EOF: the body has looked at us
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  ping.CloseReadEnd();
  ping.CloseWriteEnd();
  pong.CloseReadEnd();
  pong.CloseWriteEnd();
  done.CloseWriteEnd();
  release.CloseReadEnd();
  done.Wait();
  p.Value("parent.init_alive_after_round_trip", StillAlive(init.pid()));
  release.CloseWriteEnd();
  const int status = init.Wait();
  p.Value("parent.init_killed_by", TermSignalOf(status));
  if (p.control()) ReapAllChildren();
}

NSC_CASE({
    .id = "pid.init_unhandled_signal_dropped",
    .title = "Signals from inside the namespace reach its init only if it has a handler; "
             "others, SIGKILL included, are dropped",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "The init keeps default dispositions; a member (privileged) calls kill(1, SIGTERM) "
               "and kill(1, SIGKILL): both return 0, the init still answers a pipe round trip "
               "afterwards, is alive when checked from outside (waitid WNOHANG|WNOWAIT) and "
               "finally exits normally",
    .control = "clone without CLONE_NEWPID: the target is an ordinary process, which SIGTERM "
               "kills: parent.init_killed_by, parent.init_alive_after_round_trip and "
               "member.init_answered are contradicted (the kill() calls still succeed)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {ExpectCall("member.kill_sigterm", Succeeds()),
               ExpectCall("member.kill_sigkill", Succeeds()),
               Expect("member.init_answered", Eq(1)),
               Expect("parent.init_alive_after_round_trip", Eq(1)),
               Expect("parent.init_killed_by", Eq(0)), Record("member.target_pid")},
    .body = InitUnhandledSignalDropped,
});

// Flow:
//  1. clone(CLONE_NEWPID): the init installs a SIGUSR1 handler (control: keeps SIG_DFL) and
//     forks a member M.
//  2. M: kill(init, SIGUSR1), then writes `ping`. The init reads it (SA_RESTART): by the time
//     the read returns in user space the handler has run if the signal was delivered.
//  3. The init sends its handler count to the body, which records it (-1 if the init died).
void InitHandledSignalDelivered(const Probe& p) {
  IgnoreSigpipe(p);
  Barrier ping, report;
  if (!ping.ok() || !report.ok()) p.SetupFailed("pipes");
  ChildProcess init = Spawn(CLONE_NEWPID, [&] {
    report.CloseReadEnd();
    g_usr1_count = 0;
    DefaultDispositionUnblocked(p, SIGUSR1);
    if (!p.control()) NSC_SETUP(p, SetDisposition(SIGUSR1, CountUsr1), "SIGUSR1 handler");
    const pid_t self = RawGetpid();
    ChildProcess member = Spawn(0, [&] {
      ping.CloseReadEnd();
      report.CloseWriteEnd();
      p.Call("member.kill_sigusr1", kill(self, SIGUSR1));
      ping.Signal();
      return 0;
    });
    RequireCreated(p, member, "fork of the member");
    ping.CloseWriteEnd();
    ping.Wait();
    report.Send(g_usr1_count);
    member.Wait();
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  ping.CloseReadEnd();
  ping.CloseWriteEnd();
  report.CloseWriteEnd();
  int64_t count = -1;
  if (!report.Receive(&count)) count = -1;
  p.Value("init.handler_runs", count);
  init.Wait();
}

NSC_CASE({
    .id = "pid.init_handled_signal_delivered",
    .title = "A signal for which the init has a handler is delivered when a namespace member "
             "sends it",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "The init installs a SIGUSR1 handler; a member calls kill(1, SIGUSR1) and then "
               "writes to a pipe the init reads: when the read returns, the handler has run once",
    .control = "the init keeps SIGUSR1 at SIG_DFL (no handler): the member's SIGUSR1 is not "
               "delivered and the handler count stays 0, contradicting init.handler_runs",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {ExpectCall("member.kill_sigusr1", Succeeds()), Expect("init.handler_runs", Eq(1))},
    .body = InitHandledSignalDelivered,
});

// Flow:
//  1. clone(CLONE_NEWPID): the init keeps default dispositions and blocks reading `ping`.
//  2. The body sends SIGTERM, then SIGUSR1, to the init's outer PID, then writes `ping`; the
//     init answers on `pong` once its read has returned in user space (neither signal pending).
//  3. The body records the answer, checks the init is alive (waitid WNOHANG|WNOWAIT), releases
//     it and records how it ended.
void AncestorUnhandledSignalDropped(const Probe& p) {
  IgnoreSigpipe(p);
  Barrier ping, pong, release;
  if (!ping.ok() || !pong.ok() || !release.ok()) p.SetupFailed("pipes");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    ping.CloseWriteEnd();
    pong.CloseReadEnd();
    release.CloseWriteEnd();
    DefaultDispositionUnblocked(p, SIGTERM);
    DefaultDispositionUnblocked(p, SIGUSR1);
    if (ping.Wait()) pong.Signal();
    release.Wait();
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  ping.CloseReadEnd();
  pong.CloseWriteEnd();
  release.CloseReadEnd();
  p.Call("parent.kill_sigterm", kill(init.pid(), SIGTERM));
  p.Call("parent.kill_sigusr1", kill(init.pid(), SIGUSR1));
  ping.Signal();
  p.Value("parent.init_answered", pong.Wait() ? 1 : 0);
  p.Value("parent.init_alive_after_round_trip", StillAlive(init.pid()));
  release.CloseWriteEnd();
  p.Value("parent.init_killed_by", TermSignalOf(init.Wait()));
}

NSC_CASE({
    .id = "pid.ancestor_unhandled_signal_dropped",
    .title = "From an ancestor namespace, signals without a handler in the init are dropped "
             "(SIGKILL and SIGSTOP aside)",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "The parent sends SIGTERM and then SIGUSR1 to the init's outer PID while the init "
               "has default dispositions: both kill() calls return 0, the init still answers a "
               "pipe round trip, is alive when checked (waitid WNOHANG|WNOWAIT) and exits "
               "normally when released",
    .control = "clone without CLONE_NEWPID: the target is an ordinary child, which SIGTERM "
               "kills: parent.init_answered and parent.init_killed_by are contradicted",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {ExpectCall("parent.kill_sigterm", Succeeds()),
               ExpectCall("parent.kill_sigusr1", Succeeds()),
               Expect("parent.init_answered", Eq(1)),
               Expect("parent.init_alive_after_round_trip", Eq(1)),
               Expect("parent.init_killed_by", Eq(0))},
    .body = AncestorUnhandledSignalDropped,
});

// Shared set-up of the SIGKILL/SIGSTOP cases: a namespace init that forks a member (which, in
// the control, sends `control_sig` to the init from inside the namespace), waits for it, tells
// the body it is ready and then blocks reading `go` until the body writes to it or closes it.
ChildProcess SpawnInitForForcedSignal(const Probe& p, int control_sig, Barrier& ready, Barrier& go) {
  return Spawn(CLONE_NEWPID, [&] {
    ready.CloseReadEnd();
    go.CloseWriteEnd();
    DefaultDispositionUnblocked(p, control_sig);
    const pid_t self = RawGetpid();
    ChildProcess member = Spawn(0, [&] {
      if (p.control()) p.Call("sender.kill", kill(self, control_sig));
      return 0;
    });
    RequireCreated(p, member, "fork of the member");
    member.Wait();
    ready.Signal();
    go.Wait();
    return 0;
  });
}

// Flow:
//  1. clone(CLONE_NEWPID) an init (default dispositions) that reports ready and blocks on `go`.
//  2. Rule: the body (ancestor namespace) sends SIGKILL to the init's outer PID. Control: a
//     member of the namespace sends SIGKILL to PID 1 instead, before the init reports ready.
//  3. The body closes `go` (a surviving init exits 0) and records how the init ended.
void AncestorSigkillForced(const Probe& p) {
  IgnoreSigpipe(p);
  Barrier ready, go;
  if (!ready.ok() || !go.ok()) p.SetupFailed("pipes");
  ChildProcess init = SpawnInitForForcedSignal(p, SIGKILL, ready, go);
  RequireCreated(p, init, "clone of the namespace init");
  ready.CloseWriteEnd();
  go.CloseReadEnd();
  ready.Wait();
  if (!p.control()) p.Call("sender.kill", kill(init.pid(), SIGKILL));
  go.CloseWriteEnd();
  p.Value("init.killed_by", TermSignalOf(init.Wait()));
}

NSC_CASE({
    .id = "pid.ancestor_sigkill_forced",
    .title = "SIGKILL from an ancestor PID namespace always kills the child namespace's init",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "kill(init_outer_pid, SIGKILL) from the parent returns 0, and waitpid() reports "
               "the init killed by SIGKILL",
    .control = "the SIGKILL is sent to PID 1 by a member of the namespace instead: it is dropped, "
               "the init exits normally when released, contradicting init.killed_by",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {ExpectCall("sender.kill", Succeeds()), Expect("init.killed_by", Eq(SIGKILL))},
    .body = AncestorSigkillForced,
});

// Flow:
//  1. clone(CLONE_NEWPID) an init (default dispositions) that reports ready and blocks on `go`;
//     it exits as soon as its read of `go` returns in user space.
//  2. Rule: the body sends SIGSTOP to the init's outer PID. Control: a member of the namespace
//     sends SIGSTOP to PID 1 instead, before the init reports ready.
//  3. The body writes `go` and waits (blocking) for the first of "stopped" and "exited"
//     (waitid WSTOPPED|WEXITED|WNOWAIT): a pending SIGSTOP stops the init before its read
//     returns to user space, so a stop is reported first if the signal was delivered.
//  4. If stopped: SIGCONT; then the init exits and is reaped.
void AncestorSigstopForced(const Probe& p) {
  IgnoreSigpipe(p);
  Barrier ready, go;
  if (!ready.ok() || !go.ok()) p.SetupFailed("pipes");
  ChildProcess init = SpawnInitForForcedSignal(p, SIGSTOP, ready, go);
  RequireCreated(p, init, "clone of the namespace init");
  ready.CloseWriteEnd();
  go.CloseReadEnd();
  ready.Wait();
  if (!p.control()) p.Call("sender.kill", kill(init.pid(), SIGSTOP));
  go.Signal();
  siginfo_t si = {};
  int r;
  do {
    r = waitid(P_PID, static_cast<id_t>(init.pid()), &si, WSTOPPED | WEXITED | WNOWAIT);
  } while (r == -1 && errno == EINTR);
  if (r == -1) p.SetupFailed("waitid on the init");
  const bool stopped = si.si_code == CLD_STOPPED;
  p.Value("init.stopped_by", stopped ? si.si_status : 0);
  if (stopped) p.Call("parent.kill_sigcont", kill(init.pid(), SIGCONT));
  go.CloseWriteEnd();
  const int status = init.Wait();
  p.Value("init.exited_0_after_cont", ExitedWith(status, 0) ? 1 : 0);
}

NSC_CASE({
    .id = "pid.ancestor_sigstop_forced",
    .title = "SIGSTOP from an ancestor PID namespace always stops the child namespace's init",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "kill(init_outer_pid, SIGSTOP) from the parent returns 0, and waitid(WSTOPPED) "
               "reports the init stopped by SIGSTOP; after SIGCONT it runs on and exits normally",
    .control = "the SIGSTOP is sent to PID 1 by a member of the namespace instead: it is dropped "
               "and the init exits without ever stopping, contradicting init.stopped_by",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {ExpectCall("sender.kill", Succeeds()), Expect("init.stopped_by", Eq(SIGSTOP)),
               Expect("init.exited_0_after_cont", Eq(1)), Record("parent.kill_sigcont")},
    .body = AncestorSigstopForced,
});

// Flow:
//  1. clone(CLONE_NEWPID): the init installs an SA_SIGINFO handler for SIGUSR1, reports ready
//     and blocks reading `go` (SA_RESTART).
//  2. The body sends SIGUSR1 to the init's outer PID and writes `go`; the handler has run by the
//     time the init's read returns in user space.
//  3. The init records the handler's count, si_pid and si_code.
void AncestorSignalSiPidZero(const Probe& p) {
  IgnoreSigpipe(p);
  Barrier ready, go;
  if (!ready.ok() || !go.ok()) p.SetupFailed("pipes");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    ready.CloseReadEnd();
    go.CloseWriteEnd();
    g_usr1_count = 0;
    DefaultDispositionUnblocked(p, SIGUSR1);
    NSC_SETUP(p, SetSiginfoHandler(SIGUSR1, RecordUsr1), "SA_SIGINFO handler for SIGUSR1");
    ready.Signal();
    go.Wait();
    p.Value("handler.runs", g_usr1_count);
    p.Value("handler.si_pid", g_usr1_si_pid);
    p.Value("handler.si_code", g_usr1_si_code);
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  ready.CloseWriteEnd();
  go.CloseReadEnd();
  if (!ready.Wait()) p.SetupFailed("the init did not install its handler");
  p.Call("parent.kill_sigusr1", kill(init.pid(), SIGUSR1));
  go.Signal();
  init.Wait();
}

NSC_CASE({
    .id = "pid.ancestor_signal_si_pid_zero",
    .title = "A signal from an ancestor namespace shows si_pid 0 in the init's handler",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "The init installs an SA_SIGINFO handler for SIGUSR1 and the parent sends SIGUSR1: "
               "the handler runs once and sees si_pid == 0 (si_code recorded)",
    .control = "clone without CLONE_NEWPID: the sender is visible to the receiver, so si_pid is "
               "the parent's PID, contradicting handler.si_pid",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {ExpectCall("parent.kill_sigusr1", Succeeds()), Expect("handler.runs", Eq(1)),
               Expect("handler.si_pid", Eq(0)), Record("handler.si_code")},
    .body = AncestorSignalSiPidZero,
});

// B of the kill(-1) case: SIGUSR1 at its default action, blocked reading `hold` until it is
// killed or every writer of `hold` has gone.
int WaitAsTarget(const Probe& p, Barrier& hold) {
  DefaultDispositionUnblocked(p, SIGUSR1);
  hold.CloseWriteEnd();
  hold.Wait();
  return 0;
}

// Flow:
//  0. The body proves the PID-namespace guard works (RequireWorkingGuard: stable identity,
//     refuses in the harness's namespace; ERROR otherwise) and installs a SIGUSR1 handler.
//     Control only: the body forks B itself, outside the namespace to be created.
//  1. clone(CLONE_NEWPID): the init resets SIGUSR1 to SIG_DFL and (rule) forks B (default
//     SIGUSR1, blocks on `hold`) and, recorded only, a nested PID namespace (init N with member
//     M, both default SIGUSR1, M blocks on `hold`); then the init installs a SIGUSR1 handler and
//     forks C.
//  2. C resets SIGUSR1 to SIG_DFL, passes RequireOutsideHarnessPidNs (or stops with ERROR) and
//     calls kill(-1, SIGUSR1); it writes `ping`.
//  3. The init reads `ping` (SA_RESTART: its handler would have run by then) and records its
//     handler count, reaps C (alive through its own kill) and, after closing `hold`, reaps B
//     (rule) and N (N records how M ended).
//  4. The body reaps the init; a SIGUSR1 that had escaped the namespace would have run the
//     body's handler by then. Control: the body closes its `hold` and reaps its B.
void KillMinus1SparesInitAndSelf(const Probe& p) {
  const PidNsIdentity harness = RequireWorkingGuard(p);
  Barrier outside_hold;
  if (!outside_hold.ok()) p.SetupFailed("pipe");
  ChildProcess outside_b;
  if (p.control()) {
    outside_b = Spawn(0, [&] { return WaitAsTarget(p, outside_hold); });
    RequireCreated(p, outside_b, "control: fork of B outside the namespace");
  }
  outside_hold.CloseReadEnd();
  g_usr1_count = 0;
  NSC_SETUP(p, SetDisposition(SIGUSR1, CountUsr1), "SIGUSR1 handler in the body");

  ChildProcess init = Spawn(CLONE_NEWPID, [&] {
    outside_hold.CloseWriteEnd();
    DefaultDispositionUnblocked(p, SIGUSR1);
    Barrier hold, ping;
    if (!hold.ok() || !ping.ok()) p.SetupFailed("pipes");
    ChildProcess b;
    if (!p.control()) {
      b = Spawn(0, [&] {
        ping.CloseReadEnd();
        ping.CloseWriteEnd();
        return WaitAsTarget(p, hold);
      });
      RequireCreated(p, b, "fork of B");
    }
    // Recorded only (rules.md record list item 11): a nested namespace, whose init N and member
    // M are visible from here with PIDs > 1, both with the default SIGUSR1.
    Barrier nested_ready;
    if (!nested_ready.ok()) p.SetupFailed("pipe");
    ChildProcess nested_init = Spawn(CLONE_NEWPID, [&] {
      hold.CloseWriteEnd();
      ping.CloseReadEnd();
      ping.CloseWriteEnd();
      nested_ready.CloseReadEnd();
      ChildProcess member = Spawn(0, [&] {
        nested_ready.CloseWriteEnd();
        hold.Wait();
        return 0;
      });
      RequireCreated(p, member, "fork of the nested member");
      nested_ready.Signal();
      p.Value("nested_member.killed_by", TermSignalOf(member.Wait()));
      return 0;
    });
    RequireCreated(p, nested_init, "clone of the nested namespace init");
    nested_ready.CloseWriteEnd();
    if (!nested_ready.Wait()) p.SetupFailed("the nested namespace did not get ready");
    g_usr1_count = 0;
    NSC_SETUP(p, SetDisposition(SIGUSR1, CountUsr1), "SIGUSR1 handler in the init");
    ChildProcess c = Spawn(0, [&] {
      hold.CloseWriteEnd();
      ping.CloseReadEnd();
      NSC_SETUP(p, SetDisposition(SIGUSR1, SIG_DFL), "SIGUSR1 default in C");
      RequireOutsideHarnessPidNs(p, harness);
      p.Call("c.kill_minus1", kill(-1, SIGUSR1));
      ping.Signal();
      return 0;
    });
    RequireCreated(p, c, "fork of C");
    ping.CloseWriteEnd();
    ping.Wait();
    p.Value("init.handler_runs", g_usr1_count);
    p.Value("c.killed_by", TermSignalOf(c.Wait()));
    hold.CloseWriteEnd();
    if (!p.control()) p.Value("b.killed_by", TermSignalOf(b.Wait()));
    p.Value("nested_init.killed_by", TermSignalOf(nested_init.Wait()));
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  init.Wait();
  p.Value("parent.handler_runs", g_usr1_count);
  outside_hold.CloseWriteEnd();
  if (p.control()) p.Value("b.killed_by", TermSignalOf(outside_b.Wait()));
}

NSC_CASE({
    .id = "pid.kill_minus1_spares_init_and_self",
    .title = "Inside a PID namespace, kill(-1) reaches the other members but not the init, the "
             "caller or anything outside",
    .source = {"kill(2)", "DESCRIPTION"},
    .references = {"kill(2), NOTES", "pid_namespaces(7), Nesting PID namespaces",
                   "rules.md record list item 11 (the combination is an inference)"},
    .observe = "Inside a new PID namespace the init has a SIGUSR1 handler and B the default; C "
               "resets SIGUSR1 to default and, after a run-time check that it is not in the "
               "harness's PID namespace (self-tested first, failing closed), calls kill(-1, "
               "SIGUSR1): it returns 0, B dies of SIGUSR1, the init's handler does not run, C "
               "survives, and the handler of the body outside the namespace does not run. "
               "Recorded: whether a member and the init of a nested namespace are reached",
    .control = "B is forked by the body, outside C's PID namespace, instead of by the init "
               "(kill(-1) is still made only inside the new namespace, behind the guard): B "
               "survives, contradicting b.killed_by. (Sparing the init and the caller cannot be "
               "undone by any control: those keys are what the kernel always does.)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {ExpectCall("c.kill_minus1", Succeeds()),
               Expect("b.killed_by", Eq(SIGUSR1)), Expect("init.handler_runs", Eq(0)),
               Expect("c.killed_by", Eq(0)), Expect("parent.handler_runs", Eq(0)),
               Record("nested_member.killed_by"), Record("nested_init.killed_by")},
    .body = KillMinus1SparesInitAndSelf,
});

}  // namespace
}  // namespace nsc::cases
