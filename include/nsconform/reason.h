// Machine-readable reason codes (reports.md §6.2).
#pragma once

#include <cstdint>
#include <string_view>

namespace nsc {

enum class ReasonCode : uint16_t {
  kNone = 0,
  // skip
  kNsTypeUnsupported,
  kKconfigMissing,
  kKernelTooOld,
  kInsufficientPrivilege,
  kDisabledBySysctl,
  kBlockedByLsm,
  kBlockedBySeccomp,
  kPreconditionUnmet,
  kDeselected,
  kNoControl,  // --control: the rule declares that it has no honest control
  // fail
  kExpectationMismatch,
  // error
  kTimeout,
  kCrashed,
  kSetupFailed,
  kHarnessError,
  kNotRun,
};

std::string_view ReasonCodeName(ReasonCode code);

}  // namespace nsc
