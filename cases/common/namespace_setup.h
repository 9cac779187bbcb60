// Set-up attribution for case bodies (async-signal-safe): a namespace-creating set-up step that
// fails stops the case as SKIP or ERROR, never as a verdict. Used by the mnt, uts, ipc and net
// groups; TODO(vocabulary): move into include/nsconform/child.h for every group.
#pragma once

#include <cerrno>
#include <cstdint>

#include "nsconform/case.h"

namespace nsc::cases {

// 1 when a seccomp filter is installed on the caller (/proc/self/status "Seccomp: 2"), 0 when
// none is, -1 when that cannot be read.
inline int SeccompFiltered() {
  int64_t mode = -1;
  if (ReadStatusIds(0, "Seccomp", &mode, 1) != 1) return -1;
  return mode == 2 ? 1 : 0;
}

// A clone/unshare that only sets the stage by creating a namespace failed with `err`. The
// harness admitted the case (privilege and namespace type are there), so under a seccomp filter
// the filter refused it (SKIP BLOCKED_BY_SECCOMP, whatever errno it chose); ENOSPC/EUSERS
// without one is the namespace-count limit (SKIP DISABLED_BY_SYSCTL); anything else is ERROR
// SETUP_FAILED. Never a verdict, and never a missing observation.
// TODO(vocabulary/harness): probe each CLONE_NEW* flag at admission instead.
[[noreturn]] inline void NamespaceSetupFailed(const Probe& p, int err, const char* what) {
  if (SeccompFiltered() == 1) p.Skip(ReasonCode::kBlockedBySeccomp, what);
  if (err == ENOSPC || err == EUSERS) p.Skip(ReasonCode::kDisabledBySysctl, what);
  errno = err;
  p.SetupFailed(what);
}

// Records the result of the Spawn that just returned `child` under `key` (call it right after
// Spawn: errno is still clone's) and stops the case as NamespaceSetupFailed if it failed.
inline void RecordCloneForSetup(const Probe& p, const char* key, const ChildProcess& child,
                                const char* what) {
  const int err = errno;
  p.Call(key, child.pid());
  if (!child.ok()) NamespaceSetupFailed(p, err, what);
}

}  // namespace nsc::cases
