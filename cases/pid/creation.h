// Attribution of a failed process creation in the PID-namespace cases (issue 8: a set-up step
// that a filter refuses is never FAIL). Creating the processes a case needs — a namespace init
// with clone(CLONE_NEWPID), a member with fork() — is set-up: the harness has already admitted
// the case (CLONE_NEWPID exists, the caller holds CAP_SYS_ADMIN over its namespaces), so a
// refusal under a seccomp filter is the filter's (SKIP BLOCKED_BY_SECCOMP, like the harness's
// own CLONE_NEWUSER probe), and anything else is ERROR SETUP_FAILED. Only rules whose
// operation under test is the creation itself (pid.nesting_limit_enospc,
// pid.newpid_with_thread_einval, ...) record the call instead.
#pragma once

#include <cerrno>
#include <cstdint>

#include "nsconform/child.h"

namespace nsc::cases {

// Stops the case unless `child` was created (call it right after Spawn, errno intact).
inline void RequireCreated(const Probe& p, const ChildProcess& child, const char* what) {
  if (child.ok()) return;
  const int err = errno;
  int64_t seccomp_mode = 0;
  if (ReadStatusIds(0, "Seccomp", &seccomp_mode, 1) == 1 && seccomp_mode == 2) {
    p.Skip(ReasonCode::kBlockedBySeccomp,
           "creating a process of the case was refused under a seccomp filter");
  }
  errno = err;
  p.SetupFailed(what);
}

}  // namespace nsc::cases
