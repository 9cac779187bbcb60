// `nsconform runtime ADAPTER [options] [-- runtime args]`: does a container runtime set up
// the container its configuration asks for?
//
// Flow:
//   1. The adapter reads the configuration (config.json, or the runtime's flags) and derives
//      the expectation; a runtime that is not installed makes every rule SKIP.
//   2. A minimal rootfs holds only the static probe (nsconform-static).
//   3. Rule mode: one container with the configuration as given; every runtime.* rule is
//      judged on it. Control mode: per rule, one container whose configuration has that one
//      property removed (the checker keeps the original expectation): each must FAIL, or
//      SKIP where the runtime refuses the planted configuration.
//   4. The host audit brackets the run; reports as for a kernel run (JSON mode "runtime" or
//      "runtime-control", JUnit, KTAP, KCIDB).
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "../audit.h"
#include "../environment.h"
#include "../report.h"
#include "../subcommands.h"
#include "../text.h"
#include "adapter.h"
#include "launch.h"
#include "rules.h"

namespace nsc {
namespace {

using nlohmann::json;
using namespace nsc::runtime;

const char* const kHelp = R"(Usage: nsconform runtime ADAPTER [OPTIONS] [-- RUNTIME-ARGS]
       nsconform runtime table REPORT.json...   (property x runtime table, Markdown)

Checks that a container runtime builds the container its configuration asks for: each
runtime.* rule is one property of that container (its namespaces, hostname, id maps, root
mount, masked and read-only paths, sysctls, time offsets, user, capabilities, no_new_privs,
cgroup view, and that nothing is left afterwards), with the expectation read from the
runtime's configuration and a source in the OCI runtime-spec or the runtime's manual.

How: a root file system holding only nsconform-static is built; the runtime starts it as
`__runtime-probe`, which reports what it sees from the inside as one JSON line on stdout and
stays until released, while the harness reads /proc/PID/ns/*, uid_map and gid_map of the held
container from the outside and compares them with the runtime's own namespaces and with any
configured path. As root the runtime runs in a private mount namespace of its own where the
rootfs is a shared mount, so that root propagation is also checked by behaviour.

Adapters (the configuration the expectation comes from):
  runc, crun   OCI: the bundle's config.json (--bundle DIR); without --bundle, `ADAPTER spec`
               (`spec --rootless` when not root) plus nsconform defaults: hostname, domainname,
               cgroup namespace, rootfsPropagation rprivate, as root sysctl kernel.msgmax
               (and with --add-userns a user namespace); domainname only for runtimes that
               declare runtime-spec >= 1.1 on --version. RUNTIME-ARGS are global
               options put before `run` (e.g. --systemd-cgroup). crun on a hybrid-cgroup host
               runs with /dev/null over /sys/fs/cgroup/unified/cgroup.controllers (private
               mount namespace; root only).
  bwrap        RUNTIME-ARGS are bwrap flags (default: --unshare-all --as-pid-1 --hostname
               nsconform --proc /proc --dev /dev --remount-ro /); the rootfs is bound at /.
  unshare      RUNTIME-ARGS are unshare(1) flags (default: --fork --pid --mount-proc --uts
               --ipc --net --cgroup --time --monotonic 86400 --boottime 172800 --user
               --map-root-user); the probe runs with --root=ROOTFS.

Options
  --control              run each rule's control instead: the same check against the same
                         runtime given the configuration with that one property removed
                         (the checker keeps the original). Every control must FAIL; SKIP
                         where the runtime refuses the planted configuration. Exit 0 when
                         no control passed
  --bundle DIR           (runc, crun) the OCI bundle whose config.json is checked; its
                         process.args and root.path are replaced by the probe and its rootfs
  --add-userns           (runc, crun as root, generated spec) add a user namespace mapping
                         0 -> 100000 (65536 ids); with it the PID/IPC/network controls are
                         refused by the runtime (proc, mqueue, sysfs of an outer namespace)
  --runtime-path PATH    run this binary instead of the adapter's (a wrapper, or an OCI shim)
  --probe PATH           the static probe (default: nsconform-static next to this binary)
  --filter GLOBS         POS[:POS...][-NEG...] over rule IDs, e.g. 'runtime.ns.*'
  --list                 list the rules with this adapter's source for each, and exit
  --timeout SECONDS      per container (default 20)
  --work-dir DIR         where rootfs and bundles are made (default: $TMPDIR or /tmp)
  -q, --quiet            no progress output

Reports (same formats as a kernel run; JSON "run.mode" is runtime or runtime-control)
  --report-dir DIR       default directory (default: reports); files go to DIR/runtime/
                         nsconform-runtime-ADAPTER[-rootless][-control].{json,junit.xml,ktap}
  --no-default-reports   write only the reports named explicitly below
  --json PATH  --junit PATH  --junit-profile common|strict  --ktap PATH|-  --kcidb PATH
  --stable  --redact  --no-error-on-fail

Exit codes: 0 every rule passed or skipped (control mode: every control failed or skipped),
1 a rule failed or errored (a control passed), or the host audit found a change, 4 every
rule skipped (e.g. the runtime is not installed), 64 usage error, 70 a report could not be
written.

Examples
  sudo nsconform runtime runc                         # runc's default container
  sudo nsconform runtime runc --control               # prove every check can fail
  nsconform runtime bwrap -- --unshare-all --as-pid-1 # rootless bwrap
  sudo nsconform runtime runc --bundle ./mybundle --junit runc.xml --junit-profile strict
  sudo nsconform runtime unshare -- --fork --pid --mount-proc --uts
)";

struct Options {
  std::string adapter;
  AdapterOptions adapter_options;
  bool control = false;
  bool list = false;
  std::string probe;
  std::vector<std::string> include, exclude;
  double timeout_s = 20;
  std::string work_dir;
  bool quiet = false;
  std::string report_dir = "reports";
  bool default_reports = true;
  std::string json_path, junit_path, ktap_path, kcidb_path;
  JunitProfile junit_profile = JunitProfile::kCommon;
  bool stable = false, redact = false, no_error_on_fail = false;
};

std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Options ParseArgs(const std::vector<std::string>& args) {
  Options o;
  o.adapter_options.rootless = geteuid() != 0;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string a = args[i], value;
    bool inline_value = false;
    if (a == "--") {
      o.adapter_options.extra.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.starts_with("--") && a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      inline_value = true;
    }
    auto need = [&]() -> std::string {
      if (inline_value) return value;
      if (i + 1 >= args.size()) throw UsageError{"runtime: " + a + " needs a value"};
      return args[++i];
    };
    auto flag = [&]() {
      if (inline_value) throw UsageError{"runtime: " + a + " takes no value"};
    };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      std::exit(0);
    } else if (a == "--control") {
      flag();
      o.control = true;
    } else if (a == "--list") {
      flag();
      o.list = true;
    } else if (a == "--bundle") {
      o.adapter_options.bundle = need();
    } else if (a == "--add-userns") {
      flag();
      o.adapter_options.add_userns = true;
    } else if (a == "--runtime-path") {
      o.adapter_options.runtime_path = need();
    } else if (a == "--probe") {
      o.probe = need();
    } else if (a == "--filter") {
      std::string f = need();
      auto dash = f.find('-');
      for (auto& g : SplitOn(f.substr(0, dash), ':')) o.include.push_back(g);
      if (dash != std::string::npos) {
        for (auto& g : SplitOn(f.substr(dash + 1), ':')) o.exclude.push_back(g);
      }
    } else if (a == "--timeout") {
      std::string v = need();
      char* end = nullptr;
      o.timeout_s = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(o.timeout_s > 0)) throw UsageError{"runtime: --timeout needs seconds > 0, got '" + v + "'"};
    } else if (a == "--work-dir") {
      o.work_dir = need();
    } else if (a == "-q" || a == "--quiet") {
      flag();
      o.quiet = true;
    } else if (a == "--report-dir") {
      o.report_dir = need();
    } else if (a == "--no-default-reports") {
      flag();
      o.default_reports = false;
    } else if (a == "--json") {
      o.json_path = need();
    } else if (a == "--junit") {
      o.junit_path = need();
    } else if (a == "--junit-profile") {
      std::string p = need();
      if (p != "common" && p != "strict") throw UsageError{"runtime: --junit-profile is common or strict, not '" + p + "'"};
      o.junit_profile = p == "strict" ? JunitProfile::kStrict : JunitProfile::kCommon;
    } else if (a == "--ktap") {
      o.ktap_path = need();
    } else if (a == "--kcidb") {
      o.kcidb_path = need();
    } else if (a == "--stable") {
      flag();
      o.stable = true;
    } else if (a == "--redact") {
      flag();
      o.redact = true;
    } else if (a == "--no-error-on-fail") {
      flag();
      o.no_error_on_fail = true;
    } else if (!a.starts_with("-") && o.adapter.empty()) {
      o.adapter = a;
    } else {
      throw UsageError{"runtime: unknown option '" + args[i] + "' (see nsconform runtime --help)"};
    }
  }
  if (o.adapter.empty()) {
    std::string names;
    for (const auto& n : AdapterNames()) names += (names.empty() ? "" : ", ") + n;
    throw UsageError{"runtime: name an adapter (" + names + "); see nsconform runtime --help"};
  }
  return o;
}

bool Selected(const Options& o, const std::string& id) {
  bool in = o.include.empty();
  for (const auto& g : o.include) in = in || GlobMatch(g, id);
  for (const auto& g : o.exclude) in = in && !GlobMatch(g, id);
  return in;
}

// The static probe: --probe, else nsconform-static next to this binary (or this binary when
// it is the static one).
std::string FindProbe(const std::string& given) {
  if (!given.empty()) {
    if (access(given.c_str(), X_OK) != 0) throw UsageError{"runtime: --probe " + given + " is not an executable file"};
    return fs::absolute(given).string();
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    if (self.filename() == "nsconform-static") return self.string();
    fs::path sibling = self.parent_path() / "nsconform-static";
    if (access(sibling.c_str(), X_OK) == 0) return sibling.string();
  }
  throw UsageError{"runtime: no nsconform-static next to this binary; build it or pass --probe PATH"};
}

std::string CheckWritable(const std::string& path) {
  if (path == "-") return {};
  fs::path p(path);
  std::error_code ec;
  auto dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  fs::create_directories(dir, ec);
  if (ec) return "cannot create directory " + dir.string() + ": " + ec.message();
  if (fs::is_directory(p, ec)) return path + " is a directory";
  if (access(dir.c_str(), W_OK) != 0) return "cannot write in " + dir.string();
  return {};
}

bool WriteAtomically(const std::string& path, const std::string& content) {
  if (path == "-") {
    std::cout << content << std::flush;
    return true;
  }
  const std::string tmp = path + ".tmp-" + RandomHex();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) {
      fs::remove(tmp);
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
  return !ec;
}

CaseOutcome Outcome(const Case* rule, const Judgement& j, double seconds, const std::string& started) {
  CaseOutcome o;
  o.rule = rule;
  o.status = j.status;
  o.code = j.code;
  o.reason = j.reason;
  o.expected = j.expected;
  o.observed = j.observed;
  o.duration_s = seconds;
  o.started_at = started;
  o.timeout_s = rule->timeout_s;
  o.ran = true;
  return o;
}

Judgement NoContainer(const ContainerRun& run, bool control) {
  if (run.timed_out) return {Status::kError, ReasonCode::kTimeout, run.failure, json::object(), json::object()};
  if (control) {
    return {Status::kSkip, ReasonCode::kPreconditionUnmet,
            "the runtime refused the planted configuration: " + run.failure, json::object(), json::object()};
  }
  return {Status::kError, ReasonCode::kSetupFailed, run.failure, json::object(), json::object()};
}

void PrintSummary(std::ostream& out, const json& report, bool control) {
  const json& s = report["summary"];
  out << "\n" << report["runtime"]["adapter"].get<std::string>() << (control ? " controls" : "") << ": pass "
      << s["pass"] << ", fail " << s["fail"] << ", skip " << s["skip"] << ", error " << s["error"];
  if (report["run"].contains("duration_s")) out << ", " << FormatSeconds(report["run"]["duration_s"].get<double>(), 2) << " s";
  out << "\n";
  for (const auto& e : report["run"]["errors"]) out << "RUN ERROR: " << e.get<std::string>() << "\n";
  for (const auto& r : report["results"]) {
    const std::string st = r["status"];
    const bool noteworthy = control ? st == "pass" || st == "error" : st == "fail" || st == "error";
    if (noteworthy || st == "skip") {
      out << "  " << st << " " << r["id"].get<std::string>() << ": "
          << r.value("reason", "control passed: the check did not see the planted misconfiguration") << "\n";
    }
  }
}

}  // namespace

namespace runtime {
int RuntimeTableMain(const std::vector<std::string>& paths);
}

int RuntimeMain(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "table") return runtime::RuntimeTableMain({args.begin() + 1, args.end()});
  Options o = ParseArgs(args);
  std::unique_ptr<Adapter> adapter = MakeAdapter(o.adapter, o.adapter_options);

  // The rule table with this adapter's sources.
  std::vector<Case> metas;
  std::vector<const RuntimeRule*> rules;
  for (const RuntimeRule& r : RuntimeRules()) {
    if (!Selected(o, r.meta.id)) continue;
    Case c = r.meta;
    c.source = {adapter->SourceDoc(), adapter->SourceOf(r.property)};
    metas.push_back(std::move(c));
    rules.push_back(&r);
  }
  if (rules.empty()) throw UsageError{"runtime: the selection matches no rule (see nsconform runtime ADAPTER --list)"};
  if (o.list) {
    for (const Case& c : metas) std::cout << c.id << "  [" << c.source.doc << ", " << c.source.section << "]\n";
    return 0;
  }
  const std::string probe = FindProbe(o.probe);

  const std::string flavour = o.adapter + (o.adapter_options.rootless ? "-rootless" : "") +
                              (o.adapter_options.add_userns ? "-userns" : "");
  std::vector<std::pair<std::string, std::string>> files;  // path, kind
  if (o.default_reports) {
    const std::string base = o.report_dir + "/runtime/nsconform-runtime-" + flavour + (o.control ? "-control" : "");
    files = {{base + ".json", "json"}, {base + ".junit.xml", "junit"}, {base + ".ktap", "ktap"}};
  }
  if (!o.json_path.empty()) files.push_back({o.json_path, "json"});
  if (!o.junit_path.empty()) files.push_back({o.junit_path, "junit"});
  if (!o.ktap_path.empty()) files.push_back({o.ktap_path, "ktap"});
  if (!o.kcidb_path.empty()) files.push_back({o.kcidb_path, "kcidb"});
  for (const auto& [path, kind] : files) {
    if (std::string problem = CheckWritable(path); !problem.empty()) {
      std::cerr << "nsconform: report " << path << ": " << problem << "\n";
      return 70;
    }
  }
  std::ostream& human = o.ktap_path == "-" ? std::cerr : std::cout;

  const auto started_wall = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  Environment env = ProbeEnvironment(o.redact);
  HostSnapshot before = TakeHostSnapshot();

  const runtime::Expectation exp = adapter->Expect();
  std::vector<CaseOutcome> outcomes;
  json runtime_section = adapter->Describe();
  runtime_section["adapter"] = o.adapter;
  runtime_section["rootless"] = o.adapter_options.rootless;
  runtime_section["add_userns"] = o.adapter_options.add_userns;
  runtime_section["probe"] = probe;
  runtime_section["expectation"] = ToJson(exp);
  std::vector<std::string> run_errors;

  auto progress = [&](const std::string& line) {
    if (!o.quiet) std::cerr << line << "\n";
  };

  const std::string unavailable = adapter->Unavailable();
  if (!unavailable.empty()) {
    runtime_section["unavailable"] = unavailable;
    for (size_t k = 0; k < rules.size(); ++k) {
      Judgement skip{Status::kSkip, ReasonCode::kPreconditionUnmet, unavailable, json::object(), json::object()};
      outcomes.push_back(Outcome(&metas[k], skip, 0, Rfc3339Utc(std::chrono::system_clock::now())));
    }
  } else {
    fs::path base = o.work_dir.empty() ? fs::temp_directory_path() : fs::path(o.work_dir);
    fs::path work = base / ("nsconform-runtime-" + RandomHex());
    fs::create_directories(work);
    fs::permissions(work, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    struct RemoveOnExit {
      fs::path p;
      ~RemoveOnExit() {
        std::error_code ec;
        fs::remove_all(p, ec);
      }
    } remove_work{work};
    LaunchSettings settings{work, work / "rootfs", o.timeout_s};
    BuildRootfs(settings.rootfs, probe);
    const ProbeRequest request = RequestFor(exp);

    const std::string t0 = Rfc3339Utc(std::chrono::system_clock::now());
    ContainerRun base_run = RunContainer(*adapter, request, settings);
    progress("[container] " + o.adapter + " (configuration as given): " +
             (base_run.reported ? "reported" : "no report: " + base_run.failure) + " (" +
             FormatSeconds(base_run.seconds) + " s)");
    runtime_section["container"] = {{"argv", base_run.argv},        {"reported", base_run.reported},
                                    {"runtime_exit", base_run.runtime_exit}, {"seconds", base_run.seconds},
                                    {"outside", base_run.outside},  {"leftovers", base_run.leftovers}};
    if (!base_run.stderr_tail.empty()) runtime_section["container"]["stderr_tail"] = base_run.stderr_tail;
    if (o.stable) runtime_section["container"].erase("seconds");

    json controls = json::array();
    for (size_t k = 0; k < rules.size(); ++k) {
      const RuntimeRule& rule = *rules[k];
      Judgement base_verdict = base_run.reported ? rule.judge(exp, base_run, rule.arg) : NoContainer(base_run, false);
      if (!o.control) {
        outcomes.push_back(Outcome(&metas[k], base_verdict, base_run.seconds, t0));
        continue;
      }
      const std::string tc = Rfc3339Utc(std::chrono::system_clock::now());
      if (base_verdict.status != Status::kPass) {
        Judgement j = base_verdict;
        if (j.status == Status::kFail) {
          j = {Status::kSkip, ReasonCode::kPreconditionUnmet,
               "the rule itself fails with the configuration as given: " + base_verdict.reason, json::object(), json::object()};
        } else if (j.status == Status::kSkip) {
          j.reason = "the rule itself skips: " + j.reason;
        }
        outcomes.push_back(Outcome(&metas[k], j, 0, tc));
        continue;
      }
      std::unique_ptr<Adapter> planted = adapter->Clone();
      std::string what;
      try {
        what = planted->Plant(rule.property);
      } catch (const PlantRefused& r) {
        outcomes.push_back(Outcome(&metas[k],
                                   {Status::kSkip, ReasonCode::kPreconditionUnmet,
                                    "no misconfiguration to plant: " + r.why, json::object(), json::object()},
                                   0, tc));
        controls.push_back({{"rule", rule.meta.id}, {"planted", nullptr}, {"refused", r.why}});
        continue;
      }
      ContainerRun run = RunContainer(*planted, request, settings);
      Judgement j = run.reported ? rule.judge(exp, run, rule.arg) : NoContainer(run, true);
      if (j.status == Status::kFail) j.reason = "planted: " + what + "; caught: " + j.reason;
      progress("[control] " + rule.meta.id + ": " + what + " -> " + std::string(StatusName(j.status)) + " (" +
               FormatSeconds(run.seconds) + " s)");
      json entry = {{"rule", rule.meta.id}, {"planted", what}, {"status", StatusName(j.status)}};
      if (!o.stable) entry["seconds"] = run.seconds;
      controls.push_back(entry);
      outcomes.push_back(Outcome(&metas[k], j, run.seconds, tc));
    }
    if (o.control) runtime_section["controls"] = controls;
  }

  HostSnapshot after = TakeHostSnapshot();
  for (const auto& d : DiffHostSnapshots(before, after)) run_errors.push_back("host audit: " + d);

  RunInfo info;
  info.id = RandomHex();
  info.started_at = started_wall;
  info.finished_at = std::chrono::system_clock::now();
  info.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  info.argv = {"nsconform", "runtime"};
  info.argv.insert(info.argv.end(), args.begin(), args.end());
  info.selection = {{"include", o.include}, {"exclude", o.exclude}, {"namespaces", json::array({"runtime"})}};
  info.timeouts = {{"multiplier", 1.0}, {"max_runtime_s", 0}, {"per_case_s", o.timeout_s}};
  info.catalog_rules = RuntimeRules().size();
  std::string ids;
  for (const auto& r : RuntimeRules()) ids += r.meta.id + "\t" + r.meta.title + "\n";
  info.catalog_sha256 = Sha256Hex(ids);
  info.stable = o.stable;
  info.run_errors = run_errors;

  json report = BuildJsonReport(info, env, outcomes);
  report["run"]["mode"] = o.control ? "runtime-control" : "runtime";
  report["runtime"] = runtime_section;
  const json& s = report["summary"];
  const int total = s["total"], pass = s["pass"], fail = s["fail"], skip = s["skip"], error = s["error"];
  int code = 0;
  if (!run_errors.empty() || error > 0) {
    code = 1;
  } else if (o.control) {
    code = pass > 0 ? 1 : total == skip ? 4 : 0;
  } else if (fail > 0) {
    code = o.no_error_on_fail ? 0 : 1;
  } else if (total == skip) {
    code = 4;
  }
  report["run"]["exit_code"] = code;

  bool write_failed = false;
  for (const auto& [path, kind] : files) {
    std::string text = kind == "json"    ? report.dump(2) + "\n"
                       : kind == "junit" ? RenderJunit(report, o.junit_profile)
                       : kind == "ktap"  ? RenderKtap(report, false)
                                         : RenderKcidb(report).dump(2) + "\n";
    if (!WriteAtomically(path, text)) {
      std::cerr << "nsconform: cannot write " << path << "\n";
      write_failed = true;
    }
  }
  if (!o.quiet) {
    PrintSummary(human, report, o.control);
    for (const auto& [path, kind] : files) {
      if (path != "-") human << "report: " << path << "\n";
    }
  }
  return write_failed ? 70 : code;
}

}  // namespace nsc
