// Reports. The JSON report is canonical and lossless; JUnit, KTAP and KCIDB are projections
// of it (reports.md §6), so any of them can be regenerated from a saved JSON report.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "environment.h"
#include "runner.h"

namespace nsc {

inline constexpr const char* kReportSchemaVersion = "1.0";

struct RunInfo {
  std::string id;
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point finished_at;
  double duration_s = 0;
  bool complete = true;
  int exit_code = 0;
  std::vector<std::string> argv;
  nlohmann::json selection;
  nlohmann::json timeouts;
  Mode mode = Mode::kRule;
  bool force_userns = false;
  size_t catalog_rules = 0;
  std::string catalog_sha256;
  std::vector<std::string> run_errors;  // host-audit differences and harness errors
  bool stable = false;                  // omit timings and timestamps (for diffing runs)
  std::string case_tracking;            // RunResult::case_tracking
};

nlohmann::json CaseMetadata(const Case& c);
nlohmann::json BuildJsonReport(const RunInfo& run, const Environment& env,
                               const std::vector<CaseOutcome>& outcomes);
// Counts per status: {"total", "pass", "fail", "skip", "error"}.
nlohmann::json Summarize(const nlohmann::json& results);
// --control runs: how the controls ended (valid / invalid / none / not_run, with the IDs).
nlohmann::json SummarizeControls(const nlohmann::json& results);

enum class JunitProfile { kCommon, kStrict };
std::string RenderJunit(const nlohmann::json& report, JunitProfile profile);
std::string RenderKtap(const nlohmann::json& report, bool nested);
nlohmann::json RenderKcidb(const nlohmann::json& report);

// File names of reports.md §6.4: nsconform-<release>-<arch>.<ext>
std::string ReportBaseName(const nlohmann::json& report);

}  // namespace nsc
