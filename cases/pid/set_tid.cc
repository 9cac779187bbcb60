// PID namespaces: choosing PIDs with the clone3() set_tid array — a namespace being created
// can only get PID 1, the array may not be longer than the nesting, a PID in use is EEXIST,
// and a caller without the capability gets EPERM.
// Source: clone(2), 'The set_tid array' and ERRORS.
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "nsconform/case.h"
#include "creation.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

// clone3() with fork semantics (no CLONE_VM, no new stack) and the given set_tid array. The
// child runs `fn` and _exit()s with its result; on failure the ChildProcess is !ok() and
// errno is set. ENOSYS (a seccomp filter, or no clone3) skips the case.
ChildProcess Clone3WithSetTid(const Probe& p, uint64_t flags, const pid_t* set_tid,
                              uint64_t set_tid_size, FunctionRef<int()> fn) {
  struct clone_args args {};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uintptr_t>(set_tid);
  args.set_tid_size = set_tid_size;
  const long r = syscall(SYS_clone3, &args, sizeof args);
  if (r == 0) _exit(fn());
  if (r == -1 && errno == ENOSYS) {
    p.Skip(ReasonCode::kBlockedBySeccomp, "clone3() returns ENOSYS on a kernel that has it");
  }
  return ChildProcess(static_cast<pid_t>(r));
}

// The body of a child that should never have been created.
constexpr auto kExitAtOnce = [] { return 0; };

// Flow:
//  1. clone3({.flags = CLONE_NEWPID, .set_tid = {5}, .set_tid_size = 1}): EINVAL, the new
//     namespace has no init yet (the control asks for {1}, which is allowed).
//  2. clone3 with set_tid {1}: succeeds, and the child's getpid() is 1.
void SetTidFirstMustBe1(const Probe& p) {
  const pid_t not_one[] = {p.Pick<pid_t>(5, 1)};
  ChildProcess refused = Clone3WithSetTid(p, CLONE_NEWPID, not_one, 1, kExitAtOnce);
  p.Call("clone3.set_tid_5", refused.pid());
  refused.Wait();
  const pid_t one[] = {1};
  ChildProcess init = Clone3WithSetTid(p, CLONE_NEWPID, one, 1, [&] {
    p.Value("init.getpid", RawGetpid());
    return 0;
  });
  p.Call("clone3.set_tid_1", init.pid());
  if (!init.ok()) p.Value("init.getpid", -1);
  init.Wait();
}

NSC_CASE({
    .id = "pid.set_tid_first_must_be_1",
    .title = "clone3 set_tid: in a namespace being created the requested PID must be 1",
    .source = {"clone(2)", "The set_tid array"},
    .observe = "clone3({.flags = CLONE_NEWPID, .set_tid = {5}, .set_tid_size = 1}) returns -1 "
               "with EINVAL, while set_tid {1} succeeds and the child's getpid() is 1",
    .control = "the first call asks for {1} as well: it succeeds, so the expected EINVAL is "
               "missing, contradicting clone3.set_tid_5",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {5, 5}},
    .expect = {ExpectCall("clone3.set_tid_5", FailsWith(EINVAL)),
               ExpectCall("clone3.set_tid_1", Succeeds()), Expect("init.getpid", Eq(1))},
    .body = SetTidFirstMustBe1,
});

// A free PID in a fresh namespace that holds only PIDs 1 and 2.
constexpr pid_t kFreePid = 100;

// Flow:
//  1. clone3(CLONE_NEWPID) with set_tid_size 40 (> 32 levels): EINVAL (the control passes
//     size 1 with {1}, which succeeds).
//  2. EEXIST: an init I (clone with CLONE_NEWPID) forks member M (PID 2) and, while M lives,
//     calls clone3 with set_tid {2} in its own namespace (the control asks for a free PID).
//  3. EPERM: another init J first asks, with its capabilities, for set_tid {101}, a free PID
//     of its own namespace (the positive arm: it succeeds); then J drops every capability with
//     capset (kept in the control) and calls clone3 with set_tid {100}, another free PID.
void SetTidSizeBounds(const Probe& p) {
  pid_t many[40];
  for (pid_t& tid : many) tid = 1;
  const uint64_t size = p.Pick<uint64_t>(40, 1);
  ChildProcess too_long = Clone3WithSetTid(p, CLONE_NEWPID, many, size, kExitAtOnce);
  p.Call("clone3.set_tid_size_40", too_long.pid());
  too_long.Wait();

  ChildProcess init = Spawn(CLONE_NEWPID, [&] {
    Barrier release;
    if (!release.ok()) p.SetupFailed("pipe");
    ChildProcess member = Spawn(0, [&] {
      release.CloseWriteEnd();
      release.Wait();
      return 0;
    });
    RequireCreated(p, member, "fork of PID 2");
    const pid_t in_use[] = {p.Pick<pid_t>(2, kFreePid)};
    ChildProcess clash = Clone3WithSetTid(p, 0, in_use, 1, kExitAtOnce);
    p.Call("init.clone3_pid_in_use", clash.pid());
    clash.Wait();
    release.Signal();
    member.Wait();
    return 0;
  });
  RequireCreated(p, init, "clone(CLONE_NEWPID)");
  init.Wait();

  ChildProcess nocap = Spawn(CLONE_NEWPID, [&] {
    // The positive arm: with its capabilities, J may choose a free PID of its namespace.
    const pid_t other_free_pid[] = {kFreePid + 1};
    ChildProcess allowed = Clone3WithSetTid(p, 0, other_free_pid, 1, kExitAtOnce);
    p.Call("with_caps.clone3_set_tid", allowed.pid());
    allowed.Wait();
    if (!p.control()) {
      NSC_SETUP(p, DropAllCapabilities(), "capset dropping all capabilities");
      if (HasEffectiveCapability(CAP_SYS_ADMIN) != 0) {
        errno = 0;
        p.SetupFailed("CAP_SYS_ADMIN still effective after dropping every capability");
      }
    }
    const pid_t free_pid[] = {kFreePid};
    ChildProcess chosen = Clone3WithSetTid(p, 0, free_pid, 1, kExitAtOnce);
    p.Call("nocap.clone3_set_tid", chosen.pid());
    chosen.Wait();
    return 0;
  });
  RequireCreated(p, nocap, "clone(CLONE_NEWPID)");
  nocap.Wait();
}

NSC_CASE({
    .id = "pid.set_tid_size_bounds",
    .title = "clone3 set_tid: size bounded by the nesting (EINVAL), a PID in use is EEXIST, no "
             "capability is EPERM",
    .source = {"clone(2)", "The set_tid array"},
    .references = {"clone(2), ERRORS"},
    .observe = "set_tid_size = 40 returns EINVAL; inside a new namespace, asking for the PID "
               "of a live process (2) returns EEXIST; a namespace init that may choose a free PID "
               "with its capabilities (101: it succeeds) gets EPERM for another free PID (100) "
               "once it has dropped all capabilities",
    .control = "set_tid_size 1 with {1}, a free PID instead of the live one, and capabilities "
               "kept: all three clone3 calls succeed, contradicting each of the three keys",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {5, 5}},
    .preconditions = {Given(ExpectCall("with_caps.clone3_set_tid", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("clone3.set_tid_size_40", FailsWith(EINVAL)),
               ExpectCall("init.clone3_pid_in_use", FailsWith(EEXIST)),
               ExpectCall("nocap.clone3_set_tid", FailsWith(EPERM))},
    .body = SetTidSizeBounds,
});

}  // namespace
}  // namespace nsc::cases
