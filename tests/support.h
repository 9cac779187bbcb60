// Helpers shared by the project's own tests: running the binaries (Boost.Process, never a
// shell), temp dirs, leak scans, and checks of the report formats (JSON Schema, xmllint, KTAP).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nsc::test {

namespace fs = std::filesystem;
using nlohmann::json;

// Paths handed in by CMake.
struct Paths {
  static fs::path Nsconform();   // the real suite
  static fs::path NsconformStatic();  // the real suite, fully static
  static fs::path Selftest();    // harness + tests/misbehaving_cases.cc
  static fs::path HostAudit();   // harness + tests/host_changing_cases.cc (sandbox only)
  static fs::path SourceDir();
  static fs::path ReportSchema();  // reports/nsconform-report.schema.json
  static fs::path KcidbSchema();
  static fs::path JunitXsd();
  static fs::path Catalogue();     // tests/data/catalogue_ids.txt
  static fs::path Validator();     // tests/tools/validate_json.py
};

// A fresh directory under the session's temp root, removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// The directory every TempDir lives in; created on first use, removed by the test main.
fs::path SessionTempRoot();
void RemoveSessionTempRoot();

// The value of NSCONFORM_TEST_TOKEN that every program this test binary starts inherits:
// processes carrying it in /proc/PID/environ are ours.
const std::string& SessionToken();

struct Spawned {
  int status = 0;     // raw wait status
  int exit_code = -1; // exit status, or 128 + signal
  bool signaled = false;
  std::string out;    // stdout
  std::string err;    // stderr
  std::vector<std::string> leaks;  // processes of the run still alive after it ended
  double seconds = 0;
  std::string Describe() const;  // for failure messages
};

struct SpawnOptions {
  fs::path cwd;  // default: the session temp root (never the source or build tree)
  std::vector<std::string> extra_env;  // "NAME=value"
  // Called with each stderr line as it arrives (the child runs meanwhile); pid of the child.
  std::function<void(const std::string& line, pid_t pid)> on_stderr_line;
  // Also count as left behind any live process running this executable (our binaries only:
  // a system program such as python3 may legitimately run elsewhere).
  fs::path watch_exe;
};

// Runs argv[0] (absolute, or searched in PATH) with Boost.Process, waits, and scans /proc for
// anything the run left behind (the session token in its environment, or options.watch_exe).
Spawned Spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// Live (non-zombie) processes carrying the session token, or whose /proc/PID/exe is `exe`.
// Each entry is "PID exe cmdline".
std::vector<std::string> FindProcesses(const fs::path& exe);

std::string ReadFile(const fs::path& p);
void WriteFile(const fs::path& p, const std::string& content);
json ReadJson(const fs::path& p);
std::vector<std::string> Lines(const std::string& text);

// JSON Schema validation with /usr/bin/python3 + python3-jsonschema. Returns "" when every
// document is valid, else the validator's messages. `extra_namespaces` widens the namespace
// enum of the report schema (used for the `selftest.` group of the self-test binaries).
std::string ValidateJson(const fs::path& schema, const std::vector<fs::path>& documents,
                         const std::vector<std::string>& extra_namespaces = {});
// Which of `documents` are invalid (the validator prints "PATH: pointer: message" per problem).
std::vector<std::string> InvalidDocuments(const fs::path& schema,
                                          const std::vector<fs::path>& documents);
// xmllint --noout [--schema XSD] FILE; returns "" when valid.
std::string XmlLint(const fs::path& file, const fs::path& xsd = {});

// Checks a KTAP document against the kernel parser's regexes (reports.md 3.1) and against
// the JSON report it was rendered from: plan counts, numbering, names, directives, totals.
// Returns the problems found (empty when fine).
std::vector<std::string> CheckKtap(const std::string& ktap, const json& report, bool nested);
// KCIDB projection: one test per result, statuses mapped as reports.md 6.3.
std::vector<std::string> CheckKcidb(const json& kcidb, const json& report);
// summary counts, plan.selected, sort order.
std::vector<std::string> CheckSummary(const json& report);

// The result with this id, or nullptr.
const json* FindResult(const json& report, const std::string& id);

// "pid.init_is_pid1" -> "pid_init_is_pid1": a valid GoogleTest parameter name.
std::string TestNameOf(const std::string& rule_id);

bool IsRoot();

}  // namespace nsc::test
