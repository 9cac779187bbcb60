// Helpers shared by the UTS-namespace cases (cases/uts/*.cc).
//
// Container runtimes' seccomp profiles deny sethostname()/setdomainname() to a process that was
// started without CAP_SYS_ADMIN, whatever namespace it later creates: the filter answers EPERM
// before the kernel looks at the owner of the UTS namespace. A rename that only sets the stage
// is therefore recorded as a precondition, and a refusal under a seccomp filter stops the case
// as SKIP BLOCKED_BY_SECCOMP instead of being judged. Async-signal-safe.
#pragma once

#include <cerrno>
#include <cstdint>

#include "nsconform/case.h"
#include "../common/namespace_setup.h"

namespace nsc::cases::uts {

// The set-up attribution helpers, shared by every group (cases/common/namespace_setup.h).
using ::nsc::cases::NamespaceSetupFailed;
using ::nsc::cases::RecordCloneForSetup;
using ::nsc::cases::SeccompFiltered;

// Records a set-up rename's result under `key` (pass the call directly, errno is read first);
// an EPERM under a seccomp filter makes the case SKIP BLOCKED_BY_SECCOMP.
inline void RecordSetupRename(const Probe& p, const char* key, int ret) {
  const int err = errno;
  p.Call(key, ret);
  if (ret == -1 && err == EPERM && SeccompFiltered() == 1) {
    p.Skip(ReasonCode::kBlockedBySeccomp,
           "a seccomp filter refuses sethostname/setdomainname here (EPERM), even in a UTS "
           "namespace the case owns");
  }
}

}  // namespace nsc::cases::uts
