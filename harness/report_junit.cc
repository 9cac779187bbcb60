// JUnit XML from the canonical report (reports.md §6.4). Profile `strict` validates against
// Jenkins' junit-4.xsd; `common` adds what Jenkins/GitLab/GitHub actions also read.
#include <map>
#include <sstream>

#include "report.h"
#include "text.h"

namespace nsc {

using nlohmann::json;

namespace {

// XML 1.0 text/attribute escaping; drops characters XML 1.0 forbids (C0 controls but TAB/LF/CR).
std::string Xml(std::string_view s, bool attribute) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += attribute ? "&quot;" : "\""; break;
      case '\'': out += attribute ? "&apos;" : "'"; break;
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      case '\r': out += attribute ? "&#13;" : "\r"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      default:
        if (c >= 0x20) out += static_cast<char>(c);
    }
  }
  return out;
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

double Seconds(const json& r) { return r.contains("duration_s") ? r["duration_s"].get<double>() : 0.0; }

}  // namespace

std::string RenderJunit(const json& report, JunitProfile profile) {
  const bool strict = profile == JunitProfile::kStrict;
  std::map<std::string, std::vector<const json*>> by_ns;
  for (const auto& r : report["results"]) by_ns[r["namespace"]].push_back(&r);

  const json& kernel = report["system"]["kernel"];
  const json& os = report["system"]["os_release"];
  const json& exec = report["exec"];
  std::vector<std::pair<std::string, std::string>> props = {
      {"nsconform.schema_version", report["schema_version"]},
      {"nsconform.version", report["tool"]["version"]},
      {"run.id", report["run"]["id"]},
      {"run.started_at", Str(report["run"], "started_at")},
      {"run.mode", report["run"]["mode"]},
      {"kernel.release", kernel["release"]},
      {"kernel.version", kernel["version"]},
      {"kernel.machine", kernel["machine"]},
      {"kernel.cmdline", Str(kernel, "cmdline")},
      {"os.id", Str(os, "ID")},
      {"os.version_id", Str(os, "VERSION_ID")},
      {"os.pretty_name", Str(os, "PRETTY_NAME")},
      {"exec.euid", std::to_string(exec["euid"].get<long long>())},
      {"exec.cap_eff", exec["caps"]["eff"]},
      {"exec.seccomp", std::to_string(exec["seccomp"].get<int>())},
      {"exec.container", report["system"]["virtualization"]["container"]},
      {"virt.vm", report["system"]["virtualization"]["vm"]},
  };

  json totals = Summarize(report["results"]);
  double total_time = 0;
  for (const auto& r : report["results"]) total_time += Seconds(r);
  std::string started = Str(report["run"], "started_at");
  std::string timestamp = started.size() >= 19 ? started.substr(0, 19) : "";

  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<testsuites name=\"nsconform\" tests=\"" << totals["total"] << "\" failures=\""
    << totals["fail"] << "\" errors=\"" << totals["error"] << "\"";
  if (!strict) {
    x << " skipped=\"" << totals["skip"] << "\"";
    if (!timestamp.empty()) x << " timestamp=\"" << timestamp << "\"";
  }
  x << " time=\"" << FormatSeconds(total_time) << "\">\n";
  for (const auto& [ns, results] : by_ns) {
    const std::string suite = "nsconform." + ns;
    json sums = json::array();
    for (const json* r : results) sums.push_back(*r);
    json s = Summarize(sums);
    double t = 0;
    for (const json* r : results) t += Seconds(*r);
    x << "  <testsuite name=\"" << Xml(suite, true) << "\" id=\""
      << Xml(report["run"]["id"].get<std::string>() + "-" + ns, true) << "\"";
    if (report["system"].contains("hostname")) {
      x << " hostname=\"" << Xml(report["system"]["hostname"].get<std::string>(), true) << "\"";
    }
    x << " tests=\"" << s["total"] << "\" failures=\"" << s["fail"] << "\" errors=\"" << s["error"]
      << "\" skipped=\"" << s["skip"] << "\" time=\"" << FormatSeconds(t) << "\"";
    if (!timestamp.empty()) x << " timestamp=\"" << timestamp << "\"";
    x << ">\n    <properties>\n";
    for (const auto& [name, value] : props) {
      x << "      <property name=\"" << Xml(name, true) << "\" value=\"" << Xml(value, true)
        << "\"/>\n";
    }
    x << "    </properties>\n";
    for (const json* rp : results) {
      const json& r = *rp;
      const std::string status = r["status"];
      x << "    <testcase classname=\"" << Xml(suite, true) << "\" name=\""
        << Xml(r["id"].get<std::string>(), true) << "\" time=\"" << FormatSeconds(Seconds(r)) << "\"";
      if (!strict) {
        x << " file=\"" << Xml(r["case"]["file"].get<std::string>(), true) << "\" line=\""
          << r["case"]["line"] << "\"";
      }
      const bool has_body = status != "pass" || !strict;
      if (!has_body) {
        x << "/>\n";
        continue;
      }
      x << ">\n";
      const std::string reason = Str(r, "reason");
      const std::string code = Str(r, "reason_code");
      std::ostringstream detail;
      detail << "rule: " << r["id"].get<std::string>() << "\nsource: "
             << r["source"]["doc"].get<std::string>() << ", " << r["source"]["section"].get<std::string>()
             << "\nexpected: " << r["expected"].dump() << "\nobserved: " << r["observed"].dump();
      if (r.contains("recorded")) detail << "\nrecorded: " << r["recorded"].dump();
      detail << "\nreason: " << reason;
      if (status == "skip") {
        if (strict) {
          x << "      <skipped>" << Xml(reason, false) << "</skipped>\n";
        } else {
          x << "      <skipped message=\"" << Xml(FirstLine(reason), true) << "\">" << Xml(reason, false)
            << "</skipped>\n";
        }
      } else if (status == "error") {
        x << "      <error message=\"" << Xml(FirstLine(reason), true) << "\" type=\"" << Xml(code, true)
          << "\">" << Xml(detail.str(), false) << "</error>\n";
      } else if (status == "fail") {
        x << "      <failure message=\"" << Xml(FirstLine(reason), true) << "\" type=\""
          << Xml(code, true) << "\">" << Xml(detail.str(), false) << "</failure>\n";
      }
      if (status != "pass" && r.contains("log")) {
        x << "      <system-out>" << Xml(r["log"].get<std::string>(), false) << "</system-out>\n";
      }
      if (!strict) {
        x << "      <properties>\n"
          << "        <property name=\"namespace\" value=\"" << Xml(ns, true) << "\"/>\n"
          << "        <property name=\"source\" value=\""
          << Xml(r["source"]["doc"].get<std::string>(), true) << "\"/>\n";
        if (!code.empty()) {
          x << "        <property name=\"reason_code\" value=\"" << Xml(code, true) << "\"/>\n";
        }
        x << "      </properties>\n";
      }
      x << "    </testcase>\n";
    }
    x << "  </testsuite>\n";
  }
  x << "</testsuites>\n";
  return x.str();
}

}  // namespace nsc
