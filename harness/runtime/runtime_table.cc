// `nsconform runtime table REPORT.json...`: a property x runtime table (Markdown) from several
// runtime-mode reports, to paste into an issue. One column per report: adapter, rootless,
// control; one row per runtime.* rule; a cell is the status (with the reason code when not a
// pass), and the footer gives each report's counts and wall time.
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "../text.h"

namespace nsc::runtime {

using nlohmann::json;

namespace {

std::string Column(const json& report) {
  const json& rt = report["runtime"];
  std::string c = rt.value("adapter", "?");
  if (rt.value("rootless", false)) c += " rootless";
  if (rt.value("add_userns", false)) c += " +userns";
  if (report["run"].value("mode", "") == "runtime-control") c += " (controls)";
  return c;
}

std::string Cell(const json& r) {
  const std::string st = r["status"];
  if (st == "pass") return "PASS";
  if (st == "fail") return "**FAIL**";
  if (st == "skip") return "skip";
  return "ERROR " + r.value("reason_code", "");
}

}  // namespace

int RuntimeTableMain(const std::vector<std::string>& paths) {
  if (paths.empty()) throw UsageError{"usage: nsconform runtime table REPORT.json..."};
  std::vector<json> reports;
  for (const auto& p : paths) {
    std::ifstream in(p);
    if (!in) throw UsageError{"runtime table: cannot read " + p};
    json r = json::parse(in, nullptr, false);
    if (r.is_discarded() || !r.is_object() || !r.contains("runtime")) {
      throw UsageError{"runtime table: " + p + " is not a runtime-mode report"};
    }
    reports.push_back(std::move(r));
  }
  std::set<std::string> ids;
  for (const auto& r : reports) {
    for (const auto& res : r["results"]) ids.insert(res["id"].get<std::string>());
  }
  std::cout << "| property |";
  for (const auto& r : reports) std::cout << " " << Column(r) << " |";
  std::cout << "\n| --- |";
  for (size_t i = 0; i < reports.size(); ++i) std::cout << " --- |";
  std::cout << "\n";
  for (const auto& id : ids) {
    std::cout << "| " << id << " |";
    for (const auto& r : reports) {
      std::string cell = "-";
      for (const auto& res : r["results"]) {
        if (res["id"] == id) cell = Cell(res);
      }
      std::cout << " " << cell << " |";
    }
    std::cout << "\n";
  }
  std::cout << "| pass / fail / skip / error |";
  for (const auto& r : reports) {
    const json& s = r["summary"];
    std::cout << " " << s["pass"] << " / " << s["fail"] << " / " << s["skip"] << " / " << s["error"] << " |";
  }
  std::cout << "\n| wall time (s) |";
  for (const auto& r : reports) {
    std::cout << " " << (r["run"].contains("duration_s") ? FormatSeconds(r["run"]["duration_s"].get<double>(), 2) : "-")
              << " |";
  }
  std::cout << "\n| runtime |";
  for (const auto& r : reports) std::cout << " " << r["runtime"].value("version", "?") << " |";
  std::cout << "\n";
  return 0;
}

}  // namespace nsc::runtime
