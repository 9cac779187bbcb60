// The command line's pure parts, without spawning anything: the exit-code policy, option
// parsing and its ranges, report path planning, UTF-8 sanitising, the seconds formatter, and
// the report schema check that convert/compare run on their input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "cli/exit_policy.h"
#include "cli/options.h"
#include "cli/report_files.h"
#include "cli/report_input.h"
#include "cli/sanitize.h"
#include "text.h"

namespace nsc {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// --- exit policy ------------------------------------------------------------------------------

struct PolicyCase {
  const char* name;
  RunFacts facts;
  int expected;
};

void PrintTo(const PolicyCase& c, std::ostream* os) { *os << c.name; }

class ExitPolicy : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(ExitPolicy, MapsFactsToTheDocumentedCode) {
  EXPECT_EQ(RunExitCode(GetParam().facts), GetParam().expected);
}

RunFacts Facts(size_t total, size_t fail, size_t skip, size_t error, size_t assertion_passes = 0) {
  RunFacts f;
  f.total = total;
  f.fail = fail;
  f.skip = skip;
  f.error = error;
  f.assertion_passes = assertion_passes;
  return f;
}

RunFacts With(RunFacts f, auto RunFacts::*member, auto value) {
  f.*member = value;
  return f;
}

INSTANTIATE_TEST_SUITE_P(
    Cli, ExitPolicy,
    ::testing::Values(
        PolicyCase{"all_pass", Facts(3, 0, 0, 0, 3), 0},
        PolicyCase{"some_skips", Facts(3, 0, 1, 0, 2), 0},
        PolicyCase{"a_failure", Facts(3, 1, 0, 0, 2), 1},
        PolicyCase{"an_error", Facts(3, 0, 0, 1, 2), 1},
        PolicyCase{"all_skipped", Facts(3, 0, 3, 0), 4},
        PolicyCase{"empty_selection", Facts(0, 0, 0, 0), 0},
        PolicyCase{"failure_with_no_error_on_fail", With(Facts(3, 1, 0, 0, 2), &RunFacts::no_error_on_fail, true), 0},
        PolicyCase{"error_with_no_error_on_fail", With(Facts(3, 0, 0, 1, 2), &RunFacts::no_error_on_fail, true), 1},
        PolicyCase{"run_error_with_all_pass", With(Facts(3, 0, 0, 0, 3), &RunFacts::run_errors, size_t{1}), 1},
        PolicyCase{"signal_beats_everything", With(Facts(3, 1, 0, 1), &RunFacts::stop, RunStop::kSignal), 130},
        PolicyCase{"max_runtime", With(Facts(3, 0, 0, 1), &RunFacts::stop, RunStop::kMaxRuntime), 124},
        PolicyCase{"control_all_failed", With(Facts(3, 3, 0, 0), &RunFacts::control_mode, true), 0},
        PolicyCase{"control_one_passed", With(Facts(3, 2, 0, 0, 1), &RunFacts::control_mode, true), 1},
        PolicyCase{"control_observation_passed", With(Facts(3, 2, 0, 0, 0), &RunFacts::control_mode, true), 0},
        PolicyCase{"control_error", With(Facts(3, 2, 0, 1), &RunFacts::control_mode, true), 1},
        PolicyCase{"control_all_skipped", With(Facts(2, 0, 2, 0), &RunFacts::control_mode, true), 4}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ExitPolicy, AReportThatCouldNotBeWrittenIs70WhateverTheRun) {
  for (int code : {0, 1, 4, 124, 130}) {
    EXPECT_EQ(ProcessExitCode(code, true), 70) << code;
    EXPECT_EQ(ProcessExitCode(code, false), code);
  }
}

TEST(ExitPolicy, FactsOfAReport) {
  nlohmann::json report = {
      {"run", {{"mode", "control"}, {"errors", {"host audit: x"}}}},
      {"results",
       {{{"status", "pass"}, {"kind", "assertion"}},
        {{"status", "pass"}, {"kind", "observation"}},
        {{"status", "fail"}},
        {{"status", "skip"}},
        {{"status", "error"}}}}};
  RunFacts f = RunFactsOf(report, RunStop::kNone, true);
  EXPECT_TRUE(f.control_mode);
  EXPECT_TRUE(f.no_error_on_fail);
  EXPECT_EQ(f.run_errors, 1u);
  EXPECT_EQ(f.total, 5u);
  EXPECT_EQ(f.fail, 1u);
  EXPECT_EQ(f.skip, 1u);
  EXPECT_EQ(f.error, 1u);
  EXPECT_EQ(f.assertion_passes, 1u);
}

// --- option parsing -----------------------------------------------------------------------------

const std::vector<std::string> kKnown = {"pid", "user", "uts"};

std::string UsageMessage(const std::vector<std::string>& args) {
  try {
    ParseOptions(args, kKnown);
  } catch (const UsageError& e) {
    return e.message;
  }
  return "(accepted)";
}

TEST(Options, NumbersOutsideTheirRangeAreUsageErrorsNamingFlagAndRange) {
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Bad& b : std::vector<Bad>{
           {{"--timeout-multiplier", "1e300"}, "--timeout-multiplier needs a number in [0.010, 1000]"},
           {{"--timeout-multiplier", "1e9"}, "--timeout-multiplier needs a number in [0.010, 1000]"},
           {{"--timeout-multiplier", "inf"}, "--timeout-multiplier needs a number in"},
           {{"--timeout-multiplier", "nan"}, "--timeout-multiplier needs a number in"},
           {{"--timeout-multiplier", "0"}, "--timeout-multiplier needs a number in"},
           {{"--timeout-multiplier", "1e-400"}, "--timeout-multiplier needs a number in"},
           {{"--max-runtime", "1e10"}, "--max-runtime needs a number in [0.001, 2592000]"},
           {{"--max-runtime", "inf"}, "--max-runtime needs a number in"},
           {{"--max-runtime", "-1"}, "--max-runtime needs a number in"},
           {{"-j", "1e10"}, "-j needs a number in [1, 1024]"},
           {{"-j1e10"}, "-j needs a number in [1, 1024]"},
           {{"--jobs=99999999999999999999"}, "--jobs needs a number in [1, 1024]"},
           {{"--jobs", "2.5"}, "--jobs needs a number in [1, 1024]"},
           {{"-j", ""}, "-j needs a number in"},
       }) {
    EXPECT_THAT(UsageMessage(b.args), StartsWith(b.message)) << b.args[0] << " " << (b.args.size() > 1 ? b.args[1] : "");
  }
}

TEST(Options, NumbersInRangeAreAccepted) {
  Options o = ParseOptions({"-j", "1024", "--timeout-multiplier=0.01", "--max-runtime", "2592000"}, kKnown);
  EXPECT_EQ(o.jobs, 1024);
  EXPECT_DOUBLE_EQ(o.timeout_multiplier, 0.01);
  EXPECT_DOUBLE_EQ(o.max_runtime_s, 2592000);
  EXPECT_EQ(ParseOptions({"-j4"}, kKnown).jobs, 4);
}

TEST(Options, TimeoutMultiplierFromTheEnvironmentIsRangeChecked) {
  setenv("NSCONFORM_TIMEOUT_MUL", "inf", 1);
  EXPECT_THAT(UsageMessage({}), StartsWith("NSCONFORM_TIMEOUT_MUL needs a number in"));
  setenv("NSCONFORM_TIMEOUT_MUL", "3", 1);
  EXPECT_DOUBLE_EQ(ParseOptions({}, kKnown).timeout_multiplier, 3);
  unsetenv("NSCONFORM_TIMEOUT_MUL");
}

TEST(Options, EmptyOrUnknownValuesAreUsageErrors) {
  EXPECT_THAT(UsageMessage({"--filter", ""}), HasSubstr("--filter needs a non-empty value"));
  EXPECT_THAT(UsageMessage({"--filter", "-"}), HasSubstr("empty negative part"));
  EXPECT_THAT(UsageMessage({"--filter", "pid.*-"}), HasSubstr("empty negative part"));
  EXPECT_THAT(UsageMessage({"--filter", ":"}), HasSubstr("names no glob"));
  EXPECT_THAT(UsageMessage({"--namespace", ""}), HasSubstr("--namespace needs a non-empty value"));
  EXPECT_THAT(UsageMessage({"--namespace", ","}), HasSubstr("names no namespace"));
  EXPECT_THAT(UsageMessage({"--namespace", "uts,bogus"}), HasSubstr("unknown namespace 'bogus' (known: pid, user, uts)"));
  EXPECT_THAT(UsageMessage({"--explain", ""}), HasSubstr("--explain needs a non-empty value"));
  EXPECT_THAT(UsageMessage({"--report-dir", ""}), HasSubstr("--report-dir needs a non-empty value"));
  EXPECT_THAT(UsageMessage({"--json="}), HasSubstr("--json needs a non-empty value"));
  EXPECT_THAT(UsageMessage({"--list=yes"}), HasSubstr("--list takes no value"));
  EXPECT_THAT(UsageMessage({"--json"}), HasSubstr("--json needs a value"));
}

TEST(Options, FilterAndNamespaceAccumulate) {
  Options o = ParseOptions({"--filter", "pid.*:user.*-pid.reboot_*", "--namespace", "uts,pid"}, kKnown);
  EXPECT_EQ(o.include, (std::vector<std::string>{"pid.*", "user.*"}));
  EXPECT_EQ(o.exclude, (std::vector<std::string>{"pid.reboot_*"}));
  EXPECT_EQ(o.namespaces, (std::vector<std::string>{"uts", "pid"}));
  EXPECT_EQ(ParseOptions({"--filter", "-pid.*"}, kKnown).exclude, std::vector<std::string>{"pid.*"});
}

// --- report paths ---------------------------------------------------------------------------------

TEST(ReportFiles, TwoReportsOnOnePathAreAUsageError) {
  Options o;
  o.default_reports = false;
  o.json_path = "/tmp/x/r.out";
  o.ktap_path = "/tmp/x/../x/r.out";
  try {
    PlanReportFiles(o, "6.1.0", "x86_64");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.message, HasSubstr("--json and --ktap both write"));
  }
  o.ktap_path = "-";
  o.kcidb_path = "-";
  try {
    PlanReportFiles(o, "6.1.0", "x86_64");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.message, HasSubstr("--ktap and --kcidb both write to stdout"));
  }
  Options d;
  d.report_dir = "/tmp/rd";
  d.json_path = "/tmp/rd/6.1.0/nsconform-6.1.0-x86_64.json";
  EXPECT_THROW(PlanReportFiles(d, "6.1.0", "x86_64"), UsageError) << "an explicit path equal to a default one";
}

TEST(ReportFiles, NamesLongerThanNameMaxAreRefusedBeforeTheRun) {
  EXPECT_THAT(CheckWritable("/tmp/" + std::string(256, 'a'), 0), HasSubstr("longer than NAME_MAX"));
  EXPECT_THAT(CheckWritable("/tmp/" + std::string(5000, 'a'), 0), HasSubstr("longer than PATH_MAX"));
  // 255 is a valid name, and its temporary name does not depend on it.
  const std::string longest = "/tmp/" + std::string(255, 'b');
  EXPECT_EQ(CheckWritable(longest, 0), "");
  EXPECT_EQ(WriteAtomically(longest, "x"), "");
  EXPECT_EQ(ReadFileOr(longest, ""), "x");
  std::remove(longest.c_str());
}

TEST(ReportFiles, AFullDeviceIsNamed) {
  EXPECT_THAT(WriteAtomically("/dev/full/x", "x"), HasSubstr("cannot write /dev/full/x"));
}

// --- text -----------------------------------------------------------------------------------------

TEST(Text, SanitizeUtf8KeepsValidTextAndReplacesTheRest) {
  EXPECT_EQ(SanitizeUtf8("plain ascii"), "plain ascii");
  EXPECT_EQ(SanitizeUtf8("ü € 𝄞"), "ü € 𝄞");
  EXPECT_EQ(SanitizeUtf8("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "overlong '/'";
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "a surrogate";
  EXPECT_EQ(SanitizeUtf8("\xF4\x90\x80\x80").substr(0, 3), "\xEF\xBF\xBD") << "above U+10FFFF";
  EXPECT_EQ(SanitizeUtf8("x\xE2\x82"), "x\xEF\xBF\xBD\xEF\xBF\xBD") << "truncated at the end";
}

TEST(Text, SanitizedJsonDumps) {
  nlohmann::json doc = {{"argv", {"--filter", "\xff\xfe"}}, {"k\x80", {{"v", "ok"}}}};
  SanitizeStrings(doc);
  EXPECT_NO_THROW(doc.dump());
  EXPECT_TRUE(doc.contains("k\xEF\xBF\xBD"));
}

TEST(Text, FormatSecondsNeverEmitsGarbage) {
  EXPECT_EQ(FormatSeconds(0.0045, 3), "0.004");
  EXPECT_EQ(FormatSeconds(1e300, 3), "1e+300");
  EXPECT_EQ(FormatSeconds(INFINITY, 3), "inf");
}

// --- report input (convert / compare) -------------------------------------------------------------

TEST(ReportInput, WrongShapesAreNamedByTheirJsonPointer) {
  EXPECT_THAT(ReportSchemaProblem(nlohmann::json{{"schema", "nsconform-report"}}), StartsWith("/"));
  EXPECT_THAT(ReportSchemaProblem(nlohmann::json::array()), StartsWith("/"));
  EXPECT_NE(ReportSchemaProblem(nlohmann::json{{"schema", "nsconform-report"}, {"results", 3}}), "");
}

}  // namespace
}  // namespace nsc
