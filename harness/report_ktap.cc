// KTAP v1 from the canonical report (reports.md §6.6): flat by default, nested by namespace on
// request. A flat stream is valid KTAP, TAP13 and TAP14 at once.
#include <cstdlib>
#include <map>
#include <sstream>

#include "report.h"

namespace nsc {

using nlohmann::json;

namespace {

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
    if (c == '#') c = '_';  // '#' would start a directive
  }
  return s;
}

void ResultLine(std::ostringstream& out, const std::string& indent, int n, const json& r) {
  const std::string status = r["status"];
  const std::string id = r["id"];
  const std::string reason = r.contains("reason") ? OneLine(r["reason"]) : "";
  if (status == "fail" || status == "error") {
    out << indent << "# " << id << ": " << reason << " [" << OneLine(r["source"]["doc"]) << "]\n";
  }
  if (status == "pass") {
    out << indent << "ok " << n << " " << id << "\n";
  } else if (status == "skip") {
    out << indent << "ok " << n << " " << id << " # SKIP " << reason << "\n";
  } else if (status == "fail") {
    out << indent << "not ok " << n << " " << id << "\n";
  } else if (r.value("reason_code", "") == "TIMEOUT") {
    out << indent << "not ok " << n << " " << id << " # TIMEOUT "
        << static_cast<long long>(r["timeout_s"].get<double>() + 0.5) << " seconds\n";
  } else {
    out << indent << "not ok " << n << " " << id << " # ERROR " << r.value("reason_code", "") << "\n";
  }
}

}  // namespace

std::string RenderKtap(const json& report, bool nested) {
  std::ostringstream out;
  const json& results = report["results"];
  if (std::getenv("KSFT_TAP_LEVEL") == nullptr) out << "KTAP version 1\n";
  std::map<std::string, std::vector<const json*>> by_ns;
  for (const auto& r : results) by_ns[r["namespace"]].push_back(&r);
  out << "1.." << (nested ? by_ns.size() : results.size()) << "\n";
  out << "# nsconform " << report["tool"]["version"].get<std::string>()
      << " run=" << report["run"]["id"].get<std::string>()
      << " kernel=" << report["system"]["kernel"]["release"].get<std::string>()
      << " machine=" << report["system"]["kernel"]["machine"].get<std::string>()
      << " euid=" << report["exec"]["euid"] << " mode=" << report["run"]["mode"].get<std::string>()
      << "\n";
  if (!nested) {
    int n = 0;
    for (const auto& r : results) ResultLine(out, "", ++n, r);
  } else {
    int group = 0;
    for (const auto& [ns, rs] : by_ns) {
      out << "  KTAP version 1\n  # Subtest: " << ns << "\n  1.." << rs.size() << "\n";
      int n = 0;
      bool failed = false, all_skipped = true;
      for (const json* r : rs) {
        ResultLine(out, "  ", ++n, *r);
        const std::string st = (*r)["status"];
        failed = failed || st == "fail" || st == "error";
        all_skipped = all_skipped && st == "skip";
      }
      ++group;
      if (failed) {
        out << "not ok " << group << " " << ns << "\n";
      } else if (all_skipped) {
        out << "ok " << group << " " << ns << " # SKIP all " << rs.size() << " cases skipped\n";
      } else {
        out << "ok " << group << " " << ns << "\n";
      }
    }
  }
  const json& s = report["summary"];
  out << "# Totals: pass:" << s["pass"] << " fail:" << s["fail"] << " xfail:0 xpass:0 skip:"
      << s["skip"] << " error:" << s["error"] << "\n";
  if (!report["run"]["complete"].get<bool>()) out << "Bail out! run incomplete (interrupted)\n";
  return out.str();
}

}  // namespace nsc
