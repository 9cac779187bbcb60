// The canonical JSON report (reports.md §6.2). Schema: reports/nsconform-report.schema.json.
#include <unistd.h>

#include "nsconform/case.h"
#include "report.h"
#include "text.h"

#ifndef NSCONFORM_VERSION
#define NSCONFORM_VERSION "0.0.0"
#endif
#ifndef NSCONFORM_GIT_COMMIT
#define NSCONFORM_GIT_COMMIT "unknown"
#endif
#ifndef NSCONFORM_COMPILER
#define NSCONFORM_COMPILER "unknown"
#endif

#include <gnu/libc-version.h>

namespace nsc {

using nlohmann::json;

namespace {
const char* PrivilegeName(Privilege p) {
  switch (p) {
    case Privilege::kNone: return "none";
    case Privilege::kUserns: return "userns";
    case Privilege::kRoot: return "root";
    case Privilege::kNocap: return "nocap";
  }
  return "none";
}
}  // namespace

json CaseMetadata(const Case& c) {
  json namespaces = json::array();
  for (unsigned long flag : {CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID,
                             CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS}) {
    if ((c.needs.namespaces & flag) != 0) namespaces.push_back(NsTypeName(flag));
  }
  json needs = {{"privilege", PrivilegeName(c.needs.privilege)},
                   {"namespaces", namespaces},
                   {"kconfig", c.needs.kconfig}};
  const auto& v = c.needs.min_kernel;
  if (v.major != 0) {
    needs["min_kernel"] = std::to_string(v.major) + "." + std::to_string(v.minor) +
                             (v.patch ? "." + std::to_string(v.patch) : "");
  }
  if (c.needs.needs_userns) needs["needs_userns"] = true;
  bool observation_only = !c.expect.empty();
  for (const auto& e : c.expect) observation_only = observation_only && e.record_only();
  json meta = {{"id", c.id},
          {"namespace", c.Namespace()},
          {"title", c.title},
          {"source", {{"doc", c.source.doc}, {"section", c.source.section}}},
          {"references", c.references},
          {"observe", c.observe},
          {"control", c.control},
          {"requires", needs},
          {"kind", observation_only ? "observation" : "assertion"},
          {"case", {{"file", c.file}, {"line", c.line}}}};
  if (!c.no_control_because.empty()) meta["no_control_because"] = c.no_control_because;
  return meta;
}

json SummarizeControls(const json& results) {
  json s = {{"valid", 0}, {"invalid", 0}, {"none", 0}, {"not_run", 0},
            {"invalid_ids", json::array()}, {"none_ids", json::array()}};
  auto count = [&](const char* what, const json& r) {
    s[what] = s[what].get<int>() + 1;
    const std::string ids = std::string(what) + "_ids";
    if (s.contains(ids)) s[ids].push_back(r["id"]);
  };
  for (const auto& r : results) {
    const std::string st = r["status"];
    if (r.value("kind", "") == "observation" || r.value("reason_code", "") == "NO_CONTROL") {
      count("none", r);
    } else if (st == "fail" && r.contains("contradicted")) {
      count("valid", r);
    } else if (st == "pass" || st == "fail" || st == "error") {
      count("invalid", r);
    } else {
      count("not_run", r);
    }
  }
  return s;
}

json Summarize(const json& results) {
  json s = {{"total", 0}, {"pass", 0}, {"fail", 0}, {"skip", 0}, {"error", 0}, {"known_issue", 0}};
  for (const auto& r : results) {
    s["total"] = s["total"].get<int>() + 1;
    const std::string st = r["status"];
    s[st] = s[st].get<int>() + 1;
  }
  return s;
}

json BuildJsonReport(const RunInfo& run, const Environment& env,
                     const std::vector<CaseOutcome>& outcomes) {
  json results = json::array();
  for (const CaseOutcome& o : outcomes) {
    json r = CaseMetadata(*o.rule);
    r["status"] = StatusName(o.status);
    if (o.status != Status::kPass) {
      r["reason_code"] = ReasonCodeName(o.code);
      r["reason"] = o.reason;
    }
    if (!o.preconditions.empty()) r["preconditions"] = o.preconditions;
    r["expected"] = o.expected;
    if (!o.contradicted.empty()) r["contradicted"] = o.contradicted;
    r["observed"] = o.observed;
    if (!o.recorded.empty()) r["recorded"] = o.recorded;
    if (!run.stable) {
      if (!o.started_at.empty()) r["started_at"] = o.started_at;
      r["duration_s"] = o.duration_s;
    }
    r["timeout_s"] = o.timeout_s;
    if (!o.signal.empty()) r["signal"] = o.signal;
    if (!o.log.empty()) r["log"] = o.log;
    results.push_back(std::move(r));
  }
  std::sort(results.begin(), results.end(),
            [](const json& a, const json& b) { return a["id"] < b["id"]; });

  json report;
  report["schema"] = "nsconform-report";
  report["schema_version"] = kReportSchemaVersion;
  report["run"] = {{"id", run.id},
                   {"complete", run.complete},
                   {"exit_code", run.exit_code},
                   {"mode", run.mode == Mode::kControl ? "control" : "rule"},
                   {"errors", run.run_errors}};
  if (!run.case_tracking.empty()) report["run"]["case_tracking"] = run.case_tracking;
  if (!run.stable) {
    report["run"]["started_at"] = Rfc3339Utc(run.started_at);
    report["run"]["finished_at"] = Rfc3339Utc(run.finished_at);
    report["run"]["duration_s"] = run.duration_s;
  }
  report["tool"] = {{"name", "nsconform"},
                    {"version", NSCONFORM_VERSION},
                    {"git_commit", NSCONFORM_GIT_COMMIT},
                    {"build",
                     {{"compiler", NSCONFORM_COMPILER},
                      {"libc", std::string("glibc ") + gnu_get_libc_version()}}}};
  report["invocation"] = {{"argv", run.argv},
                          {"selection", run.selection},
                          {"timeouts", run.timeouts},
                          {"force_userns", run.force_userns}};
  report["plan"] = {{"catalog_rules", run.catalog_rules},
                    {"selected", outcomes.size()},
                    {"catalog_sha256", run.catalog_sha256}};
  report["system"] = env.system;
  report["exec"] = env.exec;
  report["summary"] = Summarize(results);
  if (run.mode == Mode::kControl) report["controls"] = SummarizeControls(results);
  report["results"] = std::move(results);
  return report;
}

std::string ReportBaseName(const json& report) {
  std::string release = report["system"]["kernel"]["release"];
  std::string machine = report["system"]["kernel"]["machine"];
  return "nsconform-" + release + "-" + machine;
}

}  // namespace nsc
