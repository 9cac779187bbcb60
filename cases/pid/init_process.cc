// PID namespaces: the namespace "init" process — who is PID 1, who its parent is, where
// PIDs start. Source: pid_namespaces(7), 'The namespace "init" process'.
#include "nsconform/case.h"
#include "creation.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;

// Flow: clone(CLONE_NEWPID); the child records getpid(); the parent records clone's result.
void InitIsPid1(const Probe& p) {
  ChildProcess child = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    p.Value("child.getpid", RawGetpid());
    return 0;
  });
  RequireCreated(p, child, "clone of the child");
  p.Call("parent.clone", child.pid());
  child.Wait();
}

NSC_CASE({
    .id = "pid.init_is_pid1",
    .title = "The first process created in a new PID namespace has PID 1 there",
    .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
    .observe = "clone(CLONE_NEWPID): the child's getpid() is 1; the parent's clone() returns "
               "the child's PID in the parent namespace, greater than 1",
    .control = "clone without CLONE_NEWPID: the child gets an ordinary PID, not 1, "
               "contradicting child.getpid",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .expect = {Expect("child.getpid", Eq(1)), ExpectCall("parent.clone", SucceedsWith(Gt(1)))},
    .body = InitIsPid1,
});

// Flow: clone(CLONE_NEWPID); the child records getppid().
void GetppidZeroForInit(const Probe& p) {
  ChildProcess child = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    p.Value("init.getppid", getppid());
    return 0;
  });
  RequireCreated(p, child, "clone of the child");
  p.Call("clone", child.pid());
  child.Wait();
}

NSC_CASE({
    .id = "pid.getppid_zero_for_init",
    .title = "getppid() in a namespace init returns 0: its parent is in another PID namespace",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .references = {"getpid(2), NOTES"},
    .observe = "clone(CLONE_NEWPID): the child's getppid() is 0",
    .control = "clone without CLONE_NEWPID: the parent is visible, getppid() is its PID, "
               "contradicting init.getppid",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {2, 6, 24}},
    .preconditions = {Given(ExpectCall("clone", Succeeds()), ReasonCode::kPreconditionUnmet)},
    .expect = {Expect("init.getppid", Eq(0))},
    .body = GetppidZeroForInit,
});

}  // namespace
}  // namespace nsc::cases
