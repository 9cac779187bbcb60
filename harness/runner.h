// Runs selected cases, each in its own supervised process tree, in parallel.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission.h"
#include "environment.h"
#include "nsconform/case.h"

namespace nsc {

struct CaseOutcome {
  const Case* rule = nullptr;
  Status status = Status::kError;
  ReasonCode code = ReasonCode::kNone;
  std::string reason;
  nlohmann::json preconditions = nlohmann::json::object();  // key -> what the set-up needs
  nlohmann::json expected = nlohmann::json::object();       // verdict key -> what the rule says
  nlohmann::json observed = nlohmann::json::object();
  nlohmann::json recorded = nlohmann::json::object();  // "record, don't assert" values
  std::vector<std::string> contradicted;               // verdict keys that did not hold (FAIL)
  std::string signal;                                  // for CRASHED
  std::string log;                                     // notes + captured output
  std::string started_at;
  double duration_s = 0;
  double timeout_s = 0;
  bool ran = false;
};

struct RunOptions {
  int jobs = 1;
  double timeout_multiplier = 1.0;
  Mode mode = Mode::kRule;
  bool force_userns = false;   // run `userns` cases in a fresh user namespace even as root
  double max_runtime_s = 0;    // 0 = unlimited
};

enum class StopCause { kNone, kSignal, kMaxRuntime };

struct RunResult {
  std::vector<CaseOutcome> outcomes;  // same order as the input
  StopCause stopped = StopCause::kNone;
  int stop_signal = 0;
  std::vector<std::string> harness_errors;  // e.g. stray processes that had to be killed
  // How case trees were tracked and killed: "cgroup2 <path>" or "process tree (...why...)".
  std::string case_tracking;
};

// Called when a case finishes (done = finished so far, total = selected).
using ProgressFn = std::function<void(const CaseOutcome&, size_t done, size_t total)>;

// Runs the cases. SIGINT/SIGTERM stop the run: running trees are killed, the rest is NOT_RUN.
RunResult RunCases(const std::vector<const Case*>& cases, const Environment& env,
                   const RunOptions& options, const ProgressFn& progress);

}  // namespace nsc
