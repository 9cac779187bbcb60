// `nsconform [OPTIONS]`: parse, then --help / --version / --explain / --list, or a run:
// probe the machine, check every report path, snapshot the host, run the cases, audit the
// host again, build and write the reports, print the summary, exit by the exit policy.
//
// Stop signals (signals.h) are blocked from main()'s first instruction. They are taken
// before the run (the run is then not started: every rule is NOT_RUN), by the runner during
// it, and after it (final audit, rendering, writing). Any of them makes the reports partial
// (run.complete false) and the exit code 130; a signal while the reports are being written
// does not stop the writing (every report is finished, none is left half-written or as a
// temporary file), and the exit code is still 130.
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "../audit.h"
#include "../environment.h"
#include "../report.h"
#include "../runner.h"
#include "../text.h"
#include "catalogue_commands.h"
#include "commands.h"
#include "exit_policy.h"
#include "help.h"
#include "options.h"
#include "progress.h"
#include "report_files.h"
#include "sanitize.h"
#include "selection.h"
#include "signals.h"
#include "summary.h"
#include "write.h"

namespace nsc {
namespace {

using nlohmann::json;

// Room each report file must have before the run (the size of a full report is about 3 KiB
// per rule without logs; logs are capped at 64 KiB per rule but rarely long).
size_t ReportReserveBytes(size_t rules) { return 64 * 1024 + rules * 8 * 1024; }

std::string SignalName(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signo);
}

// Every selected rule as never run: a stop signal came before the first case started.
RunResult NothingRan(const std::vector<const Case*>& selected, const Options& o, int signo) {
  RunResult rr;
  rr.stopped = StopCause::kSignal;
  rr.stop_signal = signo;
  for (const Case* c : selected) {
    CaseOutcome out;
    out.rule = c;
    out.status = Status::kError;
    out.code = ReasonCode::kNotRun;
    out.reason = "not run: the run was interrupted";
    out.timeout_s = c->timeout_s * o.timeout_multiplier;
    rr.outcomes.push_back(std::move(out));
  }
  return rr;
}

struct Rendered {
  json report;
  std::vector<std::string> texts;  // one per report file
  int run_exit_code = 0;
};

int Run(const Options& o, const std::vector<std::string>& argv,
        const std::vector<const Case*>& selected) {
  const auto started_wall = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  const Environment env = ProbeEnvironment(o.redact);

  // Every report path is checked before anything runs: two reports on one path are a usage
  // error; a path that cannot be written (too long, no permission, no room) is exit 70.
  const std::vector<ReportFile> files = PlanReportFiles(o, env.kernel_release, env.machine);
  for (const auto& f : files) {
    if (std::string problem = CheckWritable(f.path, ReportReserveBytes(selected.size())); !problem.empty()) {
      WriteAll(STDERR_FILENO, "nsconform: report " + SanitizeUtf8(f.path) + ": " + problem + "\n");
      return kExitSoftware;
    }
  }
  // A report on stdout gets stdout to itself; the human output goes to stderr.
  const bool report_on_stdout =
      std::any_of(files.begin(), files.end(), [](const ReportFile& f) { return f.path == "-"; });
  const int human_fd = report_on_stdout ? STDERR_FILENO : STDOUT_FILENO;

  const HostSnapshot before = TakeHostSnapshot();

  RunOptions ro;
  ro.jobs = o.jobs > 0 ? o.jobs : static_cast<int>(std::clamp(sysconf(_SC_NPROCESSORS_ONLN), 1L, 1024L));
  ro.timeout_multiplier = o.timeout_multiplier;
  ro.mode = o.control ? Mode::kControl : Mode::kRule;
  ro.force_userns = o.force_userns;
  ro.max_runtime_s = o.max_runtime_s;
  ProgressPrinter progress(o.quiet);
  RunResult rr;
  int stop_signal = TakePendingStopSignal();  // during the probe or the first snapshot
  if (stop_signal != 0) {
    rr = NothingRan(selected, o, stop_signal);
  } else {
    rr = RunCases(selected, env, ro, [&progress](const CaseOutcome& out, size_t done, size_t total) {
      progress.Finished(out, done, total);
    });
    if (rr.stopped == StopCause::kSignal) stop_signal = rr.stop_signal;
  }
  progress.Done();

  const HostSnapshot after = TakeHostSnapshot();

  // Builds and renders everything in memory, so that the writing itself is short.
  auto render = [&](int signo) {
    RunInfo info;
    info.id = RandomHex();
    info.started_at = started_wall;
    info.finished_at = std::chrono::system_clock::now();
    info.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    info.complete = signo == 0 && rr.stopped == StopCause::kNone;
    info.argv = argv;
    info.selection = {{"include", o.include}, {"exclude", o.exclude}, {"namespaces", o.namespaces}};
    info.timeouts = {{"multiplier", o.timeout_multiplier}, {"max_runtime_s", o.max_runtime_s}};
    info.mode = ro.mode;
    info.force_userns = o.force_userns;
    info.catalog_rules = AllCases().size();
    info.catalog_sha256 = CatalogSha256();
    info.stable = o.stable;
    info.case_tracking = rr.case_tracking;
    for (const auto& d : DiffHostSnapshots(before, after)) info.run_errors.push_back("host audit: " + d);
    for (const auto& e : rr.harness_errors) info.run_errors.push_back("harness: " + e);

    Rendered r;
    r.report = BuildJsonReport(info, env, rr.outcomes);
    SanitizeStrings(r.report);  // argv, kernel strings and case output may be any bytes
    const RunStop stop = signo != 0                                 ? RunStop::kSignal
                         : rr.stopped == StopCause::kMaxRuntime ? RunStop::kMaxRuntime
                                                                    : RunStop::kNone;
    r.run_exit_code = RunExitCode(RunFactsOf(r.report, stop, o.no_error_on_fail));
    r.report["run"]["exit_code"] = r.run_exit_code;
    for (const auto& f : files) r.texts.push_back(Render(f, r.report, o.junit_profile, o.ktap_nested));
    return r;
  };
  if (stop_signal == 0) stop_signal = TakePendingStopSignal();  // during the final audit
  Rendered out = render(stop_signal);
  if (stop_signal == 0) {
    if (int late = TakePendingStopSignal(); late != 0) {  // while rendering: render again
      stop_signal = late;
      out = render(stop_signal);
    }
  }

  // Every format that can be written is written, whatever happens to the others.
  bool write_failed = false;
  for (size_t i = 0; i < files.size(); ++i) {
    if (std::string error = WriteAtomically(files[i].path, out.texts[i]); !error.empty()) {
      WriteAll(STDERR_FILENO, "nsconform: " + SanitizeUtf8(error) + "\n");
      write_failed = true;
    }
  }
  if (stop_signal == 0) stop_signal = TakePendingStopSignal();  // while writing

  if (!o.quiet) {
    const std::string summary = RenderSummary(out.report, files, o.control);
    const int err = WriteAll(human_fd, summary);
    if (err != 0 && err != EPIPE) {  // EPIPE: whoever read stdout went away; reports are out
      WriteAll(STDERR_FILENO, "nsconform: cannot print the summary: " + ErrnoText(err) + "\n");
    }
  }
  if (stop_signal != 0) {
    WriteAll(STDERR_FILENO, "nsconform: interrupted by signal " + std::to_string(stop_signal) + " (" + SignalName(stop_signal) + ")" +
                                (write_failed ? "; some reports could not be written\n"
                                              : "; partial reports written\n"));
    return ProcessExitCode(kExitInterrupted, write_failed);
  }
  return ProcessExitCode(out.run_exit_code, write_failed);
}

}  // namespace

int RunCommandMain(const std::vector<std::string>& argv) {
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  const Options o = ParseOptions(args, KnownNamespaces());
  if (o.help || o.version || o.list || !o.explain.empty()) {
    UnblockStopSignals();  // nothing but stdout to write: Ctrl-C may act by default
  }
  if (o.help) return EmitToStdout(kHelpText);
  if (o.version) {
    return EmitToStdout(std::string("nsconform ") + NSCONFORM_VERSION + " (" + NSCONFORM_GIT_COMMIT + ")\n");
  }
  if (!o.explain.empty()) return ExplainMain(o);
  const std::vector<const Case*> selected = Select(o);
  if (selected.empty() && !o.allow_empty) {
    throw UsageError{"the selection matches no rule (see nsconform --list); use --allow-empty to accept"};
  }
  if (o.list) return ListMain(o, selected);
  return Run(o, argv, selected);
}

}  // namespace nsc
