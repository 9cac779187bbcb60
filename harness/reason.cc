#include "nsconform/reason.h"

namespace nsc {

std::string_view ReasonCodeName(ReasonCode code) {
  switch (code) {
    case ReasonCode::kNone: return "";
    case ReasonCode::kNsTypeUnsupported: return "NS_TYPE_UNSUPPORTED";
    case ReasonCode::kKconfigMissing: return "KCONFIG_MISSING";
    case ReasonCode::kKernelTooOld: return "KERNEL_TOO_OLD";
    case ReasonCode::kInsufficientPrivilege: return "INSUFFICIENT_PRIVILEGE";
    case ReasonCode::kDisabledBySysctl: return "DISABLED_BY_SYSCTL";
    case ReasonCode::kBlockedByLsm: return "BLOCKED_BY_LSM";
    case ReasonCode::kBlockedBySeccomp: return "BLOCKED_BY_SECCOMP";
    case ReasonCode::kPreconditionUnmet: return "PRECONDITION_UNMET";
    case ReasonCode::kDeselected: return "DESELECTED";
    case ReasonCode::kNoControl: return "NO_CONTROL";
    case ReasonCode::kExpectationMismatch: return "EXPECTATION_MISMATCH";
    case ReasonCode::kTimeout: return "TIMEOUT";
    case ReasonCode::kCrashed: return "CRASHED";
    case ReasonCode::kSetupFailed: return "SETUP_FAILED";
    case ReasonCode::kHarnessError: return "HARNESS_ERROR";
    case ReasonCode::kNotRun: return "NOT_RUN";
  }
  return "HARNESS_ERROR";
}

}  // namespace nsc
