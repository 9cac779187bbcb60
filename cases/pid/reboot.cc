// PID namespaces: reboot(2) inside a non-initial PID namespace terminates the namespace init
// (SIGHUP for restart, SIGINT for halt/power-off), refuses other commands (EINVAL) and needs
// CAP_SYS_BOOT. Sources: reboot(2), 'Behavior inside PID namespaces' and ERRORS;
// pid_namespaces(7), 'The namespace "init" process'.
//
// DANGER: reboot() in the initial PID namespace reboots (or reconfigures) the machine. Every
// body first proves that the PID-namespace guard works here (RequireWorkingGuard: a stable
// identity, and a guard that refuses in the harness's own namespace), and every process that
// calls reboot() first passes RequireOutsideHarnessPidNs (cases/pid/pidns_guard.h); either
// failing stops the case with ERROR before the call. No control removes the PID namespace:
// each one changes another factor (the command, or the capability) and still calls reboot()
// only inside a new PID namespace, behind the same guard.
//
// reboot(RESTART or HALT) that succeeds inside a PID namespace does not return: the caller
// exits (kernel/reboot.c, reboot_pid_ns(): the init is sent the signal, then do_exit(0)). The
// member therefore reports its result over a pipe; a member that never reported, in a namespace
// whose init was killed by a signal, is recorded as a call that did not fail (ret 0), with
// member.returned_from_reboot = 0 beside it.
#include <linux/capability.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsconform/case.h"
#include "creation.h"
#include "pidns_guard.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

struct RebootPlan {
  const char* prefix;        // key prefix: "" for the rule's own namespace, "with_cap." ...;
                             // nullptr: record nothing (the seccomp probe)
  unsigned int cmd;          // NSC_LINUX_REBOOT_CMD_*
  bool drop_cap_sys_boot;    // the member drops CAP_SYS_BOOT before the call
};

// Flow (the body has already called RequireWorkingGuard and holds `harness`):
//  1. clone(CLONE_NEWPID): the init forks a member M and waits for it.
//  2. M passes the guard (or stops with ERROR); if asked, drops CAP_SYS_BOOT (capset). M
//     records whether CAP_SYS_BOOT is effective; where it is not as the plan needs, the case
//     stops (SKIP without the capability, ERROR if the drop did not take). M calls
//     reboot(plan.cmd) and, if the call returns, sends its result to the body.
//  3. The body reaps the init, records the signal that ended it, and records reboot()'s
//     result (see the top of this file for a call that did not return).
// Returns the signal that killed the init (0 if none).
int64_t RebootFromNamespaceMember(const Probe& p, const PidNsIdentity& harness,
                                  const RebootPlan& plan) {
  const bool record = plan.prefix != nullptr;
  const char* prefix = record ? plan.prefix : "";
  const PathBuf killed_key = PathBuf(prefix).Add("init.killed_by");
  const PathBuf reboot_key = PathBuf(prefix).Add("member.reboot");
  const PathBuf returned_key = PathBuf(prefix).Add("member.returned_from_reboot");
  const PathBuf cap_key = PathBuf(prefix).Add("member.cap_sys_boot_effective");
  Barrier result;
  if (!result.ok()) p.SetupFailed("pipe");

  ChildProcess init = Spawn(CLONE_NEWPID, [&] {
    result.CloseReadEnd();
    ChildProcess member = Spawn(0, [&] {
      RequireOutsideHarnessPidNs(p, harness);
      if (plan.drop_cap_sys_boot) {
        NSC_SETUP(p, DropCapability(CAP_SYS_BOOT), "drop CAP_SYS_BOOT (capset)");
      }
      const int cap = HasEffectiveCapability(CAP_SYS_BOOT);
      if (record) p.Value(cap_key.c_str(), cap);
      if (plan.drop_cap_sys_boot && cap != 0) {
        errno = 0;
        p.SetupFailed("CAP_SYS_BOOT is still effective after dropping it");
      }
      if (!plan.drop_cap_sys_boot && cap != 1) {
        p.Skip(ReasonCode::kInsufficientPrivilege,
               "CAP_SYS_BOOT is not effective in the namespace member (dropped by the runtime?)");
      }
      const long r = syscall(SYS_reboot, NSC_LINUX_REBOOT_MAGIC1, NSC_LINUX_REBOOT_MAGIC2,
                             plan.cmd, nullptr);
      const int err = errno;
      result.Send(r);
      result.Send(err);
      return 0;
    });
    RequireCreated(p, member, "fork of the member");
    member.Wait();  // an init killed by reboot() dies while waiting here
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  result.CloseWriteEnd();
  const int64_t killed_by = TermSignalOf(init.Wait());
  if (!record) return killed_by;
  p.Value(killed_key.c_str(), killed_by);
  // The init's parent hears of its death only once every member is gone: the pipe is settled.
  int64_t ret = 0, err = 0;
  if (result.Receive(&ret) && result.Receive(&err)) {
    p.Value(returned_key.c_str(), 1);
    errno = static_cast<int>(err);
    p.Call(reboot_key.c_str(), ret);
  } else if (killed_by != 0) {
    p.Value(returned_key.c_str(), 0);
    p.Note("reboot() did not return: the member exited in it and the init was killed");
    errno = 0;
    p.Call(reboot_key.c_str(), 0);
  } else {
    errno = 0;
    p.SetupFailed("the member ended without reporting reboot()'s result");
  }
  return killed_by;
}

// Under a seccomp filter (container runtimes filter reboot(2)), first a probe in a scratch PID
// namespace: a member holding CAP_SYS_BOOT calls reboot(RESTART), which must kill that
// namespace's init. If it does not, the filter refused the call: SKIP BLOCKED_BY_SECCOMP, since
// every later result would be the filter's. Without a filter nothing is probed.
void RequireRebootNotFiltered(const Probe& p, const PidNsIdentity& harness) {
  if (!UnderSeccompFilter()) return;
  if (RebootFromNamespaceMember(p, harness, {nullptr, NSC_LINUX_REBOOT_CMD_RESTART, false}) !=
      SIGHUP) {
    p.Skip(ReasonCode::kBlockedBySeccomp,
           "reboot(2) with CAP_SYS_BOOT in a PID namespace of the case is refused under a "
           "seccomp filter");
  }
}

void RebootRestartSighup(const Probe& p) {
  const PidNsIdentity harness = RequireWorkingGuard(p);
  RequireRebootNotFiltered(p, harness);
  RebootFromNamespaceMember(
      p, harness,
      {"", p.Pick(NSC_LINUX_REBOOT_CMD_RESTART, NSC_LINUX_REBOOT_CMD_HALT), false});
}

NSC_CASE({
    .id = "pid.reboot_restart_sighup",
    .title = "reboot(RESTART) in a non-initial PID namespace kills its init, reported as SIGHUP",
    .source = {"reboot(2)", "Behavior inside PID namespaces"},
    .references = {"pid_namespaces(7), The namespace \"init\" process",
                   "rules.md record list item 10 (the caller's fate)"},
    .observe = "A member of a new PID namespace, after a run-time check that its PID namespace "
               "differs from the harness's and /proc/1's (the guard is self-tested first and "
               "fails closed), calls reboot(LINUX_REBOOT_CMD_RESTART); the init's parent sees it "
               "killed by SIGHUP. Whether the caller returned is recorded",
    .control = "the member calls reboot(LINUX_REBOOT_CMD_HALT) instead (same namespace, same "
               "guard): the init is killed by SIGINT, contradicting init.killed_by",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 4}},
    .expect = {Expect("init.killed_by", Eq(SIGHUP)), Record("member.reboot"),
               Record("member.returned_from_reboot"), Record("member.cap_sys_boot_effective")},
    .body = RebootRestartSighup,
});

void RebootHaltSigint(const Probe& p) {
  const PidNsIdentity harness = RequireWorkingGuard(p);
  RequireRebootNotFiltered(p, harness);
  RebootFromNamespaceMember(
      p, harness,
      {"", p.Pick(NSC_LINUX_REBOOT_CMD_HALT, NSC_LINUX_REBOOT_CMD_RESTART), false});
}

NSC_CASE({
    .id = "pid.reboot_halt_sigint",
    .title = "reboot(HALT) in a non-initial PID namespace kills its init, reported as SIGINT",
    .source = {"reboot(2)", "Behavior inside PID namespaces"},
    .references = {"rules.md record list item 10 (the caller's fate)"},
    .observe = "As pid.reboot_restart_sighup with LINUX_REBOOT_CMD_HALT, behind the same run-time "
               "PID-namespace guard: the init's parent sees it killed by SIGINT",
    .control = "the member calls reboot(LINUX_REBOOT_CMD_RESTART) instead (same namespace, same "
               "guard): the init is killed by SIGHUP, contradicting init.killed_by",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 4}},
    .expect = {Expect("init.killed_by", Eq(SIGINT)), Record("member.reboot"),
               Record("member.returned_from_reboot"), Record("member.cap_sys_boot_effective")},
    .body = RebootHaltSigint,
});

void RebootOtherCmdEinval(const Probe& p) {
  const PidNsIdentity harness = RequireWorkingGuard(p);
  RequireRebootNotFiltered(p, harness);
  RebootFromNamespaceMember(p, harness, {"", NSC_LINUX_REBOOT_CMD_CAD_OFF, p.control()});
}

NSC_CASE({
    .id = "pid.reboot_other_cmd_einval",
    .title = "Inside a non-initial PID namespace, other reboot() commands fail with EINVAL",
    .source = {"reboot(2)", "Behavior inside PID namespaces"},
    .references = {"rules.md record list item 10 (only CAD_OFF is checked)"},
    .observe = "Behind the run-time PID-namespace guard, a member holding CAP_SYS_BOOT calls "
               "reboot(LINUX_REBOOT_CMD_CAD_OFF): it fails with EINVAL (the init's fate is "
               "recorded)",
    .control = "the member drops CAP_SYS_BOOT before the same call (same namespace, same guard): "
               "the command is never looked at and reboot() fails with EPERM, contradicting "
               "member.reboot",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 4}},
    .expect = {ExpectCall("member.reboot", FailsWith(EINVAL)), Record("init.killed_by"),
               Record("member.returned_from_reboot"), Record("member.cap_sys_boot_effective")},
    .body = RebootOtherCmdEinval,
});

// Flow: 1. the positive arm: in one PID namespace, a member WITH CAP_SYS_BOOT calls
// reboot(RESTART), which kills that namespace's init (SIGHUP); 2. in a second PID namespace, a
// member that dropped CAP_SYS_BOOT (kept in the control) calls reboot(RESTART).
void RebootRequiresCapSysBoot(const Probe& p) {
  const PidNsIdentity harness = RequireWorkingGuard(p);
  RequireRebootNotFiltered(p, harness);
  RebootFromNamespaceMember(p, harness, {"with_cap.", NSC_LINUX_REBOOT_CMD_RESTART, false});
  RebootFromNamespaceMember(p, harness, {"", NSC_LINUX_REBOOT_CMD_RESTART, !p.control()});
}

NSC_CASE({
    .id = "pid.reboot_requires_cap_sys_boot",
    .title = "Without CAP_SYS_BOOT in its user namespace, reboot() fails with EPERM",
    .source = {"reboot(2)", "ERRORS"},
    .observe = "First, in one new PID namespace, a member holding CAP_SYS_BOOT calls "
               "reboot(LINUX_REBOOT_CMD_RESTART) and its init is killed by SIGHUP (so reboot() "
               "is not forbidden here for other reasons). Then, in a second one, a member drops "
               "CAP_SYS_BOOT with capset and makes the same call: EPERM, and the init survives. "
               "Every call is behind the run-time PID-namespace guard",
    .control = "the second member keeps CAP_SYS_BOOT: reboot() acts (it does not return, "
               "recorded as a call that did not fail) and the init is killed by SIGHUP, "
               "contradicting member.reboot and init.killed_by",
    .needs = {.privilege = Privilege::kNocap,
              .namespaces = CLONE_NEWPID,
              .min_kernel = {3, 4},
              .needs_userns = true},
    .preconditions = {Given(Expect("with_cap.init.killed_by", Eq(SIGHUP)),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("member.reboot", FailsWith(EPERM)), Expect("init.killed_by", Eq(0)),
               Record("member.returned_from_reboot"), Record("member.cap_sys_boot_effective"),
               Record("with_cap.member.reboot"), Record("with_cap.member.returned_from_reboot"),
               Record("with_cap.member.cap_sys_boot_effective")},
    .body = RebootRequiresCapSysBoot,
});

}  // namespace
}  // namespace nsc::cases
