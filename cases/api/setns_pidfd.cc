// Namespace API: setns(2) with a PID file descriptor (Linux 5.8) — several namespaces in one
// call, the nstype mask check, and a reaped target. Source: setns(2), 'fd is a PID file
// descriptor' and ERRORS.
#include "api_util.h"

namespace nsc::cases {
namespace {

// Flow: 1. a target child waits in new UTS, IPC and network namespaces (the control: in the
// body's); 2. a fresh child records its namespaces, calls
// setns(pidfd_open(target), CLONE_NEWUTS | CLONE_NEWIPC) and records them again.
void SetnsPidfdMulti(const Probe& p) {
  constexpr unsigned long kTargetFlags = CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
  api::ParkedChild target(p, p.Flags(kTargetFlags, kTargetFlags), [] {});
  p.NsId("target.uts", ProcPath(target.pid(), "ns/uts").c_str());
  p.NsId("target.ipc", ProcPath(target.pid(), "ns/ipc").c_str());
  p.NsId("target.net", ProcPath(target.pid(), "ns/net").c_str());
  UniqueFd pidfd(api::PidfdOpen(target.pid()));
  if (!pidfd.valid()) p.SetupFailed("pidfd_open of the target");
  ChildProcess joiner = Spawn(0, [&] {
    api::RecordBaseNsSet(p, "before");
    OperationCall(p, "setns", setns(pidfd.get(), CLONE_NEWUTS | CLONE_NEWIPC));
    api::RecordBaseNsSet(p, "after");
    return 0;
  });
  if (!joiner.ok()) p.SetupFailed("fork");
  joiner.Wait();
  target.Release();
}

NSC_CASE({
    .id = "api.setns_pidfd_multi",
    .title = "setns() with a pidfd joins every selected namespace of the target, and only those",
    .source = {"setns(2)", "fd is a PID file descriptor"},
    .references = {"pidfd_open(2)"},
    .observe = "the target has new UTS, IPC and network namespaces; after "
               "setns(pidfd, CLONE_NEWUTS|CLONE_NEWIPC) the caller's uts and ipc identities are "
               "the target's (and changed), while its net (not selected), mnt, pid and user "
               "identities are unchanged",
    .control = "the target stays in the body's namespaces: the caller's uts and ipc identities "
               "do not change (contradicts after.uts, after.ipc and target.net)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = api::kBaseNsFlags,
              .min_kernel = {5, 8}},
    .expect = {ExpectCall("setns", Succeeds()), ExpectSameNs("after.uts", "target.uts"),
               ExpectSameNs("after.ipc", "target.ipc"),
               ExpectDifferentNs("after.uts", "before.uts"),
               ExpectDifferentNs("after.ipc", "before.ipc"),
               ExpectDifferentNs("target.net", "before.net"),
               ExpectSameNs("after.net", "before.net"), ExpectSameNs("after.mnt", "before.mnt"),
               ExpectSameNs("after.pid", "before.pid"), ExpectSameNs("after.user", "before.user")},
    .body = SetnsPidfdMulti,
});

// Flow: setns(pidfd_open(self), 0) and setns(pidfd, CLONE_VM), a bit that is no namespace
// type (the control: CLONE_NEWUTS for both).
void SetnsPidfdZeroEinval(const Probe& p) {
  UniqueFd pidfd(api::PidfdOpen(RawGetpid()));
  if (!pidfd.valid()) p.SetupFailed("pidfd_open");
  p.Call("setns_zero", setns(pidfd.get(), p.Pick(0, CLONE_NEWUTS)));
  p.Call("setns_invalid_mask", setns(pidfd.get(), p.Pick(CLONE_VM, CLONE_NEWUTS)));
}

NSC_CASE({
    .id = "api.setns_pidfd_zero_einval",
    .title = "setns() with a pidfd and nstype 0 or a non-namespace bit fails with EINVAL",
    .source = {"setns(2)", "ERRORS"},
    .observe = "setns(pidfd, 0) and setns(pidfd, CLONE_VM) fail with EINVAL",
    .control = "nstype CLONE_NEWUTS: the call succeeds (root) or fails with EPERM, never EINVAL "
               "(contradicts both keys)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUTS, .min_kernel = {5, 8}},
    .expect = {ExpectCall("setns_zero", FailsWith(EINVAL)),
               ExpectCall("setns_invalid_mask", FailsWith(EINVAL))},
    .body = SetnsPidfdZeroEinval,
});

// Flow: 1. a child waits on a pipe; 2. pidfd_open(child); 3. SIGKILL and reap it (the control:
// leave it running); 4. setns(pidfd, CLONE_NEWUTS).
void SetnsPidfdReapedEsrch(const Probe& p) {
  Barrier release;
  if (!release.ok()) p.SetupFailed("pipe2");
  ChildProcess child = Spawn(0, [&] {
    release.CloseWriteEnd();
    release.Wait();
    return 0;
  });
  release.CloseReadEnd();
  if (!child.ok()) p.SetupFailed("fork");
  UniqueFd pidfd(api::PidfdOpen(child.pid()));
  if (!pidfd.valid()) p.SetupFailed("pidfd_open of the child");
  if (!p.control()) child.KillAndReap();
  OperationCallFailingWith(p, "setns_reaped", setns(pidfd.get(), CLONE_NEWUTS), ESRCH);
  release.CloseWriteEnd();  // EOF releases a living child; no SIGPIPE for a reaped one
  child.Wait();
}

NSC_CASE({
    .id = "api.setns_pidfd_reaped_esrch",
    .title = "setns() with the pidfd of a reaped process fails with ESRCH",
    .source = {"setns(2)", "ERRORS"},
    .references = {"pidfd_open(2)"},
    .observe = "pidfd_open(child), SIGKILL and waitpid the child, then setns(pidfd, CLONE_NEWUTS) "
               "fails with ESRCH",
    .control = "the child is left running: setns() succeeds (root) or fails with EPERM, never "
               "ESRCH (contradicts setns_reaped)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUTS, .min_kernel = {5, 8}},
    .expect = {ExpectCall("setns_reaped", FailsWith(ESRCH))},
    .body = SetnsPidfdReapedEsrch,
});

}  // namespace
}  // namespace nsc::cases
