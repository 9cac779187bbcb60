// nsconform: the command line.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "audit.h"
#include "environment.h"
#include "report.h"
#include "runner.h"
#include "subcommands.h"
#include "text.h"

namespace nsc {
namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFail = 1;
constexpr int kExitAllSkipped = 4;
constexpr int kExitUsage = 64;
constexpr int kExitSoftware = 70;
constexpr int kExitMaxRuntime = 124;
constexpr int kExitInterrupted = 130;

const char* const kHelp = R"(Usage: nsconform [OPTIONS]
       nsconform convert REPORT.json --to=junit|junit-strict|ktap|kcidb [-o PATH]
       nsconform compare BEFORE.json AFTER.json

Checks, rule by documented rule, that the running kernel's namespaces behave as the man
pages say. Each rule runs in its own supervised process tree; nothing on the host changes.

Selecting rules
  --list                 list the selected rule IDs (with --json-list: full metadata as JSON)
  --explain RULE         print a rule: statement, source, how it is observed, its control,
                         requirements, and whether it can run here
  --filter GLOBS         GoogleTest syntax over rule IDs: POS[:POS...][-NEG[:NEG...]],
                         e.g. --filter 'pid.*-pid.reboot_*'
  --namespace LIST       only these namespace groups, e.g. --namespace pid,user
  --allow-empty          an empty selection is not an error

Running
  -j, --jobs N           cases run in parallel (default: number of CPUs)
  --timeout-multiplier X scale every case timeout (env NSCONFORM_TIMEOUT_MUL; default 1)
  --max-runtime SECONDS  stop the whole run after this long (exit 124, partial reports)
  --control              run each rule's sensitivity control instead of the rule: the same
                         check where the rule must not hold. Every control must FAIL; the
                         exit code is 0 when all of them did
  --userns               run `userns` rules inside a fresh user namespace even as root
                         (what an unprivileged user gets)
  -q, --quiet            no progress output

Reports (written atomically; a path that cannot be written fails before anything runs)
  --report-dir DIR       default directory (default: reports); files go to
                         DIR/<kernel release>/nsconform-<release>-<arch>[-control].{json,junit.xml,ktap}
  --no-default-reports   write only the reports named explicitly below
  --json PATH            canonical JSON report (schema: reports/nsconform-report.schema.json)
  --junit PATH           JUnit XML;  --junit-profile common|strict (strict = junit-4.xsd)
  --ktap PATH|-          KTAP v1 ("-" = stdout; then human output goes to stderr)
  --ktap-nested          group KTAP by namespace (KUnit style)
  --kcidb PATH           KCIDB v5.3 JSON
  --stable               omit timings and timestamps (diff two runs)
  --redact               omit hostname and kernel command line
  --no-error-on-fail     exit 0 even if rules fail (CI that gates on the reports)

Exit codes: 0 no failure or error, 1 a rule failed or errored (or the host audit found a
change), 4 every selected rule skipped, 64 usage error, 70 internal or report-writing error,
124 --max-runtime exceeded, 130 interrupted (SIGINT/SIGTERM; partial reports are written).

Examples
  nsconform                              # everything, reports in reports/<release>/
  nsconform --namespace pid --ktap -     # PID rules as KTAP on stdout
  nsconform --explain pid.fd_pins_namespace
  nsconform --control --filter 'pid.*'   # prove every PID check can fail
)";

struct Options {
  bool list = false;
  bool list_json = false;
  std::string explain;
  std::vector<std::string> include, exclude, namespaces;
  bool allow_empty = false;
  int jobs = 0;
  double timeout_multiplier = 1.0;
  double max_runtime_s = 0;
  bool control = false;
  bool force_userns = false;
  bool quiet = false;
  std::string report_dir = "reports";
  bool default_reports = true;
  std::string json_path, junit_path, ktap_path, kcidb_path;
  JunitProfile junit_profile = JunitProfile::kCommon;
  bool ktap_nested = false;
  bool stable = false;
  bool redact = false;
  bool no_error_on_fail = false;
};


std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

double ParseNumber(const std::string& flag, const std::string& value, double min) {
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(v >= min)) {
    throw UsageError{flag + " needs a number >= " + FormatSeconds(min, 0) + ", got '" + value + "'"};
  }
  return v;
}

Options ParseArgs(const std::vector<std::string>& args) {
  Options o;
  if (const char* mul = std::getenv("NSCONFORM_TIMEOUT_MUL"); mul != nullptr && *mul != '\0') {
    o.timeout_multiplier = ParseNumber("NSCONFORM_TIMEOUT_MUL", mul, 0.01);
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string value;
    bool has_inline = false;
    if (a.starts_with("--") && a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_inline = true;
    }
    auto need = [&]() -> std::string {
      if (has_inline) return value;
      if (i + 1 >= args.size()) throw UsageError{a + " needs a value"};
      return args[++i];
    };
    auto no_value = [&]() {
      if (has_inline) throw UsageError{a + " takes no value"};
    };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      std::exit(kExitOk);
    } else if (a == "--version") {
      std::cout << "nsconform " << NSCONFORM_VERSION << " (" << NSCONFORM_GIT_COMMIT << ")\n";
      std::exit(kExitOk);
    } else if (a == "--list") {
      no_value();
      o.list = true;
    } else if (a == "--json-list") {
      no_value();
      o.list = o.list_json = true;
    } else if (a == "--explain") {
      o.explain = need();
    } else if (a == "--filter") {
      std::string f = need();
      auto dash = f.find('-');
      for (auto& g : Split(f.substr(0, dash), ':')) o.include.push_back(g);
      if (dash != std::string::npos) {
        for (auto& g : Split(f.substr(dash + 1), ':')) o.exclude.push_back(g);
      }
    } else if (a == "--namespace") {
      for (auto& n : Split(need(), ',')) o.namespaces.push_back(n);
    } else if (a == "--allow-empty") {
      no_value();
      o.allow_empty = true;
    } else if (a == "-j" || a == "--jobs") {
      o.jobs = static_cast<int>(ParseNumber(a, need(), 1));
    } else if (a.starts_with("-j") && a.size() > 2 && !a.starts_with("--")) {
      o.jobs = static_cast<int>(ParseNumber("-j", a.substr(2), 1));
    } else if (a == "--timeout-multiplier") {
      o.timeout_multiplier = ParseNumber(a, need(), 0.01);
    } else if (a == "--max-runtime") {
      o.max_runtime_s = ParseNumber(a, need(), 0.001);
    } else if (a == "--control") {
      no_value();
      o.control = true;
    } else if (a == "--userns") {
      no_value();
      o.force_userns = true;
    } else if (a == "-q" || a == "--quiet") {
      no_value();
      o.quiet = true;
    } else if (a == "--report-dir") {
      o.report_dir = need();
    } else if (a == "--no-default-reports") {
      no_value();
      o.default_reports = false;
    } else if (a == "--json") {
      o.json_path = need();
    } else if (a == "--junit") {
      o.junit_path = need();
    } else if (a == "--junit-profile") {
      std::string p = need();
      if (p == "common") {
        o.junit_profile = JunitProfile::kCommon;
      } else if (p == "strict") {
        o.junit_profile = JunitProfile::kStrict;
      } else {
        throw UsageError{"--junit-profile is common or strict, not '" + p + "'"};
      }
    } else if (a == "--ktap") {
      o.ktap_path = need();
    } else if (a == "--ktap-nested") {
      no_value();
      o.ktap_nested = true;
    } else if (a == "--kcidb") {
      o.kcidb_path = need();
    } else if (a == "--stable") {
      no_value();
      o.stable = true;
    } else if (a == "--redact") {
      no_value();
      o.redact = true;
    } else if (a == "--no-error-on-fail") {
      no_value();
      o.no_error_on_fail = true;
    } else {
      throw UsageError{"unknown option '" + args[i] + "' (see nsconform --help)"};
    }
  }
  return o;
}

std::vector<const Case*> Select(const Options& o) {
  std::vector<const Case*> out;
  for (const Case& c : AllCases()) {
    bool in = o.include.empty();
    for (const auto& g : o.include) in = in || GlobMatch(g, c.id);
    for (const auto& g : o.exclude) in = in && !GlobMatch(g, c.id);
    if (!o.namespaces.empty()) {
      bool ns = false;
      for (const auto& n : o.namespaces) ns = ns || n == c.Namespace();
      in = in && ns;
    }
    if (in) out.push_back(&c);
  }
  return out;
}

std::string CatalogSha256() {
  std::string all;
  for (const Case& c : AllCases()) all += c.id + "\t" + c.title + "\n";
  return Sha256Hex(all);
}

// ---------------------------------------------------------------------------------------------
// Report files: checked for writability before the run, written atomically after it.

struct ReportFile {
  std::string path;  // "-" = stdout
  std::string kind;  // json | junit | ktap | kcidb
};

std::string CheckWritable(const std::string& path) {
  if (path == "-") return {};
  std::filesystem::path p(path);
  std::error_code ec;
  auto dir = p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create directory " + dir.string() + ": " + ec.message();
  if (std::filesystem::is_directory(p, ec)) return path + " is a directory";
  std::string probe = (dir / (".nsconform-probe-" + RandomHex())).string();
  int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot write in " + dir.string() + ": " + ErrnoName(errno);
  close(fd);
  unlink(probe.c_str());
  return {};
}

bool WriteAtomically(const std::string& path, const std::string& content, std::string* error) {
  if (path == "-") {
    std::cout << content << std::flush;
    return true;
  }
  std::string tmp = path + ".tmp-" + RandomHex();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      *error = "cannot write " + tmp;
      std::filesystem::remove(tmp);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    *error = "cannot rename " + tmp + " to " + path + ": " + ec.message();
    std::filesystem::remove(tmp);
    return false;
  }
  return true;
}

std::string Render(const ReportFile& f, const json& report, const Options& o) {
  if (f.kind == "json") return report.dump(2) + "\n";
  if (f.kind == "junit") return RenderJunit(report, o.junit_profile);
  if (f.kind == "junit-strict") return RenderJunit(report, JunitProfile::kStrict);
  if (f.kind == "ktap") return RenderKtap(report, o.ktap_nested);
  return RenderKcidb(report).dump(2) + "\n";
}

// ---------------------------------------------------------------------------------------------

void PrintExplain(const Case& c, const Environment& env, bool force_userns) {
  json m = CaseMetadata(c);
  std::cout << c.id << "\n  " << c.title << "\n\n"
            << "Source:    " << c.source.doc << ", " << c.source.section << "\n";
  for (const auto& r : c.references) std::cout << "           " << r << "\n";
  std::cout << "Observed:  " << c.observe << "\n"
            << "Control:   " << c.control << "\n"
            << "Requires:  " << m["requires"].dump() << "\n"
            << "Timeout:   " << FormatSeconds(c.timeout_s, 1) << " s\n"
            << "Expects:\n";
  for (const auto& e : c.expect) {
    std::cout << "  - " << e.key << ": " << e.expected << "\n";
  }
  Admission a = Admit(c, env, force_userns);
  std::cout << "Here:      ";
  if (!a.runnable) {
    std::cout << "skips (" << ReasonCodeName(a.code) << ": " << a.reason << ")\n";
  } else {
    std::cout << "runs" << (a.enter_userns ? " inside a fresh user namespace" : "") << "\n";
  }
  std::cout << "Defined:   " << c.file << ":" << c.line << "\n";
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

void PrintSummary(std::ostream& out, const json& report, const std::vector<ReportFile>& files,
                  bool control) {
  std::map<std::string, std::map<std::string, int>> table;
  for (const auto& r : report["results"]) table[r["namespace"]][r["status"]]++;
  out << "\n" << Pad("namespace", 11) << Pad("pass", 7) << Pad("fail", 7) << Pad("skip", 7)
      << "error\n";
  auto row = [&](const std::string& name, std::map<std::string, int>& counts) {
    out << Pad(name, 11) << Pad(std::to_string(counts["pass"]), 7)
        << Pad(std::to_string(counts["fail"]), 7) << Pad(std::to_string(counts["skip"]), 7)
        << counts["error"] << "\n";
  };
  std::map<std::string, int> total;
  for (auto& [ns, counts] : table) {
    row(ns, counts);
    for (auto& [k, v] : counts) total[k] += v;
  }
  row("total", total);
  const json& run = report["run"];
  out << "\nkernel " << report["system"]["kernel"]["release"].get<std::string>() << ", euid "
      << report["exec"]["euid"];
  if (run.contains("duration_s")) out << ", " << FormatSeconds(run["duration_s"].get<double>(), 2) << " s";
  out << (control ? ", sensitivity controls (each must fail)" : "") << "\n";
  for (const auto& e : run["errors"]) out << "RUN ERROR: " << e.get<std::string>() << "\n";
  for (const auto& r : report["results"]) {
    const std::string st = r["status"];
    const bool observation = r.value("kind", "assertion") == "observation";
    bool noteworthy = control ? (st == "pass" && !observation) || st == "error"
                              : st == "fail" || st == "error";
    if (noteworthy) {
      out << Pad(st, 6) << r["id"].get<std::string>() << ": " << r.value("reason", "control passed: the check did not detect the missing namespace") << "\n";
    }
  }
  for (const auto& f : files) {
    if (f.path != "-") out << "report: " << f.path << "\n";
  }
}

int ExitCodeFor(const json& report, const RunResult& rr, bool control, bool no_error_on_fail) {
  if (rr.stopped == StopCause::kSignal) return kExitInterrupted;
  if (rr.stopped == StopCause::kMaxRuntime) return kExitMaxRuntime;
  const json& s = report["summary"];
  const int total = s["total"], fail = s["fail"], skip = s["skip"], error = s["error"];
  if (!report["run"]["errors"].empty()) return kExitFail;
  if (control) {
    // A rule that only records (kind "observation") has no verdict to invert: its control
    // passing is expected. Every other control must fail.
    int assertion_passes = 0;
    for (const auto& r : report["results"]) {
      if (r["status"] == "pass" && r.value("kind", "assertion") != "observation") ++assertion_passes;
    }
    if (assertion_passes > 0 || error > 0) return kExitFail;
    return total == skip ? kExitAllSkipped : kExitOk;
  }
  if (error > 0) return kExitFail;
  if (fail > 0) return no_error_on_fail ? kExitOk : kExitFail;
  if (total > 0 && skip == total) return kExitAllSkipped;
  return kExitOk;
}

json LoadReport(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError{"cannot read report " + path};
  json report;
  try {
    report = json::parse(in);
  } catch (const json::exception& e) {
    throw UsageError{path + " is not JSON: " + e.what()};
  }
  if (report.value("schema", "") != "nsconform-report") {
    throw UsageError{path + " is not an nsconform report (no \"schema\": \"nsconform-report\")"};
  }
  return report;
}

// nsconform convert REPORT.json --to=FORMAT [-o PATH]: re-render a saved report.
int ConvertMain(const std::vector<std::string>& args) {
  std::string in, to, out = "-";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.starts_with("--to=")) {
      to = a.substr(5);
    } else if (a == "--to" && i + 1 < args.size()) {
      to = args[++i];
    } else if ((a == "-o" || a == "--output") && i + 1 < args.size()) {
      out = args[++i];
    } else if (!a.starts_with("-") && in.empty()) {
      in = a;
    } else {
      throw UsageError{"convert: unexpected argument '" + a + "' (see nsconform --help)"};
    }
  }
  if (in.empty() || to.empty()) throw UsageError{"usage: nsconform convert REPORT.json --to=junit|junit-strict|ktap|kcidb [-o PATH]"};
  json report = LoadReport(in);
  std::string text;
  if (to == "junit") {
    text = RenderJunit(report, JunitProfile::kCommon);
  } else if (to == "junit-strict") {
    text = RenderJunit(report, JunitProfile::kStrict);
  } else if (to == "ktap") {
    text = RenderKtap(report, false);
  } else if (to == "kcidb") {
    text = RenderKcidb(report).dump(2) + "\n";
  } else {
    throw UsageError{"convert: unknown format '" + to + "' (junit, junit-strict, ktap, kcidb)"};
  }
  if (std::string problem = CheckWritable(out); !problem.empty()) {
    std::cerr << "nsconform: " << out << ": " << problem << "\n";
    return kExitSoftware;
  }
  std::string error;
  if (!WriteAtomically(out, text, &error)) {
    std::cerr << "nsconform: " << error << "\n";
    return kExitSoftware;
  }
  return kExitOk;
}

// nsconform compare BEFORE.json AFTER.json: what changed between two runs (kernels, distros,
// runtimes), keyed by rule ID. Exit 1 when a rule regressed (pass -> fail/error).
int CompareMain(const std::vector<std::string>& args) {
  if (args.size() != 2) throw UsageError{"usage: nsconform compare BEFORE.json AFTER.json"};
  json a = LoadReport(args[0]), b = LoadReport(args[1]);
  auto identity = [](const json& r) {
    std::map<std::string, std::string> id;
    id["kernel.release"] = r["system"]["kernel"].value("release", "");
    id["kernel.machine"] = r["system"]["kernel"].value("machine", "");
    id["os"] = r["system"]["os_release"].value("PRETTY_NAME", "");
    id["exec.euid"] = r["exec"]["euid"].dump();
    id["container"] = r["system"]["virtualization"].value("container", "");
    id["mode"] = r["run"].value("mode", "rule");
    return id;
  };
  auto ia = identity(a), ib = identity(b);
  std::cout << "comparing " << args[0] << " -> " << args[1] << "\n";
  for (const auto& [k, v] : ia) {
    if (ib[k] != v) std::cout << "  " << k << ": " << v << " -> " << ib[k] << "\n";
  }
  std::map<std::string, const json*> ra, rb;
  for (const auto& r : a["results"]) ra[r["id"]] = &r;
  for (const auto& r : b["results"]) rb[r["id"]] = &r;
  std::vector<std::string> regressions, fixes, changes, added, removed;
  for (const auto& [id, r] : ra) {
    auto it = rb.find(id);
    if (it == rb.end()) {
      removed.push_back(id);
      continue;
    }
    const std::string sa = (*r)["status"], sb = (*it->second)["status"];
    if (sa == sb) continue;
    std::string line = id + ": " + sa + " -> " + sb;
    if (it->second->contains("reason")) line += " (" + (*it->second)["reason"].get<std::string>() + ")";
    if (sa == "pass" && (sb == "fail" || sb == "error")) {
      regressions.push_back(line);
    } else if ((sa == "fail" || sa == "error") && sb == "pass") {
      fixes.push_back(line);
    } else {
      changes.push_back(line);
    }
  }
  for (const auto& [id, r] : rb) {
    if (!ra.contains(id)) added.push_back(id + ": " + (*r)["status"].get<std::string>());
  }
  auto section = [](const char* title, const std::vector<std::string>& lines) {
    std::cout << title << " (" << lines.size() << ")\n";
    for (const auto& l : lines) std::cout << "  " << l << "\n";
  };
  section("regressions", regressions);
  section("fixes", fixes);
  section("other status changes", changes);
  section("rules only in AFTER", added);
  section("rules only in BEFORE", removed);
  return regressions.empty() ? kExitOk : kExitFail;
}

int RunMain(const std::vector<std::string>& argv) {
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  if (!args.empty() && args[0] == "convert") return ConvertMain({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "compare") return CompareMain({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "matrix") return MatrixMain({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "runtime") return RuntimeMain({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "__runtime-probe") return RuntimeProbeMain({args.begin() + 1, args.end()});
  Options o = ParseArgs(args);
  std::vector<const Case*> selected = Select(o);

  if (!o.explain.empty()) {
    for (const Case& c : AllCases()) {
      if (c.id == o.explain) {
        PrintExplain(c, ProbeEnvironment(o.redact), o.force_userns);
        return kExitOk;
      }
    }
    std::string near;
    for (const Case& c : AllCases()) {
      if (c.id.find(o.explain) != std::string::npos) near += "\n  " + c.id;
    }
    throw UsageError{"no rule '" + o.explain + "'" +
                     (near.empty() ? " (see nsconform --list)" : "; did you mean:" + near)};
  }
  if (selected.empty() && !o.allow_empty) {
    throw UsageError{"the selection matches no rule (see nsconform --list); use --allow-empty to accept"};
  }
  if (o.list) {
    if (o.list_json) {
      json all = json::array();
      for (const Case* c : selected) all.push_back(CaseMetadata(*c));
      std::cout << all.dump(2) << "\n";
    } else {
      for (const Case* c : selected) std::cout << c->id << "\n";
    }
    return kExitOk;
  }

  const auto started_wall = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  Environment env = ProbeEnvironment(o.redact);

  std::vector<ReportFile> files;
  const std::string tag = o.control ? "-control" : "";
  if (o.default_reports) {
    std::string base = o.report_dir + "/" + env.kernel_release + "/nsconform-" + env.kernel_release +
                       "-" + env.machine + tag;
    files.push_back({base + ".json", "json"});
    files.push_back({base + ".junit.xml", "junit"});
    files.push_back({base + ".ktap", "ktap"});
  }
  if (!o.json_path.empty()) files.push_back({o.json_path, "json"});
  if (!o.junit_path.empty()) files.push_back({o.junit_path, "junit"});
  if (!o.ktap_path.empty()) files.push_back({o.ktap_path, "ktap"});
  if (!o.kcidb_path.empty()) files.push_back({o.kcidb_path, "kcidb"});
  for (const auto& f : files) {
    std::string problem = CheckWritable(f.path);
    if (!problem.empty()) {
      std::cerr << "nsconform: report " << f.path << ": " << problem << "\n";
      return kExitSoftware;
    }
  }
  const bool ktap_on_stdout = o.ktap_path == "-";
  std::ostream& human = ktap_on_stdout ? std::cerr : std::cout;

  HostSnapshot before = TakeHostSnapshot();

  RunOptions ro;
  ro.jobs = o.jobs > 0 ? o.jobs : std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  ro.timeout_multiplier = o.timeout_multiplier;
  ro.mode = o.control ? Mode::kControl : Mode::kRule;
  ro.force_userns = o.force_userns;
  ro.max_runtime_s = o.max_runtime_s;
  const bool tty = isatty(STDERR_FILENO) != 0;
  ProgressFn progress = [&](const CaseOutcome& out, size_t done, size_t total) {
    if (o.quiet) return;
    std::string line = "[" + std::to_string(done) + "/" + std::to_string(total) + "] " +
                       out.rule->id + ": " + std::string(StatusName(out.status));
    if (out.ran) line += " (" + FormatSeconds(out.duration_s) + "s)";
    if (tty) {
      std::cerr << "\r\033[K" << line << std::flush;
    } else {
      std::cerr << line << "\n";
    }
  };
  RunResult rr = RunCases(selected, env, ro, progress);
  if (tty && !o.quiet) std::cerr << "\r\033[K";

  HostSnapshot after = TakeHostSnapshot();
  RunInfo info;
  info.id = RandomHex();
  info.started_at = started_wall;
  info.finished_at = std::chrono::system_clock::now();
  info.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  info.complete = rr.stopped == StopCause::kNone;
  info.argv = argv;
  info.selection = {{"include", o.include}, {"exclude", o.exclude}, {"namespaces", o.namespaces}};
  info.timeouts = {{"multiplier", o.timeout_multiplier}, {"max_runtime_s", o.max_runtime_s}};
  info.mode = ro.mode;
  info.force_userns = o.force_userns;
  info.catalog_rules = AllCases().size();
  info.catalog_sha256 = CatalogSha256();
  info.stable = o.stable;
  for (const auto& d : DiffHostSnapshots(before, after)) info.run_errors.push_back("host audit: " + d);
  for (const auto& e : rr.harness_errors) info.run_errors.push_back("harness: " + e);

  json report = BuildJsonReport(info, env, rr.outcomes);
  int code = ExitCodeFor(report, rr, o.control, o.no_error_on_fail);
  report["run"]["exit_code"] = code;

  bool write_failed = false;
  for (const auto& f : files) {
    std::string error;
    if (!WriteAtomically(f.path, Render(f, report, o), &error)) {
      std::cerr << "nsconform: " << error << "\n";
      write_failed = true;
    }
  }
  if (!o.quiet) PrintSummary(human, report, files, o.control);
  if (rr.stopped == StopCause::kSignal) {
    std::cerr << "nsconform: interrupted by signal " << rr.stop_signal << "; partial reports written\n";
  }
  if (write_failed) return kExitSoftware;
  return code;
}

}  // namespace
}  // namespace nsc

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  try {
    return nsc::RunMain(args);
  } catch (const nsc::UsageError& e) {
    std::cerr << "nsconform: " << e.message << "\n";
    return nsc::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "nsconform: internal error: " << e.what() << "\n";
    return nsc::kExitSoftware;
  }
}
