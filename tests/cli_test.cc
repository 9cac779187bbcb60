// The command line: exit codes (0, 1, 4, 64, 70), usage errors, --list / --explain / --help,
// report paths, --stable / --redact, KTAP on stdout. Uses nsconform-selftest where the result
// must be deterministic (its cases are fixed) and the real nsconform where the real catalogue
// matters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include "support.h"

namespace nsc::test {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

Spawned Selftest(std::vector<std::string> args, const fs::path& cwd = {}) {
  args.insert(args.begin(), Paths::Selftest().string());
  return Spawn(args, {.cwd = cwd, .watch_exe = Paths::Selftest()});
}

Spawned Nsconform(std::vector<std::string> args, const fs::path& cwd = {}) {
  args.insert(args.begin(), Paths::Nsconform().string());
  return Spawn(args, {.cwd = cwd, .watch_exe = Paths::Nsconform()});
}

constexpr int kSelftestCases = 11;

// --- help, version --------------------------------------------------------------------------

TEST(Cli, HelpExits0AndDocumentsExitCodes) {
  Spawned p = Nsconform({"--help"});
  EXPECT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_THAT(p.out, AllOf(StartsWith("Usage: nsconform"), HasSubstr("Exit codes"), HasSubstr("--filter")));
  EXPECT_EQ(Nsconform({"-h"}).exit_code, 0);
}

TEST(Cli, VersionExits0) {
  Spawned p = Nsconform({"--version"});
  EXPECT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_THAT(p.out, StartsWith("nsconform "));
}

// --- usage errors: 64 with a message ----------------------------------------------------------

struct UsageCase {
  std::string name;
  std::vector<std::string> args;
  std::string message;  // expected in stderr
  std::vector<std::string> env = {};
};

void PrintTo(const UsageCase& c, std::ostream* os) { *os << c.name; }

class UsageError : public ::testing::TestWithParam<UsageCase> {};

TEST_P(UsageError, Exits64WithAMessageAndRunsNothing) {
  TempDir d("usage");
  const UsageCase& c = GetParam();
  std::vector<std::string> argv = {Paths::Selftest().string()};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  Spawned p = Spawn(argv, {.cwd = d.path(), .extra_env = c.env, .watch_exe = Paths::Selftest()});
  EXPECT_EQ(p.exit_code, 64) << p.Describe();
  EXPECT_THAT(p.err, HasSubstr(c.message)) << p.Describe();
  EXPECT_TRUE(fs::is_empty(d.path())) << "a usage error wrote files";
  EXPECT_THAT(p.leaks, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Cli, UsageError,
    ::testing::Values(
        UsageCase{"unknown_flag", {"--bogus"}, "unknown option '--bogus'"},
        UsageCase{"positional_argument", {"selftest.passes"}, "unknown option 'selftest.passes'"},
        UsageCase{"missing_value", {"--json"}, "--json needs a value"},
        UsageCase{"value_on_a_switch", {"--list=yes"}, "--list takes no value"},
        UsageCase{"jobs_zero", {"-j", "0"}, "-j needs a number in [1, 1024], got '0'"},
        UsageCase{"jobs_not_a_number", {"--jobs=many"}, "needs a number"},
        UsageCase{"bad_junit_profile", {"--junit-profile", "jenkins"}, "--junit-profile is common or strict"},
        UsageCase{"filter_matches_nothing", {"--filter", "nothing.*"}, "matches no rule"},
        UsageCase{"filter_excludes_everything", {"--filter", "-selftest.*"}, "matches no rule"},
        UsageCase{"unknown_namespace", {"--namespace", "pid"}, "matches no rule"},
        UsageCase{"explain_unknown_rule", {"--explain", "selftest.nope"}, "no rule 'selftest.nope'"},
        UsageCase{"bad_timeout_env", {"--list"}, "NSCONFORM_TIMEOUT_MUL", {"NSCONFORM_TIMEOUT_MUL=fast"}}),
    [](const auto& info) { return info.param.name; });

TEST(Cli, ExplainUnknownRuleSuggestsNearMatches) {
  Spawned p = Selftest({"--explain", "hang"});
  EXPECT_EQ(p.exit_code, 64);
  EXPECT_THAT(p.err, AllOf(HasSubstr("did you mean"), HasSubstr("selftest.hangs"), HasSubstr("selftest.tree_hangs")));
}

TEST(Cli, AllowEmptyAcceptsAnEmptySelection) {
  Spawned p = Selftest({"--filter", "nothing.*", "--allow-empty", "--list"});
  EXPECT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_EQ(p.out, "");
}

// --- --list ---------------------------------------------------------------------------------

TEST(Cli, ListCountsAndFilters) {
  Spawned all = Selftest({"--list"});
  ASSERT_EQ(all.exit_code, 0) << all.Describe();
  EXPECT_THAT(Lines(all.out), SizeIs(kSelftestCases));
  EXPECT_THAT(Lines(all.out), Each(StartsWith("selftest.")));

  Spawned some = Selftest({"--list", "--filter", "selftest.*-selftest.hangs:selftest.tree_hangs"});
  EXPECT_EQ(Lines(some.out).size(), kSelftestCases - 2u);
  EXPECT_THAT(some.out, Not(HasSubstr("hangs")));

  Spawned two = Selftest({"--list", "--filter=selftest.passes:selftest.fails"});
  EXPECT_EQ(Lines(two.out), (std::vector<std::string>{"selftest.fails", "selftest.passes"}));

  Spawned by_group = Selftest({"--list", "--namespace", "selftest,pid"});
  EXPECT_EQ(Lines(by_group.out).size(), static_cast<size_t>(kSelftestCases));

  Spawned wildcard = Selftest({"--list", "--filter", "selftest.?asses"});
  EXPECT_EQ(Lines(wildcard.out), std::vector<std::string>{"selftest.passes"});
}

TEST(Cli, JsonListHasMetadataForEachListedRule) {
  Spawned ids = Nsconform({"--list"});
  Spawned meta = Nsconform({"--json-list"});
  ASSERT_EQ(ids.exit_code, 0) << ids.Describe();
  ASSERT_EQ(meta.exit_code, 0) << meta.Describe();
  json list = json::parse(meta.out);
  ASSERT_TRUE(list.is_array());
  std::vector<std::string> from_meta;
  for (const auto& m : list) {
    from_meta.push_back(m["id"]);
    for (const char* key : {"title", "source", "observe", "control", "requires", "kind", "case"}) {
      EXPECT_TRUE(m.contains(key)) << m["id"] << " has no " << key;
    }
  }
  EXPECT_EQ(from_meta, Lines(ids.out));
}

// --- --explain ------------------------------------------------------------------------------

TEST(Cli, ExplainPrintsTheRuleAndItsSource) {
  Spawned meta = Nsconform({"--json-list"});
  ASSERT_EQ(meta.exit_code, 0) << meta.Describe();
  json list = json::parse(meta.out);
  ASSERT_FALSE(list.empty());
  for (const json& m : {list.front(), list.back()}) {
    const std::string id = m["id"];
    Spawned p = Nsconform({"--explain", id});
    EXPECT_EQ(p.exit_code, 0) << p.Describe();
    EXPECT_THAT(p.out, StartsWith(id + "\n"));
    EXPECT_THAT(p.out, HasSubstr(m["title"].get<std::string>()));
    EXPECT_THAT(p.out, HasSubstr("Source:    " + m["source"]["doc"].get<std::string>() + ", " +
                                 m["source"]["section"].get<std::string>()));
    EXPECT_THAT(p.out, HasSubstr("Control:   "));
    EXPECT_THAT(p.out, HasSubstr("Here:      "));
    EXPECT_THAT(p.out, HasSubstr("Defined:   " + m["case"]["file"].get<std::string>() + ":"));
  }
}

// --- exit codes of runs ---------------------------------------------------------------------

TEST(Cli, EverySelectedCaseSkippedExits4) {
  TempDir d("all-skipped");
  Spawned p = Selftest({"--filter", "selftest.skips", "--no-default-reports", "--json", (d / "r.json").string()});
  EXPECT_EQ(p.exit_code, 4) << p.Describe();
  EXPECT_EQ(ReadJson(d / "r.json")["run"]["exit_code"], 4);
  EXPECT_THAT(p.leaks, IsEmpty());
}

TEST(Cli, PassExits0FailExits1NoErrorOnFailExits0) {
  TempDir d("exit-codes");
  EXPECT_EQ(Selftest({"--filter", "selftest.passes", "--no-default-reports", "-q"}).exit_code, 0);
  EXPECT_EQ(Selftest({"--filter", "selftest.passes:selftest.skips", "--no-default-reports", "-q"}).exit_code, 0)
      << "some skips do not change a pass";
  EXPECT_EQ(Selftest({"--filter", "selftest.fails", "--no-default-reports", "-q"}).exit_code, 1);
  EXPECT_EQ(Selftest({"--filter", "selftest.fails", "--no-error-on-fail", "--no-default-reports", "-q"}).exit_code, 0);
  EXPECT_EQ(Selftest({"--filter", "selftest.crashes", "--no-error-on-fail", "--no-default-reports", "-q"}).exit_code, 1)
      << "--no-error-on-fail covers failures, not errors";
}

TEST(Cli, QuietPrintsNothing) {
  Spawned p = Selftest({"--filter", "selftest.passes", "--no-default-reports", "-q"});
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_EQ(p.out, "");
  EXPECT_EQ(p.err, "");
}

// --- reports --------------------------------------------------------------------------------

TEST(Cli, UnwritableReportPathExits70BeforeRunningAndWritesNothing) {
  for (const char* flag : {"--json", "--junit", "--ktap", "--kcidb"}) {
    TempDir d("unwritable");
    Spawned p = Selftest({"--filter", "selftest.passes", "--no-default-reports", "--json", (d / "ok.json").string(),
                          "--ktap", (d / "ok.ktap").string(), flag, "/proc/x/y.out"});
    EXPECT_EQ(p.exit_code, 70) << flag << "\n" << p.Describe();
    EXPECT_THAT(p.err, HasSubstr("/proc/x/y.out")) << flag;
    EXPECT_THAT(p.err, Not(HasSubstr("selftest.passes"))) << "the run started anyway";
    EXPECT_TRUE(fs::is_empty(d.path())) << flag << ": something was written next to the failing report";
  }
}

TEST(Cli, ReportPathThatIsADirectoryExits70) {
  TempDir d("dir-report");
  fs::create_directory(d / "r.json");
  Spawned p = Selftest({"--filter", "selftest.passes", "--no-default-reports", "--json", (d / "r.json").string()});
  EXPECT_EQ(p.exit_code, 70) << p.Describe();
  EXPECT_THAT(p.err, HasSubstr("is a directory"));
}

TEST(Cli, DefaultReportsGoToReportDirByRelease) {
  TempDir d("default-reports");
  Spawned p = Selftest({"--filter", "selftest.passes", "--report-dir", (d / "out").string()});
  ASSERT_EQ(p.exit_code, 0) << p.Describe();
  struct utsname u{};
  uname(&u);
  const std::string base = std::string("nsconform-") + u.release + "-" + u.machine;
  const fs::path dir = d / "out" / u.release;
  for (const char* ext : {".json", ".junit.xml", ".ktap"}) {
    EXPECT_TRUE(fs::exists(dir / (base + ext))) << dir / (base + ext);
  }
  Spawned c = Selftest({"--filter", "selftest.passes", "--control", "--report-dir", (d / "out").string(), "-q"});
  EXPECT_TRUE(fs::exists(dir / (base + "-control.json"))) << c.Describe();
  // Nothing outside the report dir (the working directory is the session temp root).
  EXPECT_FALSE(fs::exists(SessionTempRoot() / "reports"));
}

TEST(Cli, KtapOnStdoutKeepsHumanOutputOnStderr) {
  Spawned p = Selftest({"--filter", "selftest.passes:selftest.fails", "--no-default-reports", "--ktap", "-"});
  EXPECT_EQ(p.exit_code, 1) << p.Describe();
  EXPECT_THAT(p.out, StartsWith("KTAP version 1\n1..2\n"));
  EXPECT_THAT(p.out, Not(HasSubstr("namespace  pass")));
  EXPECT_THAT(p.err, HasSubstr("namespace  pass"));
  EXPECT_THAT(Lines(p.out).back(), StartsWith("# Totals: pass:1 fail:1"));
}

TEST(Cli, KselftestTapLevelDropsTheVersionLine) {
  Spawned p = Spawn({Paths::Selftest().string(), "--filter", "selftest.passes", "--no-default-reports", "--ktap", "-"},
                    {.extra_env = {"KSFT_TAP_LEVEL=1"}, .watch_exe = Paths::Selftest()});
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_THAT(p.out, StartsWith("1..1\n"));
}

TEST(Cli, StableOmitsTimingsAndRedactOmitsHostIdentity) {
  TempDir d("stable");
  Spawned p = Selftest({"--filter", "selftest.passes:selftest.fails", "--no-default-reports", "--stable",
                        "--redact", "--json", (d / "r.json").string()});
  EXPECT_EQ(p.exit_code, 1) << p.Describe();
  json r = ReadJson(d / "r.json");
  for (const char* key : {"started_at", "finished_at", "duration_s"}) EXPECT_FALSE(r["run"].contains(key)) << key;
  for (const auto& res : r["results"]) {
    EXPECT_FALSE(res.contains("started_at"));
    EXPECT_FALSE(res.contains("duration_s"));
  }
  EXPECT_FALSE(r["system"].contains("hostname"));
  EXPECT_EQ(r["system"]["kernel"]["cmdline"], "");
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "r.json"}, {"selftest"}), "");
}

TEST(Cli, JsonRecordsInvocationAndSelection) {
  TempDir d("invocation");
  Spawned p = Selftest({"--filter", "selftest.pa*-selftest.fails", "--timeout-multiplier", "2", "--no-default-reports",
                        "--json", (d / "r.json").string()});
  ASSERT_EQ(p.exit_code, 0) << p.Describe();
  json r = ReadJson(d / "r.json");
  EXPECT_EQ(r["invocation"]["selection"]["include"], json({"selftest.pa*"}));
  EXPECT_EQ(r["invocation"]["selection"]["exclude"], json({"selftest.fails"}));
  EXPECT_EQ(r["invocation"]["timeouts"]["multiplier"], 2.0);
  EXPECT_EQ(r["results"][0]["timeout_s"], 4.0);
  EXPECT_EQ(r["plan"]["catalog_rules"], kSelftestCases);
  EXPECT_EQ(r["plan"]["selected"], 1);
  EXPECT_EQ(r["invocation"]["argv"][0], Paths::Selftest().string());
}

// --- subcommands advertised by --help ---------------------------------------------------------

TEST(Cli, ConvertSubcommandRegeneratesReports) {
  // `nsconform --help` advertises: nsconform convert REPORT.json --to=junit|junit-strict|ktap|kcidb [-o PATH]
  // The binary that wrote the report converts it: its schema check knows the `selftest` group.
  TempDir d("convert");
  Spawned run = Selftest({"--filter", "selftest.passes:selftest.fails", "--no-default-reports", "--json",
                          (d / "r.json").string(), "--ktap", (d / "r.ktap").string(), "-q"});
  ASSERT_TRUE(fs::exists(d / "r.json")) << run.Describe();
  Spawned p = Selftest({"convert", (d / "r.json").string(), "--to=ktap", "-o", (d / "c.ktap").string()});
  EXPECT_EQ(p.exit_code, 0) << p.Describe();
  ASSERT_TRUE(fs::exists(d / "c.ktap"));
  EXPECT_EQ(ReadFile(d / "c.ktap"), ReadFile(d / "r.ktap"));
  // The other projections validate.
  Spawned j = Selftest({"convert", (d / "r.json").string(), "--to=junit-strict", "-o", (d / "c.xml").string()});
  EXPECT_EQ(j.exit_code, 0) << j.Describe();
  EXPECT_EQ(XmlLint(d / "c.xml", Paths::JunitXsd()), "");
  Spawned k = Selftest({"convert", (d / "r.json").string(), "--to", "kcidb", "-o", (d / "c.kcidb.json").string()});
  EXPECT_EQ(k.exit_code, 0) << k.Describe();
  EXPECT_EQ(ValidateJson(Paths::KcidbSchema(), {d / "c.kcidb.json"}), "");
  // Not a report, unknown format: usage errors.
  EXPECT_EQ(Selftest({"convert", (d / "r.ktap").string(), "--to=ktap"}).exit_code, 64);
  EXPECT_EQ(Selftest({"convert", (d / "r.json").string(), "--to=yaml"}).exit_code, 64);
}

TEST(Cli, CompareSubcommandListsRegressions) {
  // `nsconform --help` advertises: nsconform compare BEFORE.json AFTER.json
  TempDir d("compare");
  Selftest({"--filter", "selftest.passes", "--no-default-reports", "--json", (d / "a.json").string(), "-q"});
  Selftest({"--filter", "selftest.passes:selftest.fails", "--no-default-reports", "--json", (d / "b.json").string(), "-q"});
  Spawned p = Selftest({"compare", (d / "a.json").string(), (d / "b.json").string()});
  EXPECT_EQ(p.exit_code, 0) << "a new rule is no regression\n" << p.Describe();
  EXPECT_THAT(p.out, HasSubstr("selftest.fails"));

  // A pass that becomes a fail is a regression: exit 1.
  json after = ReadJson(d / "a.json");
  json& r = after["results"][0];
  r["status"] = "fail";
  r["reason_code"] = "EXPECTATION_MISMATCH";
  r["reason"] = "value: expected is equal to 1, observed 2";
  WriteFile(d / "c.json", after.dump());
  Spawned q = Selftest({"compare", (d / "a.json").string(), (d / "c.json").string()});
  EXPECT_EQ(q.exit_code, 1) << q.Describe();
  EXPECT_THAT(q.out, HasSubstr("regressions (1)"));
  EXPECT_THAT(q.out, HasSubstr("selftest.passes: pass -> fail"));
}

}  // namespace
}  // namespace nsc::test
