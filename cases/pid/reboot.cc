// PID namespaces: reboot(2) inside a non-initial PID namespace terminates the namespace init
// (SIGHUP for restart, SIGINT for halt/power-off), refuses other commands (EINVAL) and needs
// CAP_SYS_BOOT. Sources: reboot(2), 'Behavior inside PID namespaces' and ERRORS;
// pid_namespaces(7), 'The namespace "init" process'.
//
// DANGER: reboot() in the initial PID namespace reboots (or reconfigures) the machine. Every
// call below is made only by a process that has just verified at run time, with
// OutsideHarnessPidNs() (cases/pid/pidns_guard.h), that its PID namespace differs from the
// harness's (recorded by the body first thing) and from /proc/1's — and never on the control
// path, whatever the guard says. Each body also records that the guard refuses in the
// harness's own namespace, so every run tests the guard itself.
#include <linux/capability.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsconform/case.h"
#include "pidns_guard.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

struct RebootPlan {
  unsigned long clone_flags;  // CLONE_NEWPID, or 0 in a control that drops the namespace
  unsigned int cmd;           // NSC_LINUX_REBOOT_CMD_*
  bool drop_cap_sys_boot;     // the member drops CAP_SYS_BOOT before the call
};

// Flow:
//  0. The body records the harness's PID namespace and that the guard refuses there.
//  1. clone(plan.clone_flags): the init forks a member M and waits for it.
//  2. M checks the guard and records the result; if asked, drops CAP_SYS_BOOT (capset) and
//     records whether it is still effective. Only if the guard passed, this is not the control
//     and (when dropping) the capability is really gone, M calls reboot(plan.cmd) and records
//     its result and that it returned; otherwise it records that the call was not made.
//  3. The body reaps the init and records the signal that ended it, and whether M came back
//     from reboot() (a byte on a pipe; EOF if M never returned).
void RebootFromNamespaceMember(const Probe& p, const RebootPlan& plan) {
  const PidNsIdentity harness = HarnessPidNs();
  if (!harness.known) p.SetupFailed("stat /proc/self/ns/pid of the harness");
  p.Value("parent.guard_refuses_in_harness_ns", OutsideHarnessPidNs(harness) ? 0 : 1);
  Barrier returned;
  if (!returned.ok()) p.SetupFailed("pipe");

  ChildProcess init = Spawn(plan.clone_flags, [&] {
    returned.CloseReadEnd();
    ChildProcess member = Spawn(0, [&] {
      const bool guard = OutsideHarnessPidNs(harness);
      p.Value("member.guard_passed", guard ? 1 : 0);
      if (plan.drop_cap_sys_boot) {
        NSC_SETUP(p, DropCapability(CAP_SYS_BOOT), "drop CAP_SYS_BOOT (capset)");
      }
      const int64_t cap = HasEffectiveCapability(CAP_SYS_BOOT);
      p.Value("member.cap_sys_boot_effective", cap);
      if (guard && !p.control() && (!plan.drop_cap_sys_boot || cap == 0)) {
        long r = syscall(SYS_reboot, NSC_LINUX_REBOOT_MAGIC1, NSC_LINUX_REBOOT_MAGIC2, plan.cmd,
                         nullptr);
        p.Call("member.reboot", r);
        returned.Signal();
      } else {
        p.Text("member.reboot", p.control()
                                    ? "not called: the control never calls reboot()"
                                    : "not called: the PID namespace guard (or the capability "
                                      "drop) did not pass");
      }
      return 0;
    });
    if (!member.ok()) p.SetupFailed("fork of the member");
    member.Wait();  // in the rule the init is killed while waiting here
    return 0;
  });
  if (!init.ok()) p.SetupFailed("clone of the namespace init");
  returned.CloseWriteEnd();
  p.Value("init.killed_by", TermSignalOf(init.Wait()));
  // The init's parent is told of its death only once every member is gone: no writer is left.
  p.Value("member.returned_from_reboot", returned.Wait() ? 1 : 0);
}

void RebootRestartSighup(const Probe& p) {
  RebootFromNamespaceMember(
      p, {p.Flags(CLONE_NEWPID, CLONE_NEWPID), NSC_LINUX_REBOOT_CMD_RESTART, false});
}

NSC_CASE({
    .id = "pid.reboot_restart_sighup",
    .title = "reboot(RESTART) in a non-initial PID namespace kills its init, reported as SIGHUP",
    .source = {"reboot(2)", "Behavior inside PID namespaces"},
    .references = {"pid_namespaces(7), The namespace \"init\" process",
                   "rules.md record list item 10 (the caller's fate)"},
    .observe = "A member of a new PID namespace, after a run-time check that its PID namespace "
               "differs from the harness's and /proc/1's, calls reboot(LINUX_REBOOT_CMD_RESTART); "
               "the init's parent sees it killed by SIGHUP. Whether the caller returned is "
               "recorded",
    .control = "clone without CLONE_NEWPID, and reboot() is never called on the control path: "
               "the guard refuses (the member is in the harness's namespace) and the 'init' exits "
               "normally",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 4}},
    .expect = {Expect("parent.guard_refuses_in_harness_ns", Eq(1)),
               Expect("member.guard_passed", Eq(1)), Expect("init.killed_by", Eq(SIGHUP)),
               Record("member.reboot"), Record("member.returned_from_reboot"),
               Record("member.cap_sys_boot_effective")},
    .body = RebootRestartSighup,
});

void RebootHaltSigint(const Probe& p) {
  RebootFromNamespaceMember(p,
                            {p.Flags(CLONE_NEWPID, CLONE_NEWPID), NSC_LINUX_REBOOT_CMD_HALT, false});
}

NSC_CASE({
    .id = "pid.reboot_halt_sigint",
    .title = "reboot(HALT) in a non-initial PID namespace kills its init, reported as SIGINT",
    .source = {"reboot(2)", "Behavior inside PID namespaces"},
    .references = {"rules.md record list item 10 (the caller's fate)"},
    .observe = "As pid.reboot_restart_sighup with LINUX_REBOOT_CMD_HALT, behind the same run-time "
               "PID-namespace guard: the init's parent sees it killed by SIGINT",
    .control = "clone without CLONE_NEWPID, and reboot() is never called on the control path: "
               "the guard refuses and the 'init' exits normally",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 4}},
    .expect = {Expect("parent.guard_refuses_in_harness_ns", Eq(1)),
               Expect("member.guard_passed", Eq(1)), Expect("init.killed_by", Eq(SIGINT)),
               Record("member.reboot"), Record("member.returned_from_reboot"),
               Record("member.cap_sys_boot_effective")},
    .body = RebootHaltSigint,
});

void RebootOtherCmdEinval(const Probe& p) {
  RebootFromNamespaceMember(
      p, {p.Flags(CLONE_NEWPID, CLONE_NEWPID), NSC_LINUX_REBOOT_CMD_CAD_OFF, false});
}

NSC_CASE({
    .id = "pid.reboot_other_cmd_einval",
    .title = "Inside a non-initial PID namespace, other reboot() commands fail with EINVAL",
    .source = {"reboot(2)", "Behavior inside PID namespaces"},
    .references = {"rules.md record list item 10 (only CAD_OFF is checked)"},
    .observe = "Behind the run-time PID-namespace guard, a member calls "
               "reboot(LINUX_REBOOT_CMD_CAD_OFF): it fails with EINVAL (the init's fate is "
               "recorded)",
    .control = "clone without CLONE_NEWPID, and reboot() is never called on the control path "
               "(in the initial namespace CAD_OFF would change a host setting): the guard "
               "refuses and no EINVAL is observed",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 4}},
    .expect = {Expect("parent.guard_refuses_in_harness_ns", Eq(1)),
               Expect("member.guard_passed", Eq(1)),
               ExpectCall("member.reboot", FailsWith(EINVAL)), Record("init.killed_by"),
               Record("member.returned_from_reboot"), Record("member.cap_sys_boot_effective")},
    .body = RebootOtherCmdEinval,
});

void RebootRequiresCapSysBoot(const Probe& p) {
  RebootFromNamespaceMember(p, {CLONE_NEWPID, NSC_LINUX_REBOOT_CMD_RESTART, !p.control()});
}

NSC_CASE({
    .id = "pid.reboot_requires_cap_sys_boot",
    .title = "Without CAP_SYS_BOOT in its user namespace, reboot() fails with EPERM",
    .source = {"reboot(2)", "ERRORS"},
    .observe = "In a new PID namespace (inside a user namespace when not real root), a member "
               "drops CAP_SYS_BOOT with capset, checks it is no longer effective and that it is "
               "not in the harness's PID namespace, then calls reboot(LINUX_REBOOT_CMD_RESTART): "
               "EPERM, and the init survives",
    .control = "the member keeps CAP_SYS_BOOT; reboot() is never called on the control path (with "
               "the capability it would succeed), so no EPERM is observed and the capability is "
               "seen effective",
    .needs = {.privilege = Privilege::kNocap,
              .namespaces = CLONE_NEWPID,
              .min_kernel = {3, 4},
              .needs_userns = true},
    .expect = {Expect("parent.guard_refuses_in_harness_ns", Eq(1)),
               Expect("member.guard_passed", Eq(1)),
               Expect("member.cap_sys_boot_effective", Eq(0)),
               ExpectCall("member.reboot", FailsWith(EPERM)), Expect("init.killed_by", Eq(0)),
               Record("member.returned_from_reboot")},
    .body = RebootRequiresCapSysBoot,
});

}  // namespace
}  // namespace nsc::cases
