// PID namespaces: adoption of orphaned children — by the namespace init, by the init of the
// *parent's* namespace after setns(), and by a nearer subreaper.
// Sources: pid_namespaces(7), 'The namespace "init" process' and 'Adoption of orphaned
// children'; PR_SET_CHILD_SUBREAPER(2const).
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsconform/case.h"
#include "creation.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Ne;

// Reaps every remaining child of the caller.
void ReapAllChildren() {
  int status;
  while (waitpid(-1, &status, __WALL) > 0 || errno == EINTR) {
  }
}

// The caller's PID as numbered by the procfs at /proc (first NSpid field), or -1.
int64_t ProcfsPid() {
  int64_t ids[64];
  return ReadStatusIds(0, "NSpid", ids, 64) > 0 ? ids[0] : -1;
}

// waitpid(pid) restarted on EINTR; returns what waitpid returned.
long WaitFor(pid_t pid) {
  int status;
  long r;
  do {
    r = waitpid(pid, &status, __WALL);
  } while (r == -1 && errno == EINTR);
  return r;
}

// Flow (inside a new PID namespace; in the control only, the body is a subreaper so that the
// orphan comes back to the body rather than escaping — the rule's orphan never leaves the
// namespace):
//  1. The init forks B; B forks C, sends C's PID to the init and exits without waiting for C.
//  2. The init reaps B. Re-parenting happens while B exits, before B can be reaped, so C's new
//     parent is settled now; the init tells C to go on.
//  3. C records getppid(); the init records waitpid(C).
void OrphanReparentedToNsInit(const Probe& p) {
  if (p.control()) NSC_SETUP(p, prctl(PR_SET_CHILD_SUBREAPER, 1), "control: PR_SET_CHILD_SUBREAPER");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    Barrier c_pid, parent_gone;
    if (!c_pid.ok() || !parent_gone.ok()) p.SetupFailed("pipes");
    ChildProcess b = Spawn(0, [&] {
      ChildProcess c = Spawn(0, [&] {
        parent_gone.CloseWriteEnd();
        parent_gone.Wait();
        p.Value("orphan.getppid", getppid());
        return 0;
      });
      RequireCreated(p, c, "fork of C");
      c_pid.Send(c.pid());
      (void)c.Release();  // B exits without killing or waiting for C
      return 0;
    });
    RequireCreated(p, b, "fork of B");
    c_pid.CloseWriteEnd();
    parent_gone.CloseReadEnd();
    int64_t c = -1;
    if (!c_pid.Receive(&c)) p.SetupFailed("B did not report C's PID");
    b.Wait();
    parent_gone.Signal();
    p.Call("init.waitpid_orphan", WaitFor(static_cast<pid_t>(c)));
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  init.Wait();
  if (p.control()) ReapAllChildren();
}

NSC_CASE({
    .id = "pid.orphan_reparented_to_ns_init",
    .title = "An orphan whose parent was in the same PID namespace is adopted by that "
             "namespace's init",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .references = {"pid_namespaces(7), Adoption of orphaned children"},
    .observe = "Inside a new PID namespace the init forks B, B forks C, B exits: C's getppid() "
               "is 1 and the init can waitpid() C",
    .control = "clone without CLONE_NEWPID: the 'init' is an ordinary process, so C goes to the "
               "nearest subreaper (the body) instead: getppid() is not 1 and the 'init' gets "
               "ECHILD, contradicting orphan.getppid and init.waitpid_orphan",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {Expect("orphan.getppid", Eq(1)), ExpectCall("init.waitpid_orphan", Succeeds())},
    .body = OrphanReparentedToNsInit,
});

// Flow:
//  1. The body clones T, the init of an arena PID namespace: T is the reaper of every orphan of
//     its namespace without any PR_SET_CHILD_SUBREAPER, and its death cleans up everything.
//  2. T clones an init N of a new PID namespace that blocks on a pipe; N sends its procfs PID
//     (first NSpid field: /proc is the harness's) and T opens /proc/<N>/ns/pid.
//  3. T forks P (in T's namespace); P calls setns(N's fd, CLONE_NEWPID) (control: setns into
//     its own PID namespace) and forks C, which lands in N's namespace but whose parent P is
//     not in it. P sends C's PID (as P sees it) and exits.
//  4. T reaps P, then tells C to go on: C records getppid(); T records waitpid(C).
//  5. T releases N and reaps it.
void OrphanGoesToParentsNsInit(const Probe& p) {
  ChildProcess arena = Spawn(CLONE_NEWPID, [&] {
    Barrier hold;
    Barrier named;
    if (!hold.ok() || !named.ok()) p.SetupFailed("pipe");
    ChildProcess ns_init = Spawn(CLONE_NEWPID, [&] {
      hold.CloseWriteEnd();
      named.Send(ProcfsPid());
      hold.Wait();
      return 0;
    });
    RequireCreated(p, ns_init, "clone of the namespace init");
    hold.CloseReadEnd();
    named.CloseWriteEnd();
    // /proc is the harness's procfs: N is named there by its first NSpid field.
    int64_t procfs_pid = -1;
    if (!named.Receive(&procfs_pid) || procfs_pid <= 0) {
      p.Skip(ReasonCode::kPreconditionUnmet, "no NSpid line in /proc/self/status");
    }
    UniqueFd target = OpenNs(p.control() ? 0 : static_cast<pid_t>(procfs_pid), "pid");
    if (!target.valid()) p.SetupFailed("open the target PID namespace");
    RequireSetnsNotFiltered(p, target.get());

    Barrier c_pid, parent_gone;
    if (!c_pid.ok() || !parent_gone.ok()) p.SetupFailed("pipes");
    ChildProcess parent = Spawn(0, [&] {
      p.Call("p.setns", setns(target.get(), CLONE_NEWPID));
      ChildProcess c = Spawn(0, [&] {
        parent_gone.CloseWriteEnd();
        parent_gone.Wait();
        p.Value("orphan.getppid", getppid());
        p.Value("orphan.getpid", RawGetpid());
        return 0;
      });
      RequireCreated(p, c, "fork of C");
      c_pid.Send(c.pid());
      (void)c.Release();
      return 0;
    });
    RequireCreated(p, parent, "fork of P");
    c_pid.CloseWriteEnd();
    parent_gone.CloseReadEnd();
    int64_t c = -1;
    if (!c_pid.Receive(&c)) p.SetupFailed("P did not report C's PID");
    parent.Wait();
    parent_gone.Signal();
    p.Call("t.waitpid_orphan", WaitFor(static_cast<pid_t>(c)));
    hold.CloseWriteEnd();
    ns_init.Wait();
    return 0;
  });
  RequireCreated(p, arena, "clone of the arena namespace's init");
  arena.Wait();
}

NSC_CASE({
    .id = "pid.orphan_goes_to_parents_ns_init",
    .title = "An orphan is adopted in its parent's PID namespace, which after setns() is not "
             "the orphan's own",
    .source = {"pid_namespaces(7)", "Adoption of orphaned children"},
    .references = {"setns(2), CLONE_NEWPID", "PR_SET_CHILD_SUBREAPER(2const)"},
    .observe = "T, the init of a PID namespace the case created (so the reaper of P's "
               "namespace, no subreaper needed), forks P; P calls setns() into the namespace of "
               "another init N and forks C; P exits. C's getppid() is 0 (its new parent T is "
               "outside C's namespace), not 1, and T reaps C",
    .control = "P calls setns() into its own PID namespace instead: C lives in T's namespace, so "
               "its new parent T is visible and getppid() is T's PID (1), contradicting "
               "orphan.getppid",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("p.setns", Succeeds()))},
    .expect = {Expect("orphan.getppid", Eq(0)), ExpectCall("t.waitpid_orphan", Succeeds()),
               Record("orphan.getpid")},
    .body = OrphanGoesToParentsNsInit,
});

// Flow (inside a new PID namespace):
//  1. The init forks S; S sets PR_SET_CHILD_SUBREAPER (control: clears it) and records its PID.
//  2. S forks X; X forks Y, sends Y's PID to S and exits without waiting for Y.
//  3. S reaps X, then tells Y to go on: Y records getppid(); S records waitpid(Y).
//  4. The init reaps S and anything left (in the control, Y is the init's).
void SubreaperPrecedesNsInit(const Probe& p) {
  ChildProcess init = Spawn(CLONE_NEWPID, [&] {
    ChildProcess s = Spawn(0, [&] {
      p.Call("subreaper.prctl", prctl(PR_SET_CHILD_SUBREAPER, p.control() ? 0 : 1));
      p.Value("subreaper.getpid", RawGetpid());
      Barrier y_pid, parent_gone;
      if (!y_pid.ok() || !parent_gone.ok()) p.SetupFailed("pipes");
      ChildProcess x = Spawn(0, [&] {
        ChildProcess y = Spawn(0, [&] {
          parent_gone.CloseWriteEnd();
          parent_gone.Wait();
          p.Value("orphan.getppid", getppid());
          return 0;
        });
        RequireCreated(p, y, "fork of Y");
        y_pid.Send(y.pid());
        (void)y.Release();
        return 0;
      });
      RequireCreated(p, x, "fork of X");
      y_pid.CloseWriteEnd();
      parent_gone.CloseReadEnd();
      int64_t y = -1;
      if (!y_pid.Receive(&y)) p.SetupFailed("X did not report Y's PID");
      x.Wait();
      parent_gone.Signal();
      p.Call("subreaper.waitpid_orphan", WaitFor(static_cast<pid_t>(y)));
      return 0;
    });
    RequireCreated(p, s, "fork of S");
    s.Wait();
    ReapAllChildren();
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  init.Wait();
}

NSC_CASE({
    .id = "pid.subreaper_precedes_ns_init",
    .title = "A nearer PR_SET_CHILD_SUBREAPER ancestor adopts an orphan instead of the "
             "namespace init",
    .source = {"pid_namespaces(7)", "Adoption of orphaned children"},
    .references = {"PR_SET_CHILD_SUBREAPER(2const)"},
    .observe = "Inside a new PID namespace, S (PID 2) sets the subreaper flag, S forks X, X forks "
               "Y, X exits: Y's getppid() is S's PID (2), not 1, and S reaps Y",
    .control = "S clears the subreaper flag instead: Y is adopted by the namespace init "
               "(getppid() 1) and S gets ECHILD, contradicting orphan.getppid and "
               "subreaper.waitpid_orphan",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 4}},
    .preconditions = {Given(ExpectCall("subreaper.prctl", Succeeds()))},
    .expect = {ExpectSameValue("orphan.getppid", "subreaper.getpid"),
               Expect("orphan.getppid", Ne(1)),
               ExpectCall("subreaper.waitpid_orphan", Succeeds())},
    .body = SubreaperPrecedesNsInit,
});

}  // namespace
}  // namespace nsc::cases
