#include "support.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <boost/process.hpp>

namespace nsc::test {

namespace bp = boost::process;

fs::path Paths::Nsconform() { return NSC_TEST_NSCONFORM; }
fs::path Paths::NsconformStatic() { return NSC_TEST_NSCONFORM_STATIC; }
fs::path Paths::Selftest() { return NSC_TEST_SELFTEST; }
fs::path Paths::HostAudit() { return NSC_TEST_HOSTAUDIT; }
fs::path Paths::SourceDir() { return NSC_TEST_SOURCE_DIR; }
fs::path Paths::ReportSchema() { return SourceDir() / "reports/nsconform-report.schema.json"; }
fs::path Paths::KcidbSchema() { return SourceDir() / "tests/schemas/kcidb-v5.3.schema.json"; }
fs::path Paths::JunitXsd() { return SourceDir() / "tests/schemas/junit-4.xsd"; }
fs::path Paths::Catalogue() { return SourceDir() / "tests/data/catalogue_ids.txt"; }
fs::path Paths::Validator() { return SourceDir() / "tests/tools/validate_json.py"; }

namespace {

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (getrandom(buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size())) {
    throw std::runtime_error("getrandom failed");
  }
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char c : buf) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

fs::path g_root;

}  // namespace

fs::path SessionTempRoot() {
  if (g_root.empty()) {
    fs::path root = fs::temp_directory_path() / ("nsconform-tests." + RandomHex(6));
    fs::create_directory(root);
    // Reachable by the unprivileged runs (uid 65534) that write into subdirectories.
    fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    g_root = root;
  }
  return g_root;
}

void RemoveSessionTempRoot() {
  if (g_root.empty()) return;
  std::error_code ec;
  fs::remove_all(g_root, ec);
  if (ec) throw std::runtime_error("cannot remove " + g_root.string() + ": " + ec.message());
  g_root.clear();
}

TempDir::TempDir(const std::string& tag) {
  path_ = SessionTempRoot() / (tag + "." + RandomHex(4));
  fs::create_directory(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

const std::string& SessionToken() {
  static const std::string token = std::to_string(getpid()) + "-" + RandomHex(8);
  return token;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

json ReadJson(const fs::path& p) { return json::parse(ReadFile(p)); }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

namespace {

std::string ReadProcFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

char ProcState(const std::string& pid) {
  std::string stat = ReadProcFile("/proc/" + pid + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return 0;
  return stat[paren + 2];
}

}  // namespace

std::vector<std::string> FindProcesses(const fs::path& exe) {
  const std::string marker = "NSCONFORM_TEST_TOKEN=" + SessionToken();
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename();
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
    if (pid == std::to_string(getpid())) continue;
    std::error_code link_ec;
    std::string target = fs::read_symlink(entry.path() / "exe", link_ec).string();
    const std::string environ = ReadProcFile("/proc/" + pid + "/environ");
    bool ours = false;
    for (size_t pos = 0; pos < environ.size();) {
      size_t end = environ.find('\0', pos);
      if (end == std::string::npos) end = environ.size();
      if (environ.compare(pos, end - pos, marker) == 0) ours = true;
      pos = end + 1;
    }
    const bool same_exe = !exe.empty() && (target == exe.string() || target == exe.string() + " (deleted)");
    if (!ours && !same_exe) continue;
    const char state = ProcState(pid);
    if (state == 'Z' || state == 0) continue;  // zombies hold nothing; 0: already gone
    std::string cmdline = ReadProcFile("/proc/" + pid + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    found.push_back(pid + " [" + state + "] " + target + ": " + cmdline);
  }
  return found;
}

std::string Spawned::Describe() const {
  std::ostringstream s;
  s << "exit " << exit_code << (signaled ? " (signal)" : "") << " after " << seconds << " s\n"
    << "--- stdout (first 4000 bytes) ---\n" << out.substr(0, 4000)
    << "\n--- stderr (last 4000 bytes) ---\n"
    << (err.size() > 4000 ? err.substr(err.size() - 4000) : err);
  if (!leaks.empty()) {
    s << "\n--- processes left behind ---\n";
    for (const auto& l : leaks) s << l << "\n";
  }
  return s.str();
}

Spawned Spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) throw std::invalid_argument("Spawn: empty argv");
  TempDir io("io");
  const fs::path out_path = io / "stdout";
  const fs::path err_path = io / "stderr";

  bp::environment env = boost::this_process::environment();
  for (const char* name : {"KSFT_TAP_LEVEL", "NSCONFORM_TIMEOUT_MUL", "KCONFIG_PATH"}) {
    if (env.find(name) != env.end()) env.erase(name);
  }
  env["NSCONFORM_TEST_TOKEN"] = SessionToken();
  for (const auto& kv : options.extra_env) {
    auto eq = kv.find('=');
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }

  boost::filesystem::path exe = argv[0];
  if (argv[0].find('/') == std::string::npos) exe = bp::search_path(argv[0]);
  if (exe.empty()) throw std::runtime_error("program not found in PATH: " + argv[0]);
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  const fs::path cwd = options.cwd.empty() ? SessionTempRoot() : options.cwd;

  Spawned r;
  const auto started = std::chrono::steady_clock::now();
  int status = 0;
  if (options.on_stderr_line) {
    bp::ipstream err_stream;
    bp::child child(bp::exe = exe, bp::args = args, env, bp::start_dir = cwd.string(),
                    bp::std_in < bp::null, bp::std_out > out_path.string(), bp::std_err > err_stream);
    std::string line;
    while (std::getline(err_stream, line)) {
      r.err += line + "\n";
      options.on_stderr_line(line, child.id());
    }
    child.wait();
    status = child.native_exit_code();
  } else {
    bp::child child(bp::exe = exe, bp::args = args, env, bp::start_dir = cwd.string(),
                    bp::std_in < bp::null, bp::std_out > out_path.string(),
                    bp::std_err > err_path.string());
    child.wait();
    status = child.native_exit_code();
    r.err = ReadFile(err_path);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  r.status = status;
  r.signaled = WIFSIGNALED(status);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.leaks = FindProcesses(options.watch_exe);
  return r;
}

namespace {

Spawned RunValidator(const fs::path& schema, const std::vector<fs::path>& documents,
                     const std::vector<std::string>& extra_namespaces) {
  std::vector<std::string> argv = {"/usr/bin/python3", Paths::Validator().string(), schema.string()};
  for (const auto& d : documents) argv.push_back(d.string());
  for (const auto& n : extra_namespaces) {
    argv.push_back("--extra-namespace");
    argv.push_back(n);
  }
  return Spawn(argv);
}

}  // namespace

std::string ValidateJson(const fs::path& schema, const std::vector<fs::path>& documents,
                         const std::vector<std::string>& extra_namespaces) {
  Spawned r = RunValidator(schema, documents, extra_namespaces);
  if (r.exit_code == 0) return {};
  return "schema " + schema.string() + ": " + r.out + r.err +
         (r.exit_code == 2 ? "(validator usage/schema error)" : "");
}

std::vector<std::string> InvalidDocuments(const fs::path& schema,
                                          const std::vector<fs::path>& documents) {
  Spawned r = RunValidator(schema, documents, {});
  if (r.exit_code == 2) throw std::runtime_error("validator failed: " + r.err);
  std::vector<std::string> invalid;
  for (const auto& d : documents) {
    if (r.out.find(d.string() + ": ") != std::string::npos) invalid.push_back(d.string());
  }
  return invalid;
}

std::string XmlLint(const fs::path& file, const fs::path& xsd) {
  std::vector<std::string> argv = {"xmllint", "--noout"};
  if (!xsd.empty()) {
    argv.push_back("--schema");
    argv.push_back(xsd.string());
  }
  argv.push_back(file.string());
  Spawned r = Spawn(argv);
  return r.exit_code == 0 ? "" : "xmllint " + file.string() + ": exit " + std::to_string(r.exit_code) + "\n" + r.err;
}

const json* FindResult(const json& report, const std::string& id) {
  for (const auto& r : report["results"]) {
    if (r["id"] == id) return &r;
  }
  return nullptr;
}

std::string TestNameOf(const std::string& rule_id) {
  std::string s = rule_id;
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

bool IsRoot() { return geteuid() == 0; }

// ---------------------------------------------------------------------------------------------
// KTAP

namespace {

// The in-kernel parser's regexes (tools/testing/kunit/kunit_parser.py, reports.md 3.1).
const std::regex kVersion(R"(^\s*KTAP version ([0-9]+)$)");
const std::regex kPlan(R"(^\s*1\.\.([0-9]+))");
const std::regex kResult(R"(^\s*(ok|not ok) ([0-9]+) (- )?([^#]*)( # .*)?$)");
const std::regex kSkip(R"(^\s*(ok|not ok) ([0-9]+) (- )?(.*) # SKIP ?(.*)$)");
const std::regex kSubtest(R"(^\s*# Subtest: (.*)$)");
const std::regex kDiagnostic(R"(^\s*#( .*)?$)");
const std::regex kTotals(R"(^# Totals: pass:([0-9]+) fail:([0-9]+) xfail:0 xpass:0 skip:([0-9]+) error:([0-9]+)$)");

size_t Indent(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

std::string TrimRight(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

struct KtapResult {
  bool ok;
  int number;
  std::string name;
  std::string directive;  // text after " # ", may be empty
  bool skip;
};

bool ParseResult(const std::string& line, KtapResult* r) {
  std::smatch m;
  if (!std::regex_match(line, m, kResult)) return false;
  r->ok = m[1] == "ok";
  r->number = std::stoi(m[2]);
  r->name = TrimRight(m[4]);
  r->directive = m[5].matched ? m[5].str().substr(3) : "";
  r->skip = std::regex_match(line, kSkip);
  return true;
}

// Checks one result line against the JSON result it renders.
void CheckResultLine(const KtapResult& k, const json& r, const std::string& where,
                     std::vector<std::string>& problems) {
  const std::string status = r["status"];
  const std::string code = r.value("reason_code", "");
  if (k.name != r["id"]) problems.push_back(where + ": name '" + k.name + "', expected " + r["id"].dump());
  const bool want_ok = status == "pass" || status == "skip";
  if (k.ok != want_ok) problems.push_back(where + ": " + (k.ok ? "ok" : "not ok") + " for status " + status);
  if ((status == "skip") != k.skip) problems.push_back(where + ": SKIP directive mismatch for status " + status);
  if (status == "pass" && !k.directive.empty()) problems.push_back(where + ": directive on a pass");
  if (status == "error") {
    const std::string want = code == "TIMEOUT" ? "TIMEOUT " : "ERROR " + code;
    if (!k.directive.starts_with(want)) {
      problems.push_back(where + ": directive '" + k.directive + "', expected '" + want + "...'");
    }
  }
}

}  // namespace

std::vector<std::string> CheckKtap(const std::string& ktap, const json& report, bool nested) {
  std::vector<std::string> problems;
  std::vector<std::string> lines = Lines(ktap);
  const json& results = report["results"];
  const bool complete = report["run"]["complete"];
  if (lines.empty()) return {"empty KTAP"};
  if (lines[0] != "KTAP version 1") problems.push_back("line 1 is not 'KTAP version 1': " + lines[0]);
  std::smatch m;
  if (lines.size() < 2 || !std::regex_match(lines[1], m, kPlan) || Indent(lines[1]) != 0) {
    problems.push_back("line 2 is not the plan");
    return problems;
  }
  const size_t plan = std::stoul(m[1]);

  // Last line: the totals, or the totals then "Bail out!" for an incomplete run.
  size_t totals_at = lines.size() - 1;
  if (!complete) {
    if (!lines.back().starts_with("Bail out!")) problems.push_back("incomplete run without 'Bail out!' last");
    totals_at = lines.size() - 2;
  } else if (ktap.find("Bail out!") != std::string::npos) {
    problems.push_back("'Bail out!' in a complete run");
  }
  if (!std::regex_match(lines[totals_at], m, kTotals)) {
    problems.push_back("the totals line is not where it belongs: '" + lines[totals_at] + "'");
  } else {
    const json& s = report["summary"];
    if (std::stoi(m[1]) != s["pass"] || std::stoi(m[2]) != s["fail"] || std::stoi(m[3]) != s["skip"] ||
        std::stoi(m[4]) != s["error"]) {
      problems.push_back("totals '" + lines[totals_at] + "' differ from summary " + s.dump());
    }
  }

  // Results in order, one group per namespace when nested.
  size_t next_result = 0;  // index into results
  int top_number = 0;
  for (size_t i = 2; i < totals_at; ++i) {
    const std::string& line = lines[i];
    const std::string where = "line " + std::to_string(i + 1);
    KtapResult k;
    if (!nested) {
      if (Indent(line) != 0) problems.push_back(where + ": indented in flat KTAP");
      if (ParseResult(line, &k)) {
        if (k.number != ++top_number) problems.push_back(where + ": number " + std::to_string(k.number));
        if (next_result >= results.size()) {
          problems.push_back(where + ": more result lines than results");
        } else {
          CheckResultLine(k, results[next_result++], where, problems);
        }
      } else if (!std::regex_match(line, kDiagnostic)) {
        problems.push_back(where + ": neither a result nor a diagnostic: '" + line + "'");
      }
      continue;
    }
    // Nested: "  KTAP version 1", "  # Subtest: ns", "  1..k", k results, then "ok|not ok g ns".
    if (line != "  KTAP version 1") {
      if (ParseResult(line, &k) || !std::regex_match(line, kDiagnostic) || Indent(line) != 0) {
        problems.push_back(where + ": expected a subtest header or a diagnostic: '" + line + "'");
      }
      continue;
    }
    std::smatch sm, pm;
    if (i + 2 >= totals_at || !std::regex_match(lines[i + 1], sm, kSubtest) ||
        !std::regex_match(lines[i + 2], pm, kPlan) || Indent(lines[i + 2]) != 2) {
      problems.push_back(where + ": subtest without '# Subtest:' and plan");
      continue;
    }
    const std::string group = sm[1];
    const size_t inner_plan = std::stoul(pm[1]);
    size_t j = i + 3;
    int inner_number = 0;
    bool any_failed = false, all_skipped = true;
    for (; j < totals_at && Indent(lines[j]) == 2; ++j) {
      const std::string w = "line " + std::to_string(j + 1);
      if (ParseResult(lines[j], &k)) {
        if (k.number != ++inner_number) problems.push_back(w + ": number " + std::to_string(k.number));
        if (next_result >= results.size()) {
          problems.push_back(w + ": more result lines than results");
          continue;
        }
        const json& r = results[next_result++];
        if (r["namespace"] != group) problems.push_back(w + ": " + r["id"].dump() + " in group " + group);
        CheckResultLine(k, r, w, problems);
        any_failed = any_failed || !k.ok;
        all_skipped = all_skipped && k.skip;
      } else if (!std::regex_match(lines[j], kDiagnostic)) {
        problems.push_back(w + ": unexpected line in subtest: '" + lines[j] + "'");
      }
    }
    if (static_cast<size_t>(inner_number) != inner_plan) {
      problems.push_back(where + ": subtest " + group + " plan " + std::to_string(inner_plan) + " but " +
                         std::to_string(inner_number) + " results");
    }
    if (j >= totals_at || !ParseResult(lines[j], &k) || Indent(lines[j]) != 0) {
      problems.push_back(where + ": subtest " + group + " has no parent result line");
      i = j - 1;
      continue;
    }
    if (k.number != ++top_number) problems.push_back("line " + std::to_string(j + 1) + ": parent number");
    if (k.name != group) problems.push_back("line " + std::to_string(j + 1) + ": parent name " + k.name + " != " + group);
    if (k.ok == any_failed) problems.push_back("line " + std::to_string(j + 1) + ": parent status does not roll up");
    if (k.skip != (all_skipped && !any_failed)) problems.push_back("line " + std::to_string(j + 1) + ": parent SKIP mismatch");
    i = j;
  }
  if (next_result != results.size()) {
    problems.push_back(std::to_string(next_result) + " result lines for " + std::to_string(results.size()) + " results");
  }
  if (static_cast<size_t>(top_number) != plan) {
    problems.push_back("plan 1.." + std::to_string(plan) + " but " + std::to_string(top_number) + " top-level results");
  }
  return problems;
}

std::vector<std::string> CheckKcidb(const json& kcidb, const json& report) {
  std::vector<std::string> problems;
  const json& tests = kcidb["tests"];
  const json& results = report["results"];
  if (tests.size() != results.size()) {
    problems.push_back(std::to_string(tests.size()) + " KCIDB tests for " + std::to_string(results.size()) + " results");
    return problems;
  }
  for (size_t i = 0; i < tests.size(); ++i) {
    const json& r = results[i];
    const json& t = tests[i];
    const std::string status = r["status"];
    std::string want = status == "pass" ? (r["kind"] == "observation" ? "DONE" : "PASS")
                       : status == "fail" ? "FAIL"
                       : status == "skip" ? "SKIP"
                       : r["reason_code"] == "NOT_RUN" ? "MISS" : "ERROR";
    if (t["status"] != want) problems.push_back(r["id"].get<std::string>() + ": KCIDB status " + t["status"].dump() + ", expected " + want);
    if (t["path"] != "nsconform." + r["id"].get<std::string>()) problems.push_back(r["id"].get<std::string>() + ": path " + t["path"].dump());
    if (t.contains("log_excerpt") && t["log_excerpt"].get<std::string>().size() > 16384) {
      problems.push_back(r["id"].get<std::string>() + ": log_excerpt longer than 16384");
    }
  }
  return problems;
}

std::vector<std::string> CheckSummary(const json& report) {
  std::vector<std::string> problems;
  std::map<std::string, int> counts;
  std::string previous;
  for (const auto& r : report["results"]) {
    counts[r["status"]]++;
    const std::string id = r["id"];
    if (!previous.empty() && !(previous < id)) problems.push_back("results not sorted by id at " + id);
    previous = id;
    if (r["namespace"] != id.substr(0, id.find('.'))) problems.push_back(id + ": namespace " + r["namespace"].dump());
  }
  const json& s = report["summary"];
  const size_t total = report["results"].size();
  if (s["total"] != total) problems.push_back("summary.total " + s["total"].dump());
  for (const char* st : {"pass", "fail", "skip", "error"}) {
    if (s[st] != counts[st]) problems.push_back(std::string("summary.") + st + " " + s[st].dump() + " != " + std::to_string(counts[st]));
  }
  if (report["plan"]["selected"] != total) problems.push_back("plan.selected " + report["plan"]["selected"].dump());
  return problems;
}

}  // namespace nsc::test
