// Admission: whether a case can run in the probed environment, decided from its declared
// requirements before anything is forked. A case that cannot run here is SKIP with a reason
// code (ERROR only when the environment probe itself failed), never FAIL.
#pragma once

#include <string>

#include "environment.h"
#include "nsconform/case.h"

namespace nsc {

enum class Status { kPass, kFail, kSkip, kError };
std::string_view StatusName(Status s);

struct Admission {
  bool runnable = true;
  bool enter_userns = false;  // the supervisor enters a fresh user namespace first
  ReasonCode code = ReasonCode::kNone;
  Status status = Status::kSkip;  // kError when the environment probe itself failed
  std::string reason;
};

// Why a case cannot run here, if it cannot (also used by --explain and the tests).
Admission Admit(const Case& c, const Environment& env, bool force_userns);

}  // namespace nsc
