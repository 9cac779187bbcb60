// Harness containment: nsconform-selftest runs purpose-built misbehaving cases (hang, crash,
// process trees, early exit, daemons, floods...). Every case must get the right verdict, the
// run must write all its reports, and no process of the run may survive it. Also: SIGINT /
// SIGTERM and --max-runtime stop a run cleanly, and the host audit catches a case that
// changes the host (run inside a throwaway namespace set).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/stat.h>

#include <map>
#include <set>
#include <memory>

#include "support.h"

namespace nsc::test {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// The selftest cases' group is not a namespace type; the report schema is widened for it.
const std::vector<std::string> kSelftestGroup = {"selftest"};

// One run of every selftest case, with all four report formats.
struct SelftestRun {
  std::unique_ptr<TempDir> dir;
  Spawned proc;
  json report;
  bool nested_ktap = false;
  bool strict_junit = false;
};

// Cached: each -j setting runs once per test binary.
const SelftestRun& RunAllSelftests(int jobs) {
  static std::map<int, SelftestRun> cache;
  auto it = cache.find(jobs);
  if (it != cache.end()) return it->second;
  SelftestRun& run = cache[jobs];
  run.dir = std::make_unique<TempDir>("selftest-j" + std::to_string(jobs));
  // -j1: flat KTAP and strict JUnit; -j4: nested KTAP and common JUnit.
  run.nested_ktap = jobs != 1;
  run.strict_junit = jobs == 1;
  const TempDir& d = *run.dir;
  std::vector<std::string> argv = {Paths::Selftest().string(), "-j", std::to_string(jobs),
                                   "--no-default-reports",
                                   "--json", (d / "r.json").string(),
                                   "--junit", (d / "r.junit.xml").string(),
                                   "--junit-profile", run.strict_junit ? "strict" : "common",
                                   "--ktap", (d / "r.ktap").string(),
                                   "--kcidb", (d / "r.kcidb.json").string()};
  if (run.nested_ktap) argv.push_back("--ktap-nested");
  run.proc = Spawn(argv, {.watch_exe = Paths::Selftest()});
  if (fs::exists(d / "r.json")) run.report = ReadJson(d / "r.json");
  return run;
}

class Containment : public ::testing::TestWithParam<int> {
 protected:
  const SelftestRun& Run() { return RunAllSelftests(GetParam()); }
  // The result of one case; fails the test (and returns an empty object) when absent.
  json Result(const std::string& id) {
    const SelftestRun& run = Run();
    if (run.report.is_null()) {
      ADD_FAILURE() << "no JSON report\n" << run.proc.Describe();
      return json::object();
    }
    const json* r = FindResult(run.report, id);
    if (r == nullptr) {
      ADD_FAILURE() << "no result for " << id;
      return json::object();
    }
    return *r;
  }
};

TEST_P(Containment, RunEndsWithExit1AndLeavesNoProcess) {
  const SelftestRun& run = Run();
  EXPECT_EQ(run.proc.exit_code, 1) << run.proc.Describe();
  EXPECT_THAT(run.proc.leaks, IsEmpty()) << "processes of the selftest run survived it";
  // No orphan escaped a case tree: the harness would have reported it as a run error.
  ASSERT_FALSE(run.report.is_null()) << run.proc.Describe();
  EXPECT_THAT(run.report["run"]["errors"], IsEmpty()) << run.report["run"].dump(2);
  EXPECT_EQ(run.report["run"]["complete"], true);
  EXPECT_EQ(run.report["run"]["exit_code"], 1);
}

TEST_P(Containment, WritesEveryReport) {
  const SelftestRun& run = Run();
  for (const char* name : {"r.json", "r.junit.xml", "r.ktap", "r.kcidb.json"}) {
    EXPECT_TRUE(fs::exists(*run.dir / name)) << name << " missing\n" << run.proc.Describe();
  }
  for (const auto& e : fs::directory_iterator(run.dir->path())) {
    EXPECT_THAT(e.path().filename().string(), Not(HasSubstr(".tmp-"))) << "temporary report file left";
  }
}

TEST_P(Containment, SummaryMatchesResults) {
  const SelftestRun& run = Run();
  ASSERT_FALSE(run.report.is_null());
  EXPECT_THAT(CheckSummary(run.report), IsEmpty());
  const json& s = run.report["summary"];
  EXPECT_EQ(s["total"], 11);
  EXPECT_EQ(s["pass"], 3);   // passes, leaves_daemon, noisy
  EXPECT_EQ(s["fail"], 1);   // fails
  EXPECT_EQ(s["skip"], 1);   // skips
  EXPECT_EQ(s["error"], 6);  // hangs, tree_hangs, crashes, exits_early, setup_fails, silent
}

TEST_P(Containment, PassingCasePasses) {
  json r = Result("selftest.passes");
  EXPECT_EQ(r["status"], "pass");
  EXPECT_FALSE(r.contains("reason_code"));
  EXPECT_EQ(r["observed"]["value"], 1);
}

TEST_P(Containment, MismatchIsFail) {
  json r = Result("selftest.fails");
  EXPECT_EQ(r["status"], "fail");
  EXPECT_EQ(r["reason_code"], "EXPECTATION_MISMATCH");
  EXPECT_THAT(r.value("reason", ""), AllOf(HasSubstr("value"), HasSubstr("2")));
  EXPECT_EQ(r["expected"]["value"], "is equal to 1");
}

TEST_P(Containment, HangIsTimeoutAfterItsOwnTimeout) {
  json r = Result("selftest.hangs");
  EXPECT_EQ(r["status"], "error");
  EXPECT_EQ(r["reason_code"], "TIMEOUT");
  EXPECT_EQ(r["timeout_s"], 1.0);
  const double d = r.value("duration_s", -1.0);
  EXPECT_GE(d, 1.0);
  EXPECT_LT(d, 5.0) << "the hung case was not killed promptly";
}

TEST_P(Containment, HangingTreeIsTimeoutAndKilledWhole) {
  json r = Result("selftest.tree_hangs");
  EXPECT_EQ(r["status"], "error");
  EXPECT_EQ(r["reason_code"], "TIMEOUT");
  EXPECT_LT(r.value("duration_s", 99.0), 5.0) << "the tree was not killed promptly";
  // Leaks of the tree (setsid grandchild, double-forked orphan) are checked for the whole run
  // in RunEndsWithExit1AndLeavesNoProcess.
}

TEST_P(Containment, CrashIsCrashedWithSignal) {
  json r = Result("selftest.crashes");
  EXPECT_EQ(r["status"], "error");
  EXPECT_EQ(r["reason_code"], "CRASHED");
  EXPECT_EQ(r["signal"], "SIGSEGV");
  EXPECT_THAT(r.value("reason", ""), HasSubstr("SIGSEGV"));
}

TEST_P(Containment, ExitWithoutReportingIsError) {
  json r = Result("selftest.exits_early");
  EXPECT_EQ(r["status"], "error");
  EXPECT_EQ(r["reason_code"], "HARNESS_ERROR");
  EXPECT_THAT(r.value("reason", ""), HasSubstr("without finishing"));
}

TEST_P(Containment, DaemonLeftBehindKeepsVerdictAndIsLogged) {
  json r = Result("selftest.leaves_daemon");
  EXPECT_EQ(r["status"], "pass");
  EXPECT_THAT(r.value("log", ""), HasSubstr("harness: killed 1 process(es) the case left behind"));
}

TEST_P(Containment, SkipFromBodyCarriesReasonCode) {
  json r = Result("selftest.skips");
  EXPECT_EQ(r["status"], "skip");
  EXPECT_EQ(r["reason_code"], "PRECONDITION_UNMET");
  EXPECT_EQ(r["reason"], "selftest: this case always skips");
}

TEST_P(Containment, SetupFailureIsSetupFailed) {
  json r = Result("selftest.setup_fails");
  EXPECT_EQ(r["status"], "error");
  EXPECT_EQ(r["reason_code"], "SETUP_FAILED");
  EXPECT_THAT(r.value("reason", ""), AllOf(HasSubstr("access of a missing file"), HasSubstr("ENOENT")));
}

TEST_P(Containment, MissingObservationIsErrorNotPass) {
  json r = Result("selftest.silent");
  EXPECT_EQ(r["status"], "error");
  EXPECT_EQ(r["reason_code"], "HARNESS_ERROR");
  EXPECT_THAT(r.value("reason", ""), HasSubstr("'value'"));
  EXPECT_THAT(r.value("log", ""), HasSubstr("selftest: recording nothing"));
}

TEST_P(Containment, FloodOfOutputIsTruncatedNotLost) {
  json r = Result("selftest.noisy");
  EXPECT_EQ(r["status"], "pass");
  const std::string log = r.value("log", "");
  EXPECT_THAT(log, HasSubstr("[output truncated at 64 KiB]"));
  EXPECT_LE(log.size(), 64u * 1024 + 1024);
  EXPECT_THAT(log, StartsWith("abcdefghijklmnopqrstuvwxyz"));
}

TEST_P(Containment, JsonValidatesAgainstSchemaWithSelftestGroup) {
  const SelftestRun& run = Run();
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {*run.dir / "r.json"}, kSelftestGroup), "");
}

TEST_P(Containment, JsonIsRejectedByTheStrictSchema) {
  // A real report never contains the selftest group: the unwidened schema must say so.
  const SelftestRun& run = Run();
  EXPECT_THAT(InvalidDocuments(Paths::ReportSchema(), {*run.dir / "r.json"}), Not(IsEmpty()));
}

TEST_P(Containment, JunitIsValid) {
  const SelftestRun& run = Run();
  if (run.strict_junit) {
    EXPECT_EQ(XmlLint(*run.dir / "r.junit.xml", Paths::JunitXsd()), "");
  } else {
    EXPECT_EQ(XmlLint(*run.dir / "r.junit.xml"), "");
  }
  const std::string xml = ReadFile(*run.dir / "r.junit.xml");
  size_t testcases = 0;
  for (size_t p = xml.find("<testcase "); p != std::string::npos; p = xml.find("<testcase ", p + 1)) ++testcases;
  EXPECT_EQ(testcases, 11u);
  EXPECT_THAT(xml, HasSubstr("type=\"TIMEOUT\""));
  EXPECT_THAT(xml, HasSubstr("type=\"CRASHED\""));
}

TEST_P(Containment, KtapMatchesKernelParser) {
  const SelftestRun& run = Run();
  EXPECT_THAT(CheckKtap(ReadFile(*run.dir / "r.ktap"), run.report, run.nested_ktap), IsEmpty());
}

TEST_P(Containment, KcidbValidatesAndMapsStatuses) {
  const SelftestRun& run = Run();
  EXPECT_EQ(ValidateJson(Paths::KcidbSchema(), {*run.dir / "r.kcidb.json"}), "");
  EXPECT_THAT(CheckKcidb(ReadJson(*run.dir / "r.kcidb.json"), run.report), IsEmpty());
}

// The leak scan itself finds a process left behind (otherwise every "no leftovers" check
// above would be vacuous): setsid --fork leaves a `sleep` running with our token.
TEST(LeakScan, FindsAProcessLeftBehind) {
  Spawned p = Spawn({"setsid", "--fork", "sleep", "600"});
  // The scan can meet the forked child in the middle of its execve, when its environ cannot be
  // read for a moment (seen once in ~10 runs): scan again until it is seen, a bounded number of
  // times (each scan walks /proc; nothing here waits for time to pass).
  std::vector<std::string> leaks = p.leaks;
  for (int scan = 0; scan < 1000 && leaks.empty(); ++scan) leaks = FindProcesses({});
  ASSERT_EQ(leaks.size(), 1u) << p.Describe();
  EXPECT_THAT(leaks[0], HasSubstr("sleep 600"));
  const pid_t pid = std::stoi(leaks[0]);
  // Kill it and wait for it through a pidfd (it is not our child).
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0);
  ASSERT_EQ(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0), 0);
  pollfd pfd{pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 10000), 1);
  close(pidfd);
  // A zombie may linger until its new parent reaps it; zombies do not count as leaks.
  EXPECT_THAT(FindProcesses({}), IsEmpty());
}

// SIGKILL of the harness while a case tree hangs (nothing of the harness can run: no signal
// handler, no PDEATHSIG below the supervisor): the run cgroup's watchdog kills the tree and
// removes the cgroup. Processes still alive when the harness is gone get 10 s to die, waited
// for through pidfds (event-driven).
TEST(HarnessDeath, SigkillLeavesNoProcessAndNoCgroup) {
  if (!IsRoot()) GTEST_SKIP() << "the run cgroup is made under the root cgroup here";
  auto run_cgroups = [] {
    std::set<std::string> found;
    for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(root, ec)) {
        if (e.path().filename().string().rfind("nsconform-", 0) == 0) found.insert(e.path());
      }
    }
    return found;
  };
  const std::set<std::string> before = run_cgroups();
  Spawned p = Spawn({"timeout", "-s", "KILL", "2", Paths::Selftest().string(), "--filter",
                     "selftest.tree_hangs", "--timeout-multiplier", "100", "--no-default-reports", "-q"},
                    {.watch_exe = Paths::Selftest()});
  EXPECT_EQ(p.exit_code, 128 + SIGKILL) << p.Describe();
  for (const std::string& leak : p.leaks) {
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, std::stoi(leak), 0));
    if (pidfd < 0) continue;  // already gone
    pollfd pfd{pidfd, POLLIN, 0};
    poll(&pfd, 1, 10000);
    close(pidfd);
  }
  EXPECT_THAT(FindProcesses(Paths::Selftest()), IsEmpty()) << "the case tree outlived the harness";
  // Run cgroups are named nsconform-<harness pid>-<hex>; other runs may be live on a shared
  // host, so only new ones of harnesses that no longer exist count.
  for (const std::string& path : run_cgroups()) {
    if (before.contains(path)) continue;
    const std::string name = fs::path(path).filename().string();
    const std::string pid = name.substr(10, name.find('-', 10) - 10);
    EXPECT_TRUE(fs::exists("/proc/" + pid)) << "run cgroup of a dead harness left behind: " << path;
  }
}

INSTANTIATE_TEST_SUITE_P(Jobs, Containment, ::testing::Values(1, 4),
                         [](const auto& info) { return "j" + std::to_string(info.param); });

// ---------------------------------------------------------------------------------------------
// Stopping a run: a signal, or --max-runtime.

// selftest.fails runs first (-j 1, sorted by ID), then selftest.hangs blocks for 30 s (its
// 1 s timeout times 30), then selftest.passes would run.
const char* const kStopSelection = "selftest.fails:selftest.hangs:selftest.passes";

struct StoppedRun {
  Spawned proc;
  json report;
  std::string ktap;
};

StoppedRun RunAndStop(TempDir& d, std::vector<std::string> extra, int signal_to_send) {
  std::vector<std::string> argv = {Paths::Selftest().string(), "-j", "1", "--filter", kStopSelection,
                                   "--timeout-multiplier", "30", "--no-default-reports",
                                   "--json", (d / "r.json").string(), "--ktap", (d / "r.ktap").string(),
                                   "--kcidb", (d / "r.kcidb.json").string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  SpawnOptions options{.watch_exe = Paths::Selftest()};
  bool sent = false;
  if (signal_to_send != 0) {
    // Progress goes to stderr, one line per finished case: once the first case is reported,
    // the run is inside its event loop and the hang is about to start (or has started).
    options.on_stderr_line = [&](const std::string& line, pid_t pid) {
      if (!sent && line.find("[1/3] selftest.fails: fail") != std::string::npos) {
        kill(pid, signal_to_send);
        sent = true;
      }
    };
  }
  StoppedRun r;
  r.proc = Spawn(argv, options);
  if (signal_to_send != 0) {
    EXPECT_TRUE(sent) << "never saw the first progress line\n" << r.proc.Describe();
  }
  if (fs::exists(d / "r.json")) r.report = ReadJson(d / "r.json");
  if (fs::exists(d / "r.ktap")) r.ktap = ReadFile(d / "r.ktap");
  return r;
}

void ExpectStoppedReport(const StoppedRun& r, int exit_code, const std::string& not_run_reason) {
  EXPECT_EQ(r.proc.exit_code, exit_code) << r.proc.Describe();
  EXPECT_LT(r.proc.seconds, 10.0) << "the run was not stopped promptly";
  EXPECT_THAT(r.proc.leaks, IsEmpty());
  ASSERT_FALSE(r.report.is_null()) << "no partial report\n" << r.proc.Describe();
  EXPECT_EQ(r.report["run"]["complete"], false);
  EXPECT_EQ(r.report["run"]["exit_code"], exit_code);
  const json* fails = FindResult(r.report, "selftest.fails");
  const json* hangs = FindResult(r.report, "selftest.hangs");
  const json* passes = FindResult(r.report, "selftest.passes");
  ASSERT_TRUE(fails && hangs && passes) << r.report["results"].dump(2);
  EXPECT_EQ((*fails)["status"], "fail") << "the case that finished keeps its verdict";
  for (const json* nr : {hangs, passes}) {
    EXPECT_EQ((*nr)["status"], "error") << (*nr)["id"];
    EXPECT_EQ((*nr)["reason_code"], "NOT_RUN") << (*nr)["id"];
  }
  EXPECT_THAT((*passes)["reason"].get<std::string>(), HasSubstr(not_run_reason));
  EXPECT_THAT(CheckSummary(r.report), IsEmpty());
}

class StopBySignal : public ::testing::TestWithParam<int> {};

TEST_P(StopBySignal, Exit130PartialReportsNotRunCasesNoLeftovers) {
  TempDir d("signal");
  StoppedRun r = RunAndStop(d, {}, GetParam());
  ExpectStoppedReport(r, 130, "interrupted");
  EXPECT_THAT(r.proc.err, HasSubstr("interrupted by signal " + std::to_string(GetParam())));
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "r.json"}, kSelftestGroup), "");
  EXPECT_EQ(ValidateJson(Paths::KcidbSchema(), {d / "r.kcidb.json"}), "");
  EXPECT_THAT(CheckKtap(r.ktap, r.report, false), IsEmpty());
  EXPECT_THAT(CheckKcidb(ReadJson(d / "r.kcidb.json"), r.report), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Signals, StopBySignal, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) { return info.param == SIGINT ? "SIGINT" : "SIGTERM"; });

TEST(StopByMaxRuntime, Exit124PartialReportsNotRunCasesNoLeftovers) {
  TempDir d("max-runtime");
  StoppedRun r = RunAndStop(d, {"--max-runtime", "0.5"}, 0);
  ExpectStoppedReport(r, 124, "--max-runtime");
  EXPECT_THAT(FindResult(r.report, "selftest.hangs")->value("reason", ""), HasSubstr("--max-runtime"));
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "r.json"}, kSelftestGroup), "");
  EXPECT_THAT(CheckKtap(r.ktap, r.report, false), IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Host audit. nsconform-selftest-hostaudit's cases change the hostname and an IPC sysctl, leave
// a SysV shm segment and leave a mount. It runs under unshare(1) in fresh mount, UTS, IPC and network
// namespaces, so the "host" it changes is thrown away when the run ends.

// "NSCONFORM_SELFTEST_HOST_UTS=dev:ino" etc.: this process's namespaces, i.e. the host's.
std::vector<std::string> HostNamespaceEnv() {
  std::vector<std::string> env;
  for (const char* type : {"uts", "ipc", "mnt"}) {
    struct stat st{};
    if (stat((std::string("/proc/self/ns/") + type).c_str(), &st) != 0) continue;
    std::string name = type;
    for (char& c : name) c = static_cast<char>(toupper(c));
    env.push_back("NSCONFORM_SELFTEST_HOST_" + name + "=" + std::to_string(st.st_dev) + ":" +
                  std::to_string(st.st_ino));
  }
  return env;
}

TEST(HostAudit, CatchesHostVisibleChangesInsideThrowawayNamespaces) {
  if (!IsRoot()) GTEST_SKIP() << "unshare --mount/--uts/... needs root";
  TempDir d("hostaudit");
  fs::create_directory(d / "mountpoint");
  Spawned p = Spawn({"unshare", "--mount", "--uts", "--ipc", "--net", "--fork", "--",
                     Paths::HostAudit().string(), "-j", "1", "--no-default-reports", "--json",
                     (d / "r.json").string()},
                    {.cwd = d.path(), .extra_env = HostNamespaceEnv(), .watch_exe = Paths::HostAudit()});
  EXPECT_EQ(p.exit_code, 1) << p.Describe();
  EXPECT_THAT(p.leaks, IsEmpty());
  ASSERT_TRUE(fs::exists(d / "r.json")) << p.Describe();
  json report = ReadJson(d / "r.json");
  // The cases themselves pass: the exit code comes from the audit alone.
  for (const auto& r : report["results"]) {
    EXPECT_EQ(r["status"], "pass") << r.dump(2);
  }
  const json& errors = report["run"]["errors"];
  EXPECT_THAT(errors, Contains(HasSubstr("hostname changed"))) << errors.dump(2);
  EXPECT_THAT(errors, Contains(HasSubstr("sysvipc/shm"))) << errors.dump(2);
  EXPECT_THAT(errors, Contains(HasSubstr("sysctl kernel/msgmnb changed"))) << errors.dump(2);
  EXPECT_THAT(errors, Contains(AllOf(HasSubstr("mount appeared"), HasSubstr("mountpoint"))))
      << errors.dump(2);
  EXPECT_EQ(report["run"]["exit_code"], 1);
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "r.json"}, kSelftestGroup), "");
  // The throwaway namespaces are gone: nothing is mounted on our side.
  EXPECT_TRUE(fs::is_empty(d / "mountpoint"));
}

TEST(HostAudit, HostChangingCasesRefuseToRunOnTheHost) {
  // Without the sandbox, the cases see the host's namespaces (or no host identity at all) and
  // skip; test_main.cc's final check confirms that hostname, IPC and mounts did not change.
  for (bool with_env : {false, true}) {
    TempDir d("hostaudit-guard");
    fs::create_directory(d / "mountpoint");
    SpawnOptions options{.cwd = d.path(), .watch_exe = Paths::HostAudit()};
    if (with_env) options.extra_env = HostNamespaceEnv();
    Spawned p = Spawn({Paths::HostAudit().string(), "--no-default-reports", "--json", (d / "r.json").string()},
                      options);
    EXPECT_EQ(p.exit_code, 4) << "with_env=" << with_env << "\n" << p.Describe();
    ASSERT_TRUE(fs::exists(d / "r.json")) << p.Describe();
    json report = ReadJson(d / "r.json");
    for (const auto& r : report["results"]) {
      EXPECT_EQ(r["status"], "skip") << r.dump(2);
    }
    EXPECT_THAT(report["run"]["errors"], IsEmpty());
  }
}

}  // namespace
}  // namespace nsc::test
