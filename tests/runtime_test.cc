// Runtime mode end to end with real runtimes (bwrap and runc; root and rootless as uid 65534):
//   default configuration  every runtime.* rule passes, or skips because the runtime's
//                          configuration has no such setting; nothing left behind
//   --control              no control passes: each planted misconfiguration is caught (FAIL)
//                          or refused by the runtime (SKIP with its reason)
//   ignores-its-config     tests/tools/oci_ignore_config_shim.py drops one namespace type from
//                          the config.json runc gets, while the checker reads the original:
//                          every namespace rule catches it
//   reports                JSON against the project schema, JUnit (strict) against
//                          junit-4.xsd, KTAP against the kernel parser's rules, KCIDB v5.3
//   a missing runtime      SKIP of the whole section, exit 4, never an error
// Needs root (the rootless runs drop to 65534 with setpriv). A runtime that is not installed
// makes its tests skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <set>

#include "support.h"

namespace nsc::test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

fs::path Shim() { return Paths::SourceDir() / "tests/tools/oci_ignore_config_shim.py"; }

bool Installed(const std::string& runtime) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"}) {
    if (access((std::string(dir) + "/" + runtime).c_str(), X_OK) == 0) return true;
  }
  return false;
}

struct Setting {
  std::string adapter;
  bool rootless = false;
  bool control = false;
  std::vector<std::string> args = {};  // more nsconform runtime arguments
  std::vector<std::string> env = {};
  std::string Key() const {
    std::string k = adapter + (rootless ? "/rootless" : "/root") + (control ? "/control" : "");
    for (const auto& a : args) k += " " + a;
    for (const auto& e : env) k += " " + e;
    return k;
  }
};

struct RuntimeRun {
  std::unique_ptr<TempDir> dir;
  Spawned proc;
  json report;
  std::string skipped_because;
  fs::path Json() const { return dir->path() / "r.json"; }
  fs::path Junit() const { return dir->path() / "r.junit.xml"; }
  fs::path Ktap() const { return dir->path() / "r.ktap"; }
  fs::path Kcidb() const { return dir->path() / "r.kcidb.json"; }
  std::string Status(const std::string& id) const {
    const json* r = FindResult(report, id);
    return r == nullptr ? "missing" : (*r)["status"].get<std::string>();
  }
};

// One run per setting, shared by the tests that look at it.
const RuntimeRun& RunOnce(const Setting& s) {
  static std::map<std::string, RuntimeRun> cache;
  auto it = cache.find(s.Key());
  if (it != cache.end()) return it->second;
  RuntimeRun& run = cache[s.Key()];
  if (!IsRoot()) {
    run.skipped_because = "runtime-mode tests need root (the rootless runs drop to 65534 themselves)";
    return run;
  }
  if (!Installed(s.adapter)) {
    run.skipped_because = s.adapter + " is not installed";
    return run;
  }
  run.dir = std::make_unique<TempDir>("runtime");
  fs::permissions(run.dir->path(), fs::perms::all);  // the rootless run writes here
  std::vector<std::string> argv;
  if (s.rootless) argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  for (const std::string& a : {Paths::Nsconform().string(), std::string("runtime"), s.adapter, std::string("-q"),
                               std::string("--no-default-reports"), std::string("--json"), run.Json().string(),
                               std::string("--junit"), run.Junit().string(), std::string("--junit-profile"),
                               std::string("strict"), std::string("--ktap"), run.Ktap().string(),
                               std::string("--kcidb"), run.Kcidb().string(), std::string("--work-dir"),
                               run.dir->path().string()}) {
    argv.push_back(a);
  }
  if (s.control) argv.push_back("--control");
  argv.insert(argv.end(), s.args.begin(), s.args.end());
  run.proc = Spawn(argv, {.cwd = run.dir->path(), .extra_env = s.env, .watch_exe = Paths::NsconformStatic()});
  if (fs::exists(run.Json())) run.report = ReadJson(run.Json());
  return run;
}

std::vector<std::string> Ids(const json& report, const std::string& status) {
  std::vector<std::string> out;
  for (const auto& r : report["results"]) {
    if (r["status"] == status) out.push_back(r["id"]);
  }
  return out;
}

// --- the default configuration: pass, or skip for a setting the runtime does not have -----

struct DefaultCase {
  Setting setting;
  std::set<std::string> must_pass;  // (prefix "runtime." omitted)
};

void PrintTo(const DefaultCase& c, std::ostream* os) { *os << c.setting.Key(); }

const std::set<std::string> kAllNs = {"ns.cgroup", "ns.ipc", "ns.mnt", "ns.net", "ns.pid", "ns.time", "ns.user", "ns.uts"};

std::set<std::string> With(std::set<std::string> base, std::initializer_list<const char*> more) {
  for (const char* m : more) base.insert(m);
  return base;
}

std::vector<DefaultCase> DefaultCases() {
  const auto common = With(kAllNs, {"pid.init_is_pid1", "proc.pid_view", "uts.hostname", "mnt.readonly_root",
                                    "process.user", "cgroup.root_view", "lifecycle.nothing_left"});
  const auto oci = With(common, {"mnt.masked_paths", "mnt.readonly_paths", "mnt.rootfs_propagation",
                                 "process.capabilities", "process.no_new_privileges"});
  return {
      {{"runc"}, With(oci, {"sysctl.values"})},
      {{"runc", false, false, {"--add-userns"}}, With(oci, {"sysctl.values", "user.uid_map", "user.gid_map"})},
      {{"runc", true}, [&] {
         auto rootless = With(oci, {"user.uid_map", "user.gid_map"});
         rootless.erase("mnt.rootfs_propagation");  // needs the shared rootfs mount (root)
         return rootless;
       }()},
      {{"bwrap"}, With(common, {"user.uid_map", "user.gid_map"})},
      {{"bwrap", true}, With(common, {"user.uid_map", "user.gid_map"})},
  };
}

class RuntimeDefault : public ::testing::TestWithParam<DefaultCase> {};

TEST_P(RuntimeDefault, EveryRulePassesOrHasNoSuchSetting) {
  const RuntimeRun& run = RunOnce(GetParam().setting);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  EXPECT_EQ(run.proc.exit_code, 0) << run.proc.Describe();
  EXPECT_EQ(run.report["run"]["mode"], "runtime");
  for (const auto& r : run.report["results"]) {
    const std::string id = r["id"], status = r["status"];
    if (status == "skip") {
      EXPECT_THAT(r.value("reason", ""), ::testing::AnyOf(HasSubstr("the configuration sets no"),
                                                          HasSubstr("not a mount point"), HasSubstr("needs root")))
          << id;
      EXPECT_FALSE(GetParam().must_pass.contains(id.substr(8))) << id << " skipped: " << r.value("reason", "");
    } else {
      EXPECT_EQ(status, "pass") << id << ": " << r.value("reason", "") << "\n" << r["observed"].dump();
    }
  }
  EXPECT_THAT(run.report["run"]["errors"], IsEmpty()) << "host audit or harness errors (another agent's "
                                                         "objects? re-run)";
}

TEST_P(RuntimeDefault, LeavesNothingBehind) {
  const RuntimeRun& run = RunOnce(GetParam().setting);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  EXPECT_THAT(run.proc.leaks, IsEmpty());
  ASSERT_FALSE(run.report.is_null());
  EXPECT_THAT(run.report["runtime"]["container"]["leftovers"], IsEmpty());
  for (const auto& e : fs::directory_iterator(run.dir->path())) {
    EXPECT_FALSE(e.path().filename().string().starts_with("nsconform-runtime-")) << "work dir left: " << e.path();
  }
}

TEST_P(RuntimeDefault, ReportsAreValid) {
  const RuntimeRun& run = RunOnce(GetParam().setting);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null());
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {run.Json()}), "");
  EXPECT_EQ(XmlLint(run.Junit(), Paths::JunitXsd()), "") << "strict profile against junit-4.xsd";
  EXPECT_THAT(CheckKtap(ReadFile(run.Ktap()), run.report, false), IsEmpty());
  EXPECT_EQ(ValidateJson(Paths::KcidbSchema(), {run.Kcidb()}), "");
  EXPECT_THAT(CheckKcidb(ReadJson(run.Kcidb()), run.report), IsEmpty());
  EXPECT_THAT(CheckSummary(run.report), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RuntimeDefault, ::testing::ValuesIn(DefaultCases()),
                         [](const auto& info) {
                           std::string n = info.param.setting.adapter + (info.param.setting.rootless ? "_rootless" : "_root");
                           return info.param.setting.args.empty() ? n : n + "_userns";
                         });

// --- controls: a planted misconfiguration is caught, or refused by the runtime ---------------

struct ControlCase {
  Setting setting;
  std::set<std::string> must_fail;
};

void PrintTo(const ControlCase& c, std::ostream* os) { *os << c.setting.Key(); }

std::vector<ControlCase> ControlCases() {
  const std::set<std::string> bwrap = {"ns.cgroup", "ns.ipc", "ns.net", "ns.pid", "ns.uts", "pid.init_is_pid1",
                                       "proc.pid_view", "uts.hostname", "mnt.readonly_root", "process.user",
                                       "user.uid_map", "user.gid_map", "cgroup.root_view"};
  return {
      {{"runc", false, true},
       {"ns.cgroup", "ns.ipc", "ns.net", "ns.pid", "ns.uts", "ns.user", "pid.init_is_pid1", "uts.hostname",
        "mnt.masked_paths", "mnt.readonly_paths", "mnt.readonly_root", "mnt.rootfs_propagation", "sysctl.values",
        "process.user", "process.capabilities", "process.no_new_privileges", "cgroup.root_view"}},
      {{"runc", true, true},
       {"ns.cgroup", "ns.net", "ns.uts", "uts.hostname", "mnt.masked_paths", "mnt.readonly_paths",
        "mnt.readonly_root", "process.capabilities", "process.no_new_privileges", "cgroup.root_view"}},
      {{"bwrap", false, true}, With(bwrap, {"ns.user"})},
      {{"bwrap", true, true}, bwrap},
  };
}

class RuntimeControl : public ::testing::TestWithParam<ControlCase> {};

TEST_P(RuntimeControl, NoControlPassesAndThePlantedOnesFail) {
  const RuntimeRun& run = RunOnce(GetParam().setting);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  EXPECT_EQ(run.proc.exit_code, 0) << run.proc.Describe() << run.report["run"]["errors"].dump();
  EXPECT_EQ(run.report["run"]["mode"], "runtime-control");
  EXPECT_THAT(Ids(run.report, "pass"), IsEmpty()) << "a control passed: the check did not see the planted misconfiguration";
  EXPECT_THAT(Ids(run.report, "error"), IsEmpty());
  for (const auto& id : GetParam().must_fail) {
    const json* r = FindResult(run.report, "runtime." + id);
    ASSERT_NE(r, nullptr) << id;
    EXPECT_EQ((*r)["status"], "fail") << id << ": " << r->value("reason", "");
  }
  for (const auto& r : run.report["results"]) {
    if (r["status"] == "skip") EXPECT_FALSE(r.value("reason", "").empty()) << r["id"];
  }
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {run.Json()}), "");
  EXPECT_EQ(XmlLint(run.Junit(), Paths::JunitXsd()), "");
  EXPECT_THAT(CheckKtap(ReadFile(run.Ktap()), run.report, false), IsEmpty());
  EXPECT_THAT(run.proc.leaks, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RuntimeControl, ::testing::ValuesIn(ControlCases()),
                         [](const auto& info) {
                           return info.param.setting.adapter + (info.param.setting.rootless ? "_rootless" : "_root");
                         });

// --- the runtime that ignores its config --------------------------------------------------------

struct ShimCase {
  std::string drop;  // OCI type
  std::string rule;
  std::vector<std::string> args = {};
};

void PrintTo(const ShimCase& c, std::ostream* os) { *os << c.drop; }

class IgnoresItsConfig : public ::testing::TestWithParam<ShimCase> {};

TEST_P(IgnoresItsConfig, EveryNamespaceRuleCatchesIt) {
  Setting s{"runc", false, false, {"--runtime-path", Shim().string()}, {"NSC_SHIM_DROP_NS=" + GetParam().drop}};
  s.args.insert(s.args.end(), GetParam().args.begin(), GetParam().args.end());
  const RuntimeRun& run = RunOnce(s);
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  EXPECT_EQ(run.proc.exit_code, 1) << run.proc.Describe();
  EXPECT_EQ(run.Status(GetParam().rule), "fail") << run.proc.Describe();
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {run.Json()}), "");
}

INSTANTIATE_TEST_SUITE_P(Shim, IgnoresItsConfig,
                         ::testing::Values(ShimCase{"pid", "runtime.ns.pid"}, ShimCase{"network", "runtime.ns.net"},
                                           ShimCase{"ipc", "runtime.ns.ipc"}, ShimCase{"uts", "runtime.ns.uts"},
                                           ShimCase{"cgroup", "runtime.ns.cgroup"},
                                           ShimCase{"user", "runtime.ns.user", {"--add-userns"}}),
                         [](const auto& info) { return info.param.drop; });

// runc refuses a config without a mount namespace: no verdict at all, never a pass.
TEST(IgnoresItsConfigMount, RuncRefusesAndNothingPasses) {
  const RuntimeRun& run = RunOnce({"runc", false, false, {"--runtime-path", Shim().string()}, {"NSC_SHIM_DROP_NS=mount"}});
  if (!run.skipped_because.empty()) GTEST_SKIP() << run.skipped_because;
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  EXPECT_EQ(run.proc.exit_code, 1);
  EXPECT_THAT(Ids(run.report, "pass"), IsEmpty());
  EXPECT_EQ(run.Status("runtime.ns.mnt"), "error");
  EXPECT_EQ((*FindResult(run.report, "runtime.ns.mnt"))["reason_code"], "SETUP_FAILED");
}

// --- command line -----------------------------------------------------------------------------

Spawned Nsconform(std::vector<std::string> args) {
  args.insert(args.begin(), Paths::Nsconform().string());
  return Spawn(args, {.watch_exe = Paths::Nsconform()});
}

TEST(RuntimeCli, HelpTeaches) {
  Spawned p = Nsconform({"runtime", "--help"});
  EXPECT_EQ(p.exit_code, 0);
  for (const char* s : {"Usage: nsconform runtime ADAPTER", "--control", "--bundle", "runc", "bwrap", "unshare",
                        "Exit codes"}) {
    EXPECT_THAT(p.out, HasSubstr(s));
  }
}

TEST(RuntimeCli, UsageErrorsExit64WithOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"runtime"},
           {"runtime", "docker"},
           {"runtime", "bwrap", "--", "--bind", "/", "/"},
           {"runtime", "runc", "--bundle", "/nonexistent-bundle"},
           {"runtime", "bwrap", "--bundle", "/tmp"},
           {"runtime", "runc", "--timeout", "0"},
           {"runtime", "runc", "--filter", "nothing.*"},
       }) {
    Spawned p = Nsconform(args);
    EXPECT_EQ(p.exit_code, 64) << args.back() << "\n" << p.Describe();
    EXPECT_EQ(Lines(p.err).size(), 1u) << p.err;
  }
}

TEST(RuntimeCli, ListNamesEveryRuleWithItsSource) {
  Spawned p = Nsconform({"runtime", "runc", "--list"});
  EXPECT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_EQ(Lines(p.out).size(), 25u);
  EXPECT_THAT(p.out, HasSubstr("runtime.ns.pid  [OCI runtime-spec v1.0.2, config-linux.md, Namespaces]"));
}

TEST(RuntimeCli, AMissingRuntimeSkipsTheWholeSection) {
  TempDir dir("missing");
  Spawned p = Nsconform({"runtime", "crun", "-q", "--runtime-path", "/nonexistent/crun", "--no-default-reports",
                         "--json", (dir / "r.json").string()});
  EXPECT_EQ(p.exit_code, 4) << p.Describe();
  json report = ReadJson(dir / "r.json");
  EXPECT_EQ(report["summary"]["skip"], report["summary"]["total"]);
  EXPECT_THAT(report["runtime"]["unavailable"].get<std::string>(), HasSubstr("/nonexistent/crun"));
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {dir / "r.json"}), "");
}

}  // namespace
}  // namespace nsc::test
