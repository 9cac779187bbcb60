#include "summary.h"

#include <map>
#include <sstream>

#include "../text.h"

namespace nsc {

using nlohmann::json;

namespace {

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

std::string RenderSummary(const json& report, const std::vector<ReportFile>& files, bool control) {
  std::ostringstream out;
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
  // Rules never run (interrupted, --max-runtime) are one line, not one each.
  size_t not_run = 0;
  for (const auto& r : report["results"]) {
    const std::string st = r["status"];
    if (r.value("reason_code", "") == "NOT_RUN") {
      ++not_run;
      continue;
    }
    const bool observation = r.value("kind", "assertion") == "observation";
    bool noteworthy = control ? (st == "pass" && !observation) || st == "error"
                              : st == "fail" || st == "error";
    if (noteworthy) {
      out << Pad(st, 6) << r["id"].get<std::string>() << ": " << r.value("reason", "control passed: the check did not detect the missing namespace") << "\n";
    }
  }
  if (not_run > 0) {
    out << "not run: " << not_run << " rule(s) had no verdict because the run stopped early\n";
  }
  for (const auto& f : files) {
    if (f.path != "-") out << "report: " << f.path << "\n";
  }
  return out.str();
}

}  // namespace nsc
