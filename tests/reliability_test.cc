// Reliability at the edges (issue 13): hostile command lines and report inputs, a full or
// closed stdout, report names at the file-name limit, and stop signals at every stage of the
// process (startup, mid-run, while the reports are written, twice in a row). Every bad input
// is exit 64 with one line and nothing written; every signal is exit 130 with valid reports
// and no temporary file left. Synchronisation is by the harness's own output or a fifo.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

extern char** environ;

namespace nsc::test {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

const std::vector<std::string> kSelftestGroup = {"selftest"};
// The cases that finish at once (no hang, no timeout).
const char* const kQuickCases = "selftest.passes:selftest.fails:selftest.skips:selftest.crashes:selftest.noisy";

Spawned Selftest(std::vector<std::string> args, const fs::path& cwd = {}, std::vector<std::string> env = {}) {
  args.insert(args.begin(), Paths::Selftest().string());
  return Spawn(args, {.cwd = cwd, .extra_env = env, .watch_exe = Paths::Selftest()});
}

// Files a report writer may have left behind: temporaries and probes.
std::vector<std::string> Leftovers(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp") != std::string::npos || name.starts_with(".nsconform-")) found.push_back(e.path());
  }
  return found;
}

// A child with stdout on a descriptor of our choosing (a pipe, /dev/full), which Spawn()
// cannot do. stdin is /dev/null, stderr goes to `err_path`.
struct RawChild {
  pid_t pid = -1;
  int Wait() const {
    int status = 0;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

RawChild StartRaw(const std::vector<std::string>& argv, int stdout_fd, const fs::path& err_path,
                  const std::vector<std::string>& extra_env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, SessionTempRoot().c_str());
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    if (!kv.starts_with("KCONFIG_PATH=") && !kv.starts_with("NSCONFORM_TIMEOUT_MUL=")) env_strings.push_back(kv);
  }
  env_strings.push_back("NSCONFORM_TEST_TOKEN=" + SessionToken());
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  RawChild c;
  const int err = posix_spawn(&c.pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) throw std::runtime_error("posix_spawn: " + std::to_string(err));
  return c;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return out;
    }
  }
}

// --- bad command lines: 64, one line, nothing written -------------------------------------------

struct BadInput {
  std::string name;
  std::vector<std::string> args;
  std::string message;
  std::vector<std::string> env = {};
};

void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class BadCommandLine : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadCommandLine, Exits64WithOneLineNamingTheProblemAndWritesNothing) {
  TempDir d("bad-input");
  const BadInput& c = GetParam();
  Spawned p = Selftest(c.args, d.path(), c.env);
  EXPECT_EQ(p.exit_code, 64) << p.Describe();
  EXPECT_THAT(Lines(p.err), SizeIs(1)) << p.Describe();
  EXPECT_THAT(p.err, AllOf(StartsWith("nsconform: "), HasSubstr(c.message))) << p.Describe();
  EXPECT_EQ(p.out, "");
  EXPECT_TRUE(fs::is_empty(d.path())) << "a usage error wrote files";
  EXPECT_THAT(p.leaks, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Reliability, BadCommandLine,
    ::testing::Values(
        BadInput{"timeout_multiplier_1e300", {"--timeout-multiplier", "1e300"}, "--timeout-multiplier needs a number in [0.010, 1000], got '1e300'"},
        BadInput{"timeout_multiplier_1e9", {"--timeout-multiplier", "1e9"}, "--timeout-multiplier needs a number in [0.010, 1000]"},
        BadInput{"timeout_multiplier_inf", {"--timeout-multiplier", "inf"}, "--timeout-multiplier needs a number in"},
        BadInput{"timeout_multiplier_nan", {"--timeout-multiplier=nan"}, "--timeout-multiplier needs a number in"},
        BadInput{"timeout_multiplier_env_inf", {}, "NSCONFORM_TIMEOUT_MUL needs a number in", {"NSCONFORM_TIMEOUT_MUL=inf"}},
        BadInput{"max_runtime_1e10", {"--max-runtime", "1e10"}, "--max-runtime needs a number in [0.001, 2592000]"},
        BadInput{"max_runtime_inf", {"--max-runtime", "inf"}, "--max-runtime needs a number in"},
        BadInput{"jobs_1e10", {"-j", "1e10"}, "-j needs a number in [1, 1024], got '1e10'"},
        BadInput{"jobs_huge", {"--jobs=4294967297"}, "--jobs needs a number in [1, 1024]"},
        BadInput{"filter_empty", {"--filter", ""}, "--filter needs a non-empty value"},
        BadInput{"filter_dash", {"--filter", "-"}, "--filter '-' has an empty negative part"},
        BadInput{"filter_invalid_utf8_selects_nothing", {"--filter", "\xff\xfe"}, "matches no rule"},
        BadInput{"namespace_empty", {"--namespace", ""}, "--namespace needs a non-empty value"},
        BadInput{"namespace_unknown", {"--namespace", "uts,bogus"}, "--namespace: unknown namespace 'bogus'"},
        BadInput{"explain_empty", {"--explain", ""}, "--explain needs a non-empty value"},
        BadInput{"explain_near_matches_on_one_line", {"--explain", "hang"}, "did you mean: selftest.hangs, selftest.tree_hangs"},
        BadInput{"report_dir_empty", {"--report-dir", ""}, "--report-dir needs a non-empty value"},
        BadInput{"json_empty", {"--json="}, "--json needs a non-empty value"},
        BadInput{"two_reports_one_path", {"--filter", "selftest.passes", "--no-default-reports", "--json", "r.out", "--ktap", "./r.out"}, "--json and --ktap both write"},
        BadInput{"two_reports_on_stdout", {"--filter", "selftest.passes", "--json", "-", "--ktap", "-"}, "--json and --ktap both write to stdout"}),
    [](const auto& info) { return info.param.name; });

// --- invalid UTF-8 and huge numbers never lose a finished run ------------------------------------

TEST(Reliability, InvalidUtf8InArgvIsSanitisedAndTheReportsAreWritten) {
  TempDir d("utf8");
  Spawned p = Selftest({"--filter", "selftest.passes:\xff*", "--no-default-reports", "--json", (d / "r.json").string(),
                        "--junit", (d / "r.xml").string(), "--kcidb", (d / "r.kcidb.json").string(), "-q"});
  ASSERT_EQ(p.exit_code, 0) << p.Describe();
  json r = ReadJson(d / "r.json");
  EXPECT_EQ(r["invocation"]["selection"]["include"][1], "\xEF\xBF\xBD*");
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "r.json"}, kSelftestGroup), "");
  EXPECT_EQ(XmlLint(d / "r.xml"), "");
  EXPECT_EQ(ValidateJson(Paths::KcidbSchema(), {d / "r.kcidb.json"}), "");
}

TEST(Reliability, LargestAcceptedTimeoutMultiplierStillWritesValidReports) {
  TempDir d("big-mul");
  Spawned p = Selftest({"--filter", "selftest.passes:selftest.fails", "--timeout-multiplier", "1000",
                        "--no-default-reports", "--json", (d / "r.json").string(), "--ktap", (d / "r.ktap").string()});
  EXPECT_EQ(p.exit_code, 1) << p.Describe();
  json r = ReadJson(d / "r.json");
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "r.json"}, kSelftestGroup), "");
  EXPECT_THAT(CheckKtap(ReadFile(d / "r.ktap"), r, false), IsEmpty());
}

// --- report paths -----------------------------------------------------------------------------

TEST(Reliability, ReportNamesUpToNameMaxAreWrittenLongerOnesRefusedBeforeTheRun) {
  TempDir d("long-names");
  const fs::path longest = d / (std::string(250, 'n') + ".json");
  Spawned ok = Selftest({"--filter", "selftest.passes", "--no-default-reports", "--json", longest.string(), "-q"});
  EXPECT_EQ(ok.exit_code, 0) << ok.Describe();
  EXPECT_TRUE(fs::exists(longest));
  const fs::path too_long = d / (std::string(256, 'n'));
  Spawned bad = Selftest({"--filter", "selftest.passes", "--no-default-reports", "--json", (d / "r.json").string(),
                          "--ktap", too_long.string()});
  EXPECT_EQ(bad.exit_code, 70) << bad.Describe();
  EXPECT_THAT(bad.err, HasSubstr("longer than NAME_MAX"));
  EXPECT_THAT(bad.err, Not(HasSubstr("selftest.passes"))) << "the run started anyway";
  EXPECT_FALSE(fs::exists(d / "r.json"));
  EXPECT_THAT(Leftovers(d.path()), IsEmpty());
}

TEST(Reliability, AReportDirectoryWithoutRoomIsExit70NamingEnospcBeforeTheRun) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to mount a small tmpfs in a private mount namespace";
  TempDir d("enospc");
  const fs::path small = d / "small";
  fs::create_directory(small);
  // The child makes a private mount namespace with a 32 KiB tmpfs, then runs the harness in it.
  // Everything it needs is prepared before fork (no allocation after it).
  const std::string exe = Paths::Selftest().string(), json_path = (small / "r.json").string(),
                    ktap_path = (d / "r.ktap").string(), err_path = (d / "err").string();
  const pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", small.c_str(), "tmpfs", 0, "size=32k") != 0) {
      _exit(99);
    }
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    dup2(err, STDERR_FILENO);
    execl(exe.c_str(), exe.c_str(), "--filter", "selftest.passes", "--no-default-reports", "--ktap", ktap_path.c_str(),
          "--json", json_path.c_str(), static_cast<char*>(nullptr));
    _exit(98);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 70) << ReadFile(d / "err");
  EXPECT_THAT(ReadFile(d / "err"), AllOf(HasSubstr("no room"), HasSubstr("ENOSPC")));
  EXPECT_THAT(ReadFile(d / "err"), Not(HasSubstr("selftest.passes"))) << "the run started anyway";
  EXPECT_FALSE(fs::exists(d / "r.ktap")) << "nothing is written when the run does not start";
}

// --- stdout: only the report, and its errors are named ------------------------------------------

TEST(Reliability, JsonOnStdoutIsOnlyJsonAndTheSummaryGoesToStderr) {
  Spawned p = Selftest({"--filter", "selftest.passes:selftest.fails", "--no-default-reports", "--json", "-"});
  EXPECT_EQ(p.exit_code, 1) << p.Describe();
  json r;
  ASSERT_NO_THROW(r = json::parse(p.out)) << p.out.substr(0, 2000);
  EXPECT_EQ(r["summary"]["total"], 2);
  EXPECT_THAT(p.err, HasSubstr("namespace  pass"));
}

TEST(Reliability, AReportToAFullStdoutIsExit70NamingEnospcAndTheOtherReportsAreKept) {
  TempDir d("dev-full");
  const int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  RawChild c = StartRaw({Paths::Selftest().string(), "--filter", "selftest.passes", "--no-default-reports", "--ktap", "-",
                         "--json", (d / "r.json").string()},
                        full, d / "err");
  close(full);
  EXPECT_EQ(c.Wait(), 70) << ReadFile(d / "err");
  EXPECT_THAT(ReadFile(d / "err"), HasSubstr("ENOSPC"));
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "r.json"}, kSelftestGroup), "");
  EXPECT_EQ(ReadJson(d / "r.json")["run"]["exit_code"], 0) << "the run itself passed";
}

TEST(Reliability, AClosedStdoutLosesOnlyTheSummaryButAReportOnItIsExit70NamingEpipe) {
  TempDir d("closed-stdout");
  for (bool ktap_on_stdout : {false, true}) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);  // as `nsconform | head -1` once head has exited
    std::vector<std::string> argv = {Paths::Selftest().string(), "--filter", "selftest.passes", "--no-default-reports",
                                     "--json", (d / "r.json").string()};
    if (ktap_on_stdout) argv.insert(argv.end(), {"--ktap", "-"});
    RawChild c = StartRaw(argv, p[1], d / "err");
    close(p[1]);
    const int code = c.Wait();
    const std::string err = ReadFile(d / "err");
    if (ktap_on_stdout) {
      EXPECT_EQ(code, 70) << err;
      EXPECT_THAT(err, HasSubstr("EPIPE"));
    } else {
      EXPECT_EQ(code, 0) << "the reports are on disk; only the summary was lost\n" << err;
    }
    EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "r.json"}, kSelftestGroup), "");
  }
}

// --- signals at every stage ---------------------------------------------------------------------

void ExpectInterruptedReports(const fs::path& json_path, bool complete) {
  ASSERT_TRUE(fs::exists(json_path));
  json r = ReadJson(json_path);
  EXPECT_EQ(r["run"]["complete"], complete);
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {json_path}, kSelftestGroup), "");
  EXPECT_THAT(CheckSummary(r), IsEmpty());
}

TEST(Reliability, SignalsDuringTheProbeStopTheRunBeforeItStartsWithPartialReports) {
  TempDir d("signal-startup");
  const fs::path fifo = d / "kconfig";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  RawChild c = StartRaw({Paths::Selftest().string(), "--filter", kQuickCases, "--no-default-reports",
                         "--json", (d / "r.json").string(), "--ktap", (d / "r.ktap").string(), "-q"},
                        open("/dev/null", O_WRONLY | O_CLOEXEC), d / "err", {"KCONFIG_PATH=" + fifo.string()});
  // The probe opens KCONFIG_PATH: once our open returns, the harness is inside the probe.
  const int w = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(w, 0);
  kill(c.pid, SIGINT);
  kill(c.pid, SIGTERM);  // a second, different signal within microseconds
  ASSERT_EQ(write(w, "CONFIG_UTS_NS=y\n", 16), 16);
  close(w);
  EXPECT_EQ(c.Wait(), 130) << ReadFile(d / "err");
  EXPECT_THAT(ReadFile(d / "err"), HasSubstr("interrupted by signal"));
  ExpectInterruptedReports(d / "r.json", false);
  json r = ReadJson(d / "r.json");
  for (const auto& res : r["results"]) EXPECT_EQ(res["reason_code"], "NOT_RUN") << res["id"];
  EXPECT_THAT(CheckKtap(ReadFile(d / "r.ktap"), r, false), IsEmpty());
  EXPECT_THAT(Leftovers(d.path()), IsEmpty());
  EXPECT_THAT(FindProcesses(Paths::Selftest()), IsEmpty());
}

TEST(Reliability, TwoSignalsMidRunGiveOne130AndValidPartialReports) {
  TempDir d("signal-twice");
  bool sent = false;
  Spawned p = Spawn({Paths::Selftest().string(), "-j", "1", "--filter", "selftest.fails:selftest.hangs:selftest.passes",
                     "--timeout-multiplier", "30", "--no-default-reports", "--json", (d / "r.json").string(),
                     "--kcidb", (d / "r.kcidb.json").string()},
                    {.on_stderr_line =
                         [&](const std::string& line, pid_t pid) {
                           if (!sent && line.find("[1/3] selftest.fails") != std::string::npos) {
                             kill(pid, SIGINT);
                             kill(pid, SIGINT);
                             kill(pid, SIGHUP);
                             sent = true;
                           }
                         },
                     .watch_exe = Paths::Selftest()});
  ASSERT_TRUE(sent) << p.Describe();
  EXPECT_EQ(p.exit_code, 130) << p.Describe();
  EXPECT_LT(p.seconds, 10.0);
  EXPECT_THAT(p.leaks, IsEmpty());
  ExpectInterruptedReports(d / "r.json", false);
  EXPECT_EQ(ValidateJson(Paths::KcidbSchema(), {d / "r.kcidb.json"}), "");
  // No "not run" line per rule: one line says how many had no verdict.
  EXPECT_THAT(p.out + p.err, Not(HasSubstr("selftest.passes: not run")));
  EXPECT_THAT(p.out, HasSubstr("not run: 2 rule(s)"));
  EXPECT_THAT(Leftovers(d.path()), IsEmpty());
}

TEST(Reliability, SignalsWhileTheReportsAreWrittenDoNotStopTheWriting) {
  TempDir d("signal-writing");
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  ASSERT_GE(fcntl(p[1], F_SETPIPE_SZ, 4096), 0);  // the JSON report does not fit: the writer blocks
  RawChild c = StartRaw({Paths::Selftest().string(), "--filter", kQuickCases, "--no-default-reports", "--json", "-",
                         "--junit", (d / "r.xml").string(), "--ktap", (d / "r.ktap").string(), "-q"},
                        p[1], d / "err");
  close(p[1]);
  // The first byte on stdout is the JSON report being written (human output is on stderr).
  pollfd pfd{p[0], POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 60000), 1) << "no report on stdout\n" << ReadFile(d / "err");
  kill(c.pid, SIGINT);
  kill(c.pid, SIGINT);
  kill(c.pid, SIGTERM);
  const std::string out = ReadAll(p[0]);
  close(p[0]);
  EXPECT_EQ(c.Wait(), 130) << ReadFile(d / "err");
  json r;
  ASSERT_NO_THROW(r = json::parse(out)) << out.substr(0, 500);
  EXPECT_EQ(r["summary"]["total"], 5) << "every case ran before the signal";
  WriteFile(d / "stdout.json", out);
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), {d / "stdout.json"}, kSelftestGroup), "");
  EXPECT_EQ(XmlLint(d / "r.xml"), "") << "a report written after the signals";
  EXPECT_THAT(CheckKtap(ReadFile(d / "r.ktap"), r, false), IsEmpty());
  EXPECT_THAT(Leftovers(d.path()), IsEmpty());
}

// --- convert / compare on hostile input -----------------------------------------------------------

const json& ValidReport() {
  static const json report = [] {
    TempDir d("valid-report");
    Selftest({"--filter", "selftest.passes:selftest.fails", "--no-default-reports", "--json", (d / "r.json").string(), "-q"});
    return ReadJson(d / "r.json");
  }();
  return report;
}

struct WrongShape {
  std::string name;
  json doc;
  std::string message;  // expected in the one line
};

std::vector<WrongShape> WrongShapes() {
  std::vector<WrongShape> shapes = {
      {"only_the_schema_name", {{"schema", "nsconform-report"}}, ""},
      {"not_an_object", json::array({1, 2}), "not an nsconform report"},
      {"a_string", "nsconform-report", "not an nsconform report"},
  };
  json v = ValidReport();
  v["schema_version"] = "9.9";
  shapes.push_back({"unknown_schema_version", v, "/schema_version"});
  v = ValidReport();
  v["schema_version"] = 1;
  shapes.push_back({"schema_version_a_number", v, "/schema_version"});
  v = ValidReport();
  v["results"][0]["status"] = "weird";
  shapes.push_back({"unknown_status", v, "/results/0/status"});
  for (const auto& [key, value] : ValidReport().items()) {
    if (key == "schema") continue;
    v = ValidReport();
    v.erase(key);
    shapes.push_back({"without_" + key, v, ""});
    for (const json& wrong : {json(3), json("x"), json::array(), json(nullptr), json::object()}) {
      if (wrong.type() == value.type()) continue;
      v = ValidReport();
      v[key] = wrong;
      shapes.push_back({key + "_as_" + std::string(wrong.type_name()), v, "/" + key});
    }
  }
  v = ValidReport();
  v["results"][0] = 3;
  shapes.push_back({"a_result_that_is_a_number", v, "/results/0"});
  v = ValidReport();
  v["results"][0].erase("id");
  shapes.push_back({"a_result_without_id", v, "/results/0"});
  v = ValidReport();
  v["system"]["kernel"].erase("release");
  shapes.push_back({"no_kernel_release", v, "/system/kernel"});
  return shapes;
}

TEST(Reliability, ConvertAndCompareRejectWrongShapesWith64AndTheJsonPointer) {
  TempDir d("wrong-shapes");
  WriteFile(d / "valid.json", ValidReport().dump());
  const auto shapes = WrongShapes();
  EXPECT_GE(shapes.size(), 26u);
  for (const WrongShape& s : shapes) {
    const fs::path in = d / (s.name + ".json");
    WriteFile(in, s.doc.dump());
    for (const char* to : {"junit", "ktap", "kcidb"}) {
      Spawned p = Selftest({"convert", in.string(), std::string("--to=") + to, "-o", (d / "out").string()});
      EXPECT_EQ(p.exit_code, 64) << s.name << " --to=" << to << "\n" << p.Describe();
      EXPECT_THAT(Lines(p.err), SizeIs(1)) << s.name << "\n" << p.Describe();
      EXPECT_THAT(p.err, HasSubstr(s.message)) << s.name;
      EXPECT_FALSE(fs::exists(d / "out")) << s.name;
    }
    Spawned q = Selftest({"compare", (d / "valid.json").string(), in.string()});
    EXPECT_EQ(q.exit_code, 64) << s.name << "\n" << q.Describe();
    EXPECT_THAT(q.err, HasSubstr(s.message)) << s.name;
  }
  EXPECT_THAT(Leftovers(d.path()), IsEmpty());
}

TEST(Reliability, ConvertAcceptsAValidReportFromThisBinary) {
  TempDir d("convert-valid");
  WriteFile(d / "valid.json", ValidReport().dump());
  Spawned p = Selftest({"convert", (d / "valid.json").string(), "--to=ktap"});
  EXPECT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_THAT(p.out, StartsWith("KTAP version 1\n"));
}

}  // namespace
}  // namespace nsc::test
