#include "exit_policy.h"

namespace nsc {

RunFacts RunFactsOf(const nlohmann::json& report, RunStop stop, bool no_error_on_fail) {
  RunFacts f;
  f.stop = stop;
  f.control_mode = report["run"].value("mode", "rule") == "control";
  f.no_error_on_fail = no_error_on_fail;
  f.run_errors = report["run"]["errors"].size();
  for (const auto& r : report["results"]) {
    ++f.total;
    const std::string status = r["status"];
    if (status == "fail") ++f.fail;
    if (status == "skip") ++f.skip;
    if (status == "error") ++f.error;
    if (status == "pass" && r.value("kind", "assertion") != "observation") ++f.assertion_passes;
  }
  return f;
}

int RunExitCode(const RunFacts& f) {
  if (f.stop == RunStop::kSignal) return kExitInterrupted;
  if (f.stop == RunStop::kMaxRuntime) return kExitMaxRuntime;
  if (f.run_errors > 0) return kExitFail;
  if (f.control_mode) {
    // A rule that only records (kind "observation") has no verdict to invert: its control
    // passing is expected. Every other control must fail.
    if (f.assertion_passes > 0 || f.error > 0) return kExitFail;
    return f.total == f.skip ? kExitAllSkipped : kExitOk;
  }
  if (f.error > 0) return kExitFail;
  if (f.fail > 0) return f.no_error_on_fail ? kExitOk : kExitFail;
  if (f.total > 0 && f.skip == f.total) return kExitAllSkipped;
  return kExitOk;
}

int ProcessExitCode(int run_exit_code, bool report_write_failed) {
  return report_write_failed ? kExitSoftware : run_exit_code;
}

}  // namespace nsc
