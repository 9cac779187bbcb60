// The exit-code policy of a run (reports.md 6.7), as a pure function of what the run found.
// No I/O, no process state: unit-tested without spawning anything (tests/exit_policy_test.cc).
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

namespace nsc {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFail = 1;
inline constexpr int kExitAllSkipped = 4;
inline constexpr int kExitUsage = 64;        // EX_USAGE
inline constexpr int kExitSoftware = 70;     // EX_SOFTWARE: internal or report-writing error
inline constexpr int kExitMaxRuntime = 124;  // as timeout(1)
inline constexpr int kExitInterrupted = 130;
inline constexpr int kExitClosedStdout = 141;  // 128 + SIGPIPE: the reader of stdout went away

// Why the run stopped before its last case, if it did.
enum class RunStop { kNone, kSignal, kMaxRuntime };

// Everything the policy looks at. Counts are over the selected rules.
struct RunFacts {
  RunStop stop = RunStop::kNone;
  bool control_mode = false;     // --control: every assertion's control must fail
  bool no_error_on_fail = false; // --no-error-on-fail
  size_t run_errors = 0;         // host-audit differences and harness errors
  size_t total = 0;
  size_t fail = 0;
  size_t skip = 0;
  size_t error = 0;
  size_t assertion_passes = 0;   // passes of rules that assert (kind != "observation")
};

// The facts of a canonical JSON report (report.h), plus why the run stopped.
RunFacts RunFactsOf(const nlohmann::json& report, RunStop stop, bool no_error_on_fail);

// The run's exit code, as recorded in the report's run.exit_code.
int RunExitCode(const RunFacts& facts);

// The process's exit code once the reports are out: a report that could not be written
// turns any run result into 70 (reports.md: "internal / report-writing error").
int ProcessExitCode(int run_exit_code, bool report_write_failed);

}  // namespace nsc
