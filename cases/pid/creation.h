// Attribution of a failed process creation in the PID-namespace cases (issue 8: a set-up step
// that a filter refuses is never FAIL). Creating the processes a case needs — a namespace init
// with clone(CLONE_NEWPID), a member with fork() — is set-up: the harness has already admitted
// the case (CLONE_NEWPID exists, the caller holds CAP_SYS_ADMIN over its namespaces), so a
// refusal under a seccomp filter is the filter's (SKIP BLOCKED_BY_SECCOMP, like the harness's
// own CLONE_NEWUSER probe), and anything else is ERROR SETUP_FAILED. Only rules whose
// operation under test is the creation itself (pid.nesting_limit_enospc,
// pid.newpid_with_thread_einval, ...) record the call instead.
#pragma once

#include <sched.h>

#include <cerrno>
#include <cstdint>

#include "nsconform/child.h"

namespace nsc::cases {

// True when the caller runs under a seccomp filter ("Seccomp: 2" in /proc/self/status).
inline bool UnderSeccompFilter() {
  int64_t seccomp_mode = 0;
  return ReadStatusIds(0, "Seccomp", &seccomp_mode, 1) == 1 && seccomp_mode == 2;
}

// Stops the case unless `child` was created (call it right after Spawn, errno intact).
inline void RequireCreated(const Probe& p, const ChildProcess& child, const char* what) {
  if (child.ok()) return;
  const int err = errno;
  if (UnderSeccompFilter()) {
    p.Skip(ReasonCode::kBlockedBySeccomp,
           "creating a process of the case was refused under a seccomp filter");
  }
  errno = err;
  p.SetupFailed(what);
}

// The positive arm of the rules about setns(CLONE_NEWPID): a child joins `ns_fd`, a PID
// namespace the case created and may join (its own arena, or a live descendant). If that is
// refused under a seccomp filter, the case stops with SKIP BLOCKED_BY_SECCOMP: a later setns()
// result would be the filter's, not the kernel's. Without a filter nothing is skipped, so a
// kernel that refuses is still judged by the rule.
inline void RequireSetnsNotFiltered(const Probe& p, int ns_fd) {
  ChildProcess probe = Spawn(0, [&] { return setns(ns_fd, CLONE_NEWPID) == 0 ? 0 : 1; });
  RequireCreated(p, probe, "fork of the setns probe");
  if (ExitedWith(probe.Wait(), 0) || !UnderSeccompFilter()) return;
  p.Skip(ReasonCode::kBlockedBySeccomp,
         "setns(CLONE_NEWPID) into a PID namespace the case created is refused under a seccomp "
         "filter");
}

}  // namespace nsc::cases
