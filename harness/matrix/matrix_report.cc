// Building and rendering the matrix (see matrix_report.h).
#include "matrix_report.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace nsc::matrix {
namespace {

using nlohmann::json;

constexpr const char* kGuestFailed = "GUEST_FAILED";

bool EnvironmentError(const json& cell) {
  const std::string code = cell.value("reason_code", "");
  return code == "SETUP_FAILED" || code == "HARNESS_ERROR" || code == "NOT_RUN" || code == kGuestFailed;
}

bool KernelError(const json& cell) { return cell.value("status", "") == "error" && !EnvironmentError(cell); }

std::string Short(const std::string& status) {
  if (status == "pass") return "PASS";
  if (status == "fail") return "FAIL";
  if (status == "skip") return "skip";
  if (status == "error") return "ERR!";
  return "  - ";
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string KernelTitle(const json& k) {
  std::string s = k.value("release", "?");
  const json& p = k["package"];
  if (p.contains("name")) s += " (" + p.value("name", "") + " " + p.value("version", "") + ")";
  return s;
}

}  // namespace

std::vector<int> ReleaseNumbers(const std::string& release) {
  std::vector<int> out;
  std::string digits;
  for (char c : release + ".") {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else {
      if (!digits.empty()) out.push_back(std::stoi(digits));
      digits.clear();
      if (c != '.' || out.size() >= 3) break;
    }
  }
  while (out.size() < 3) out.push_back(0);
  return out;
}

void SortKernels(std::vector<KernelRun>& runs) {
  std::stable_sort(runs.begin(), runs.end(), [](const KernelRun& a, const KernelRun& b) {
    if (a.release.empty() != b.release.empty()) return b.release.empty();  // unresolved last
    auto va = ReleaseNumbers(a.release), vb = ReleaseNumbers(b.release);
    if (va != vb) return va < vb;
    return a.label < b.label;
  });
}

std::string ClassifyChange(const json& before, const json& after) {
  const std::string a = before.value("status", ""), b = after.value("status", "");
  if (a == b) return "same";
  if (a.empty() || b.empty()) return "changed";  // a rule only on one side
  if (a == "skip" || b == "skip" || EnvironmentError(before) || EnvironmentError(after)) return "environment";
  if (a == "pass" && (b == "fail" || KernelError(after))) return "regression";
  if ((a == "fail" || KernelError(before)) && b == "pass") return "fix";
  return "changed";
}

json BuildMatrix(const std::vector<KernelRun>& runs, const json& meta) {
  json m = meta;
  m["schema"] = "nsconform-matrix";
  m["schema_version"] = "1.0";
  json kernels = json::array();
  std::map<std::string, json> rules;  // id -> {namespace, title}
  std::vector<std::map<std::string, json>> cells(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    const KernelRun& r = runs[i];
    json k = {{"label", r.label}, {"release", r.release}, {"package", r.package}, {"distro", r.distro},
              {"outcome", r.reported ? "reported" : "error"}, {"wall_s", r.wall_s},
              {"attempts", r.attempts}, {"report_dir", r.report_dir}};
    if (!r.reported) k["error"] = r.error;
    if (r.reported) {
      k["summary"] = r.report["summary"];
      k["version"] = r.report["system"]["kernel"].value("version", "");
      if (r.report["run"].contains("duration_s")) k["suite_s"] = r.report["run"]["duration_s"];
      k["config_source"] = r.report["system"]["kernel"]["config"].value("source", "none");
      k["cgroup"] = r.report["exec"].value("cgroup", "");
      k["timeout_multiplier"] = r.report["invocation"]["timeouts"].value("multiplier", 1.0);
      for (const auto& res : r.report["results"]) {
        const std::string id = res["id"];
        if (!rules.contains(id)) rules[id] = {{"namespace", res["namespace"]}, {"title", res.value("title", "")}};
        json cell = {{"status", res["status"]}};
        if (res.contains("reason_code")) cell["reason_code"] = res["reason_code"];
        if (res.contains("reason")) cell["reason"] = res["reason"];
        if (res.contains("recorded")) cell["recorded"] = res["recorded"];
        cells[i][id] = cell;
      }
    }
    kernels.push_back(k);
  }
  json rows = json::array();
  json summary = {{"kernels", runs.size()}, {"reported", 0}, {"guest_errors", 0}, {"rules", rules.size()},
                  {"rows_differing", 0}, {"rows_recorded_differing", 0}};
  for (const auto& r : runs) summary[r.reported ? "reported" : "guest_errors"] = summary[r.reported ? "reported" : "guest_errors"].get<int>() + 1;
  for (const auto& [id, info] : rules) {
    json row = {{"id", id}, {"namespace", info["namespace"]}, {"title", info["title"]}};
    json rc = json::object();
    std::set<std::string> statuses;
    std::set<std::string> recorded;
    const json* first = nullptr;
    json change;
    for (size_t i = 0; i < runs.size(); ++i) {
      json cell;
      if (!runs[i].reported) {
        cell = {{"status", "error"}, {"reason_code", kGuestFailed}, {"reason", "guest: " + runs[i].error}};
      } else if (auto it = cells[i].find(id); it != cells[i].end()) {
        cell = it->second;
        statuses.insert(cell["status"].get<std::string>());
        if (cell.contains("recorded")) recorded.insert(cell["recorded"].dump());
      } else {
        cell = {{"status", "absent"}};
      }
      rc[runs[i].label] = cell;
      if (!runs[i].reported) continue;
      if (first == nullptr) {
        first = &rc[runs[i].label];
      } else if (change.is_null() && (*first)["status"] != cell["status"]) {
        change = {{"kernel", runs[i].label}, {"release", runs[i].release},
                  {"from", (*first)["status"]}, {"to", cell["status"]},
                  {"kind", ClassifyChange(*first, cell)}};
      }
    }
    row["cells"] = rc;
    row["differs"] = statuses.size() > 1;
    row["recorded_differs"] = recorded.size() > 1;
    if (!change.is_null()) row["first_change"] = change;
    if (statuses.size() > 1) summary["rows_differing"] = summary["rows_differing"].get<int>() + 1;
    if (recorded.size() > 1) summary["rows_recorded_differing"] = summary["rows_recorded_differing"].get<int>() + 1;
    rows.push_back(row);
  }
  m["kernels"] = kernels;
  m["rules"] = rows;
  m["summary"] = summary;
  return m;
}

int ApplyBaseline(json& matrix, const json& baseline, const std::string& file) {
  std::map<std::string, const json*> before;
  if (baseline.contains("rules")) {
    for (const auto& row : baseline["rules"]) before[row["id"]] = &row;
  }
  json regressions = json::array(), fixes = json::array(), environment = json::array();
  for (auto& row : matrix["rules"]) {
    auto it = before.find(row["id"]);
    if (it == before.end()) continue;
    const json& old_cells = (*it->second)["cells"];
    for (auto& [label, cell] : row["cells"].items()) {
      if (!old_cells.contains(label)) continue;
      const json& old = old_cells[label];
      const std::string kind = ClassifyChange(old, cell);
      if (kind == "same") continue;
      cell["baseline"] = {{"kind", kind}, {"was", old.value("status", "")}};
      if (old.contains("reason")) cell["baseline"]["was_reason"] = old["reason"];
      json entry = {{"id", row["id"]}, {"kernel", label}, {"from", old.value("status", "")},
                    {"to", cell.value("status", "")}};
      if (cell.contains("reason")) entry["reason"] = cell["reason"];
      if (old.contains("reason")) entry["was_reason"] = old["reason"];
      if (kind == "regression") regressions.push_back(entry);
      if (kind == "fix") fixes.push_back(entry);
      if (kind == "environment" || kind == "changed") {
        entry["kind"] = kind;
        environment.push_back(entry);
      }
    }
  }
  matrix["baseline"] = {{"file", file}, {"regressions", regressions}, {"fixes", fixes}, {"other", environment}};
  return static_cast<int>(regressions.size());
}

std::string RenderMatrixTable(const json& m) {
  std::ostringstream out;
  const json& kernels = m["kernels"];
  out << "kernels:\n";
  size_t label_width = 0;
  for (const auto& k : kernels) label_width = std::max(label_width, k["label"].get<std::string>().size() + 2);
  for (size_t i = 0; i < kernels.size(); ++i) {
    const json& k = kernels[i];
    out << "  " << Pad("K" + std::to_string(i + 1), 4) << Pad(k["label"], label_width) << KernelTitle(k);
    if (k["outcome"] == "reported") {
      const json& s = k["summary"];
      out << "  pass " << s.value("pass", 0) << " fail " << s.value("fail", 0) << " skip "
          << s.value("skip", 0) << " error " << s.value("error", 0);
    } else {
      out << "  GUEST ERROR: " << k.value("error", "");
    }
    out << "\n";
  }
  size_t width = 20;
  for (const auto& row : m["rules"]) {
    if (row["differs"]) width = std::max(width, row["id"].get<std::string>().size() + 1);
  }
  std::ostringstream body;
  int shown = 0;
  for (const auto& row : m["rules"]) {
    if (!row["differs"]) continue;
    ++shown;
    body << Pad(row["id"], width);
    for (const auto& k : kernels) body << Short(row["cells"][k["label"].get<std::string>()].value("status", "")) << " ";
    if (row.contains("first_change")) {
      const json& c = row["first_change"];
      body << " changes at " << c["release"].get<std::string>() << " (" << c["kernel"].get<std::string>()
           << "): " << c["from"].get<std::string>() << " -> " << c["to"].get<std::string>();
      if (c["kind"] == "environment") body << " [environment]";
      const json& cell = row["cells"][c["kernel"].get<std::string>()];
      if (cell.contains("reason_code")) body << " " << cell["reason_code"].get<std::string>();
    }
    body << "\n";
  }
  out << "\n";
  if (shown == 0) {
    out << "every rule has the same status on every kernel that reported (" << m["rules"].size() << " rules)\n";
  } else {
    out << Pad("rule (" + std::to_string(shown) + " of " + std::to_string(m["rules"].size()) + " differ)", width);
    for (size_t i = 0; i < kernels.size(); ++i) out << Pad("K" + std::to_string(i + 1), 5);
    out << "\n" << body.str();
  }
  if (m.contains("baseline")) {
    const json& b = m["baseline"];
    out << "\nagainst baseline " << b["file"].get<std::string>() << ": " << b["regressions"].size()
        << " regressions, " << b["fixes"].size() << " fixes, " << b["other"].size()
        << " changes where the environment differed\n";
    for (const auto& kind : {"regressions", "fixes"}) {
      for (const auto& e : b[kind]) {
        out << "  " << (std::string(kind) == "regressions" ? "REGRESSION " : "fix        ") << e["id"].get<std::string>()
            << " on " << e["kernel"].get<std::string>() << ": " << e["from"].get<std::string>() << " -> "
            << e["to"].get<std::string>();
        if (e.contains("reason")) out << " (" << e["reason"].get<std::string>() << ")";
        out << "\n";
      }
    }
  }
  return out.str();
}

std::string RenderMatrixHtml(const json& m) {
  std::ostringstream h;
  const json& kernels = m["kernels"];
  std::set<std::string> namespaces;
  for (const auto& row : m["rules"]) namespaces.insert(row["namespace"].get<std::string>());
  h << R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>nsconform kernel matrix</title>
<style>
body{font-family:system-ui,sans-serif;margin:1em;color:#222}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:2px 6px;white-space:nowrap}
thead th{position:sticky;top:0;background:#f4f4f4;vertical-align:bottom}
th.k{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal}
td.pass{background:#c8efc8}td.fail{background:#f5a3a3;font-weight:bold}
td.skip{background:#e6e6e6;color:#555}td.error{background:#f7c96b}td.absent{background:#fff}
td.regression{outline:3px solid #c00;outline-offset:-3px}td.fix{outline:3px solid #080;outline-offset:-3px}
td.rid{font-family:monospace}tr.same td.rid{color:#666}
#bar{margin:.5em 0 1em 0}#bar label{margin-right:1.5em}
.legend span{display:inline-block;padding:1px 8px;margin-right:4px}
</style></head><body>
<h1>nsconform kernel matrix</h1>
)";
  h << "<p>" << kernels.size() << " kernels, " << m["rules"].size() << " rules, "
    << m["summary"]["rows_differing"] << " rows differ. Generated " << HtmlEscape(m.value("generated_at", ""))
    << " by nsconform " << HtmlEscape(m.value("tool_version", "")) << ".</p>\n";
  h << R"(<p class="legend"><span class="pass" style="background:#c8efc8">pass</span><span style="background:#f5a3a3">fail</span><span style="background:#e6e6e6">skip</span><span style="background:#f7c96b">error</span> Hover a cell for its reason.</p>
<div id="bar"><label>Namespace <select id="ns"><option value="">all</option>)";
  for (const auto& ns : namespaces) h << "<option>" << HtmlEscape(ns) << "</option>";
  h << R"(</select></label><label><input type="checkbox" id="differs"> differs only</label><span id="count"></span></div>
<table id="matrix"><thead><tr><th>rule</th>)";
  for (const auto& k : kernels) {
    std::string title = KernelTitle(k);
    if (k["outcome"] != "reported") title += " — GUEST ERROR: " + k.value("error", "");
    h << "<th class=\"k\" title=\"" << HtmlEscape(title) << "\">" << HtmlEscape(k["label"]) << "<br>"
      << HtmlEscape(k.value("release", "")) << "</th>";
  }
  h << "<th>first change</th></tr></thead>\n<tbody>\n";
  for (const auto& row : m["rules"]) {
    const bool differs = row["differs"];
    h << "<tr data-ns=\"" << HtmlEscape(row["namespace"]) << "\" data-differs=\"" << (differs ? 1 : 0)
      << "\" class=\"" << (differs ? "differs" : "same") << "\"><td class=\"rid\" title=\""
      << HtmlEscape(row.value("title", "")) << "\">" << HtmlEscape(row["id"]) << "</td>";
    for (const auto& k : kernels) {
      const json& cell = row["cells"][k["label"].get<std::string>()];
      std::string status = cell.value("status", "absent");
      std::string cls = status;
      std::string tip = status;
      if (cell.contains("reason_code")) tip += " " + cell["reason_code"].get<std::string>();
      if (cell.contains("reason")) tip += ": " + cell["reason"].get<std::string>();
      if (cell.contains("baseline")) {
        cls += " " + cell["baseline"].value("kind", "");
        tip += " [baseline: was " + cell["baseline"].value("was", "") + ", " + cell["baseline"].value("kind", "") + "]";
      }
      h << "<td class=\"" << HtmlEscape(cls) << "\" title=\"" << HtmlEscape(tip) << "\">" << HtmlEscape(status) << "</td>";
    }
    h << "<td>";
    if (row.contains("first_change")) {
      const json& c = row["first_change"];
      h << HtmlEscape(c["release"].get<std::string>() + ": " + c["from"].get<std::string>() + " → " +
                      c["to"].get<std::string>() + (c["kind"] == "environment" ? " (environment)" : ""));
    }
    h << "</td></tr>\n";
  }
  h << R"(</tbody></table>
<script>
(function(){
  var ns=document.getElementById('ns'),differs=document.getElementById('differs'),count=document.getElementById('count');
  function apply(){
    var rows=document.querySelectorAll('#matrix tbody tr'),shown=0;
    rows.forEach(function(r){
      var ok=(!ns.value||r.dataset.ns===ns.value)&&(!differs.checked||r.dataset.differs==='1');
      r.style.display=ok?'':'none'; if(ok)shown++;
    });
    count.textContent=shown+' of '+rows.length+' rules shown';
  }
  ns.addEventListener('change',apply);differs.addEventListener('change',apply);apply();
})();
</script>
</body></html>
)";
  return h.str();
}

}  // namespace nsc::matrix
