// The real rules. nsconform runs once per setting (cached for the whole test binary):
//   root     all rules as root
//   control  all sensitivity controls as root (--control): each must FAIL
//   unpriv   as uid/gid 65534 with no groups (setpriv): only pass/skip, exit 0
//   userns   as root with --userns: only pass/skip
// Then one parameterised test per rule ID (from `nsconform --list`) judges each setting, and
// the reports of every run are validated (JSON Schema, junit-4.xsd, xmllint, KTAP regexes,
// KCIDB schema). Catalogue coverage: every catalogue ID must be implemented.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "support.h"

namespace nsc::test {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::IsEmpty;

// ---------------------------------------------------------------------------------------------
// Cached runs

enum class Setting { kRoot, kControl, kUnprivileged, kUserns };

struct RealRun {
  std::unique_ptr<TempDir> dir;
  Spawned proc;
  json report;
  std::string skipped_because;  // non-empty: this setting cannot run here
  bool strict_junit = false;
  bool nested_ktap = false;
  fs::path Json() const { return *dir / "r.json"; }
  fs::path Junit() const { return *dir / "r.junit.xml"; }
  fs::path Ktap() const { return *dir / "r.ktap"; }
  fs::path Kcidb() const { return *dir / "r.kcidb.json"; }
};

std::string SettingName(Setting s) {
  switch (s) {
    case Setting::kRoot: return "root";
    case Setting::kControl: return "control";
    case Setting::kUnprivileged: return "unpriv";
    case Setting::kUserns: return "userns";
  }
  return "?";
}

const RealRun& RunIn(Setting setting) {
  static std::map<Setting, RealRun> cache;
  auto it = cache.find(setting);
  if (it != cache.end()) return it->second;
  RealRun& run = cache[setting];
  run.dir = std::make_unique<TempDir>("real-" + SettingName(setting));
  // Not root: every setting is a failure, never a skip (a green run that judged nothing would
  // hide a broken suite). The unprivileged setting drops to 65534 itself.
  if (!IsRoot()) {
    run.skipped_because = "";
    ADD_FAILURE() << "real_rules_test must run as root: its unprivileged setting drops to uid "
                     "65534 itself (setpriv); as another user nothing would be judged";
    return run;
  }
  run.strict_junit = setting == Setting::kRoot || setting == Setting::kUnprivileged;
  run.nested_ktap = setting == Setting::kControl || setting == Setting::kUserns;

  fs::path binary = Paths::Nsconform();
  std::vector<std::string> argv;
  SpawnOptions options{.cwd = run.dir->path(), .watch_exe = binary};
  if (setting == Setting::kUnprivileged) {
    // A world-readable copy of the binary in a world-writable directory: the build tree may
    // not be reachable by uid 65534.
    fs::permissions(run.dir->path(), fs::perms::all);
    fs::path copy = *run.dir / "nsconform";
    fs::copy_file(binary, copy);
    fs::permissions(copy, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    binary = copy;
    options.watch_exe = copy;
    argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  }
  argv.insert(argv.end(), {binary.string(), "--no-default-reports", "--json", run.Json().string(),
                           "--junit", run.Junit().string(), "--junit-profile",
                           run.strict_junit ? "strict" : "common", "--ktap", run.Ktap().string(),
                           "--kcidb", run.Kcidb().string()});
  if (run.nested_ktap) argv.push_back("--ktap-nested");
  if (setting == Setting::kControl) argv.push_back("--control");
  if (setting == Setting::kUserns) argv.push_back("--userns");
  run.proc = Spawn(argv, options);
  if (fs::exists(run.Json())) run.report = ReadJson(run.Json());
  return run;
}

const std::vector<std::string>& ListedRuleIds() {
  static const std::vector<std::string> ids = [] {
  Spawned p = Spawn({Paths::Nsconform().string(), "--list"}, {.watch_exe = Paths::Nsconform()});
  if (p.exit_code != 0) {
    // Make the failure visible as a test rather than an empty instantiation.
    return std::vector<std::string>{"nsconform_list_failed_exit_" + std::to_string(p.exit_code)};
  }
  return Lines(p.out);
  }();
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Per rule

class RealRule : public ::testing::TestWithParam<std::string> {
 protected:
  // The result of this rule in `setting`; nullptr (with a failure) if the run broke.
  const json* Result(Setting setting) {
    const RealRun& run = RunIn(setting);
    if (!run.skipped_because.empty()) return nullptr;
    if (run.report.is_null()) {
      ADD_FAILURE() << SettingName(setting) << " run wrote no JSON report\n" << run.proc.Describe();
      return nullptr;
    }
    const json* r = FindResult(run.report, GetParam());
    if (r == nullptr) ADD_FAILURE() << GetParam() << " missing from the " << SettingName(setting) << " report";
    return r;
  }

  // pass, or skip with a reason code (observations: pass or skip too; they cannot fail).
  void ExpectPassOrSkip(Setting setting) {
    const RealRun& run = RunIn(setting);
    if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
    const json* r = Result(setting);
    if (r == nullptr) return;
    const std::string status = (*r)["status"];
    EXPECT_THAT(status, AnyOf(Eq("pass"), Eq("skip")))
        << GetParam() << " (" << (*r)["kind"].get<std::string>() << ") as " << SettingName(setting)
        << ": " << status << " " << r->value("reason_code", "") << ": " << r->value("reason", "")
        << "\nobserved: " << (*r)["observed"].dump() << "\nlog: " << r->value("log", "");
    if (status == "skip") {
      EXPECT_TRUE(r->contains("reason_code") && !(*r)["reason_code"].get<std::string>().empty())
          << "skip without a reason code";
    }
  }
};

TEST_P(RealRule, PassesOrSkipsAsRoot) { ExpectPassOrSkip(Setting::kRoot); }

TEST_P(RealRule, ControlFails) {
  const RealRun& run = RunIn(Setting::kControl);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  const json* rule = Result(Setting::kRoot);
  const json* control = Result(Setting::kControl);
  if (rule == nullptr || control == nullptr) return;
  if ((*rule)["status"] == "skip") GTEST_SKIP() << "the rule itself skipped: " << rule->value("reason", "");
  if ((*control)["kind"] == "observation") {
    GTEST_SKIP() << "an observation records without asserting: its control cannot fail";
  }
  if (control->value("reason_code", "") == "NO_CONTROL") {
    EXPECT_TRUE(control->contains("no_control_because"));
    GTEST_SKIP() << "declared without an honest control: " << control->value("no_control_because", "");
  }
  EXPECT_EQ((*control)["status"], "fail")
      << "the control of " << GetParam() << " did not fail, so the check cannot detect a missing "
      << "namespace: " << (*control)["status"] << " " << control->value("reason_code", "") << ": "
      << control->value("reason", "(no reason)") << "\nobserved: " << (*control)["observed"].dump()
      << "\nlog: " << control->value("log", "");
  EXPECT_EQ(control->value("reason_code", ""), "EXPECTATION_MISMATCH");
  // A valid control fails on one of the rule's own verdict keys, with every precondition
  // holding (judge.cc makes any other failure an ERROR, caught above).
  EXPECT_TRUE(control->contains("contradicted") && !(*control)["contradicted"].empty())
      << "the control of " << GetParam() << " failed without naming a contradicted verdict key";
}

// The committed baseline of this host's verdicts (tests/data/baseline.json, written by
// tests/tools/make_baseline.py from the four settings' reports): a rule whose status or skip
// reason differs from it — a rule that newly skips, for any reason — fails here.
TEST_P(RealRule, MatchesBaseline) {
  static const json baseline = ReadJson(Paths::SourceDir() / "tests/data/baseline.json");
  for (Setting setting : {Setting::kRoot, Setting::kControl, Setting::kUnprivileged, Setting::kUserns}) {
    const json* r = Result(setting);
    if (r == nullptr) continue;
    const std::string name = SettingName(setting);
    ASSERT_TRUE(baseline.contains(name) && baseline[name].contains(GetParam()))
        << GetParam() << " is not in tests/data/baseline.json for " << name
        << " (regenerate it with tests/tools/make_baseline.py)";
    std::string seen = (*r)["status"];
    if (seen == "skip") seen += ":" + r->value("reason_code", "");
    EXPECT_EQ(seen, baseline[name][GetParam()].get<std::string>())
        << GetParam() << " as " << name << ": " << r->value("reason", "");
  }
}

TEST_P(RealRule, PassesOrSkipsUnprivileged) { ExpectPassOrSkip(Setting::kUnprivileged); }

TEST_P(RealRule, PassesOrSkipsWithUserns) { ExpectPassOrSkip(Setting::kUserns); }

INSTANTIATE_TEST_SUITE_P(Listed, RealRule, ::testing::ValuesIn(ListedRuleIds()),
                         [](const auto& info) { return TestNameOf(info.param); });

// ---------------------------------------------------------------------------------------------
// Per run

class RealRunTest : public ::testing::TestWithParam<Setting> {
 protected:
  const RealRun& R() {
    const RealRun& run = RunIn(GetParam());
    return run;
  }
};

TEST_P(RealRunTest, LeavesNoProcessAndNoRunError) {
  const RealRun& run = R();
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  EXPECT_THAT(run.proc.leaks, IsEmpty());
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  EXPECT_THAT(run.report["run"]["errors"], IsEmpty()) << "host audit or harness errors";
  EXPECT_EQ(run.report["run"]["complete"], true);
  EXPECT_EQ(run.report["run"]["exit_code"], run.proc.exit_code);
  EXPECT_EQ(run.report["run"]["mode"], GetParam() == Setting::kControl ? "control" : "rule");
  EXPECT_THAT(CheckSummary(run.report), IsEmpty());
}

TEST_P(RealRunTest, ExitCode) {
  const RealRun& run = R();
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  const json& s = run.report["summary"];
  if (GetParam() == Setting::kControl) {
    // Every control failed (or skipped) -> 0; a control that passed or errored -> 1.
    const int expected = s["pass"] == 0 && s["error"] == 0 ? (s["skip"] == s["total"] ? 4 : 0) : 1;
    EXPECT_EQ(run.proc.exit_code, expected) << run.proc.Describe();
  } else {
    // Only pass/skip: exit 0 (4 if everything skipped, which would be suspicious as root).
    EXPECT_EQ(run.proc.exit_code, 0) << run.proc.Describe();
  }
}

TEST_P(RealRunTest, JsonValidatesAgainstSchema) {
  const RealRun& run = R();
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {run.Json()}), "");
}

TEST_P(RealRunTest, JunitIsValid) {
  const RealRun& run = R();
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  if (run.strict_junit) {
    EXPECT_EQ(XmlLint(run.Junit(), Paths::JunitXsd()), "") << "strict profile against junit-4.xsd";
  } else {
    EXPECT_EQ(XmlLint(run.Junit()), "") << "common profile must be well-formed";
  }
}

TEST_P(RealRunTest, KtapMatchesKernelParser) {
  const RealRun& run = R();
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null());
  EXPECT_THAT(CheckKtap(ReadFile(run.Ktap()), run.report, run.nested_ktap), IsEmpty());
}

TEST_P(RealRunTest, KcidbValidatesAndMapsStatuses) {
  const RealRun& run = R();
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null());
  EXPECT_EQ(ValidateJson(Paths::KcidbSchema(), {run.Kcidb()}), "");
  EXPECT_THAT(CheckKcidb(ReadJson(run.Kcidb()), run.report), IsEmpty());
}

TEST_P(RealRunTest, PlanCoversTheWholeCatalogueOfTheBinary) {
  const RealRun& run = R();
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null());
  const auto& ids = ListedRuleIds();
  EXPECT_EQ(run.report["plan"]["catalog_rules"], ids.size());
  EXPECT_EQ(run.report["results"].size(), ids.size());
}

INSTANTIATE_TEST_SUITE_P(Settings, RealRunTest,
                         ::testing::Values(Setting::kRoot, Setting::kControl, Setting::kUnprivileged,
                                           Setting::kUserns),
                         [](const auto& info) { return SettingName(info.param); });

TEST(RealRunSettings, UnprivilegedRunReallyIsUnprivileged) {
  const RealRun& run = RunIn(Setting::kUnprivileged);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  EXPECT_EQ(run.report["exec"]["euid"], 65534);
  EXPECT_EQ(run.report["exec"]["egid"], 65534);
  EXPECT_THAT(run.report["exec"]["groups"], IsEmpty());
  EXPECT_EQ(run.report["exec"]["caps"]["eff"], "0000000000000000");
}

TEST(RealRunSettings, UsernsRunIsRecordedAsSuch) {
  const RealRun& run = RunIn(Setting::kUserns);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  EXPECT_EQ(run.report["invocation"]["force_userns"], true);
}

// ---------------------------------------------------------------------------------------------
// The schema is strict enough: typical mistakes in a report are rejected.

TEST(ReportSchema, RejectsBrokenReports) {
  const RealRun& run = RunIn(Setting::kRoot);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  ASSERT_FALSE(run.report["results"].empty());
  TempDir d("schema-mutations");
  const json base = run.report;

  std::map<std::string, std::function<void(json&)>> mutations = {
      {"fail_without_reason_code",
       [](json& j) {
         j["results"][0]["status"] = "fail";
         j["results"][0]["reason"] = "x";
         j["results"][0].erase("reason_code");
       }},
      {"skip_without_reason",
       [](json& j) {
         j["results"][0]["status"] = "skip";
         j["results"][0]["reason_code"] = "PRECONDITION_UNMET";
         j["results"][0].erase("reason");
       }},
      {"pass_with_reason_code", [](json& j) {
         j["results"][0]["status"] = "pass";
         j["results"][0]["reason_code"] = "TIMEOUT";
         j["results"][0]["reason"] = "x";
       }},
      {"unknown_status", [](json& j) { j["results"][0]["status"] = "passed"; }},
      {"unknown_reason_code",
       [](json& j) {
         j["results"][0]["status"] = "error";
         j["results"][0]["reason_code"] = "OOPS";
         j["results"][0]["reason"] = "x";
       }},
      {"skip_with_error_code",
       [](json& j) {
         j["results"][0]["status"] = "skip";
         j["results"][0]["reason_code"] = "TIMEOUT";
         j["results"][0]["reason"] = "x";
       }},
      {"crash_without_signal",
       [](json& j) {
         j["results"][0]["status"] = "error";
         j["results"][0]["reason_code"] = "CRASHED";
         j["results"][0]["reason"] = "x";
         j["results"][0].erase("signal");
       }},
      {"extra_result_property", [](json& j) { j["results"][0]["colour"] = "red"; }},
      {"bad_id", [](json& j) { j["results"][0]["id"] = "PID.Init-Is-Pid1"; }},
      {"single_segment_id", [](json& j) { j["results"][0]["id"] = "pid"; }},
      {"selftest_namespace",
       [](json& j) {
         j["results"][0]["id"] = "selftest.passes";
         j["results"][0]["namespace"] = "selftest";
       }},
      {"namespace_not_id_prefix",
       [](json& j) {
         j["results"][0]["id"] = "pid.x";
         j["results"][0]["namespace"] = "user";
       }},
      {"bad_kind", [](json& j) { j["results"][0]["kind"] = "assert"; }},
      {"string_duration", [](json& j) { j["results"][0]["duration_s"] = "0.1"; }},
      {"missing_expected", [](json& j) { j["results"][0].erase("expected"); }},
      {"call_failure_without_errno",
       [](json& j) { j["results"][0]["observed"]["k"] = {{"ret", -1}}; }},
      {"numeric_errno",
       [](json& j) { j["results"][0]["observed"]["k"] = {{"ret", -1}, {"errno", 1}}; }},
      {"missing_run_complete", [](json& j) { j["run"].erase("complete"); }},
      {"incomplete_with_exit_0", [](json& j) { j["run"]["complete"] = false; j["run"]["exit_code"] = 0; }},
      {"run_errors_with_exit_0",
       [](json& j) {
         j["run"]["errors"] = {"host audit: hostname changed"};
         j["run"]["exit_code"] = 0;
       }},
      {"bad_mode", [](json& j) { j["run"]["mode"] = "sensitivity"; }},
      {"local_timestamp", [](json& j) { j["run"]["started_at"] = "2025-05-01 12:00:01"; }},
      {"wrong_schema_name", [](json& j) { j["schema"] = "nsconform"; }},
      {"schema_version_2", [](json& j) { j["schema_version"] = "2.0"; }},
      {"missing_summary_field", [](json& j) { j["summary"].erase("skip"); }},
      {"negative_count", [](json& j) { j["summary"]["fail"] = -1; }},
      {"results_not_array", [](json& j) { j["results"] = json::object(); }},
      {"unknown_top_level", [](json& j) { j["extra"] = 1; }},
      {"missing_exec_caps", [](json& j) { j["exec"].erase("caps"); }},
      {"userns_unavailable_without_reason", [](json& j) {
         j["exec"]["userns_available"] = false;
         j["exec"].erase("userns_unavailable_reason");
       }},
  };
  std::vector<fs::path> docs;
  std::map<std::string, std::string> name_of;
  const fs::path unmodified = d / "unmodified.json";
  WriteFile(unmodified, base.dump());
  docs.push_back(unmodified);
  for (auto& [name, mutate] : mutations) {
    json j = base;
    mutate(j);
    fs::path p = d / (name + ".json");
    WriteFile(p, j.dump());
    docs.push_back(p);
    name_of[p.string()] = name;
  }
  std::vector<std::string> invalid = InvalidDocuments(Paths::ReportSchema(), docs);
  std::set<std::string> rejected(invalid.begin(), invalid.end());
  EXPECT_FALSE(rejected.contains(unmodified.string())) << "the real report itself is invalid";
  for (const auto& [path, name] : name_of) {
    EXPECT_TRUE(rejected.contains(path)) << "the schema accepts a report with mutation '" << name << "'";
  }
}

// ---------------------------------------------------------------------------------------------
// Catalogue coverage

std::vector<std::string> CatalogueIds() {
  std::vector<std::string> ids;
  for (auto& line : Lines(ReadFile(Paths::Catalogue()))) {
    if (!line.empty() && line[0] != '#') ids.push_back(line);
  }
  return ids;
}

TEST(Catalogue, EveryCatalogueRuleIsImplemented) {
  const auto& listed = ListedRuleIds();
  const std::set<std::string> have(listed.begin(), listed.end());
  std::map<std::string, std::vector<std::string>> missing;  // by group
  size_t count = 0;
  const auto catalogue = CatalogueIds();
  for (const auto& id : catalogue) {
    if (!have.contains(id)) {
      missing[id.substr(0, id.find('.'))].push_back(id);
      ++count;
    }
  }
  std::string message;
  for (const auto& [group, ids] : missing) {
    message += "\n  " + group + " (" + std::to_string(ids.size()) + "):";
    for (const auto& id : ids) message += "\n    " + id;
  }
  EXPECT_EQ(count, 0u) << count << " of " << catalogue.size()
                       << " catalogue rules are not implemented (missing from nsconform --list):" << message;
}

TEST(Catalogue, RulesBeyondTheCatalogueBelongToAKnownGroup) {
  // Rules beyond the catalogue are allowed (e.g. nsfs ioctls newer than the man pages); they
  // are listed here for the record and must still belong to one of the catalogue's groups.
  const auto catalogue = CatalogueIds();
  const std::set<std::string> known(catalogue.begin(), catalogue.end());
  std::set<std::string> groups;
  for (const auto& id : catalogue) groups.insert(id.substr(0, id.find('.')));
  std::string extra;
  for (const auto& id : ListedRuleIds()) {
    if (known.contains(id)) continue;
    extra += (extra.empty() ? "" : ", ") + id;
    EXPECT_TRUE(groups.contains(id.substr(0, id.find('.')))) << id << " is in no catalogue group";
  }
  if (!extra.empty()) RecordProperty("rules_beyond_catalogue", extra);
}

TEST(Catalogue, ListedIdsAreWellFormedAndUnique) {
  const auto& listed = ListedRuleIds();
  const std::regex grammar(R"(^[a-z0-9_]+(\.[a-z0-9_]+)+$)");
  std::set<std::string> seen, names;
  for (const auto& id : listed) {
    EXPECT_TRUE(std::regex_match(id, grammar)) << id;
    EXPECT_TRUE(seen.insert(id).second) << "listed twice: " << id;
    EXPECT_TRUE(names.insert(TestNameOf(id)).second) << "test name collision: " << id;
  }
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
}

// The fully static binary needs nothing at run time but /proc, /sys and /dev: in a chroot that
// holds only those (inside a throwaway mount namespace), every rule passes or skips with a
// reason — a chroot refuses user namespaces, and "/" there is no mount point — never an error.
TEST(StaticBinary, RunsInABareChrootWithOnlyProcSysDev) {
  if (!IsRoot()) GTEST_SKIP() << "chroot and mounts need root";
  TempDir root("bare-root");
  for (const char* dir : {"proc", "sys", "dev", "out"}) fs::create_directory(root / dir);
  fs::copy_file(Paths::NsconformStatic(), root / "nsconform");
  const std::string r = root.path().string();
  const std::string script = "mount --make-rprivate / && mount -t proc proc " + r +
                             "/proc && mount --rbind /sys " + r + "/sys && mount --rbind /dev " +
                             r + "/dev && exec chroot " + r + " /nsconform -q --report-dir /out";
  Spawned p = Spawn({"unshare", "--mount", "--fork", "--", "sh", "-c", script},
                    {.watch_exe = root / "nsconform"});
  EXPECT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_THAT(p.leaks, IsEmpty());
  std::vector<fs::path> reports;
  for (const auto& e : fs::recursive_directory_iterator(root / "out")) {
    if (e.path().extension() == ".json") reports.push_back(e.path());
  }
  ASSERT_EQ(reports.size(), 1u) << p.Describe();
  json report = ReadJson(reports[0]);
  EXPECT_EQ(report["summary"]["error"], 0) << report["summary"].dump();
  EXPECT_EQ(report["summary"]["fail"], 0) << report["summary"].dump();
  EXPECT_GT(report["summary"]["pass"].get<int>(), 0);
  EXPECT_FALSE(report["exec"]["root_is_mount_point"].get<bool>());
  EXPECT_THAT(report["run"]["errors"], IsEmpty());
  for (const auto& res : report["results"]) {
    if (res["status"] == "skip") {
      EXPECT_TRUE(res.contains("reason_code")) << res.dump();
    }
  }
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {reports[0]}), "");
}

}  // namespace
}  // namespace nsc::test
