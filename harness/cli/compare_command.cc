// nsconform compare BEFORE.json AFTER.json: what changed between two runs (kernels, distros,
// runtimes), keyed by rule ID. Exit 1 when a rule regressed (pass -> fail/error). Both inputs
// are validated against the report schema first (report_input.h).
#include <map>
#include <sstream>

#include "../text.h"
#include "commands.h"
#include "exit_policy.h"
#include "report_input.h"
#include "write.h"

namespace nsc {

using nlohmann::json;

int CompareMain(const std::vector<std::string>& args) {
  if (args.size() != 2) throw UsageError{"usage: nsconform compare BEFORE.json AFTER.json"};
  const json a = LoadReport(args[0]), b = LoadReport(args[1]);
  auto identity = [](const json& r) {
    auto at = [&r](const char* pointer, const char* fallback) -> std::string {
      const json::json_pointer p(pointer);
      if (!r.contains(p)) return fallback;
      return r.at(p).is_string() ? r.at(p).get<std::string>() : r.at(p).dump();
    };
    std::map<std::string, std::string> id;
    id["kernel.release"] = at("/system/kernel/release", "");
    id["kernel.machine"] = at("/system/kernel/machine", "");
    id["os"] = at("/system/os_release/PRETTY_NAME", "");
    id["exec.euid"] = at("/exec/euid", "");
    id["container"] = at("/system/virtualization/container", "");
    id["mode"] = at("/run/mode", "rule");
    return id;
  };
  auto ia = identity(a), ib = identity(b);
  std::ostringstream out;
  out << "comparing " << args[0] << " -> " << args[1] << "\n";
  for (const auto& [k, v] : ia) {
    if (ib[k] != v) out << "  " << k << ": " << v << " -> " << ib[k] << "\n";
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
  auto section = [&out](const char* title, const std::vector<std::string>& lines) {
    out << title << " (" << lines.size() << ")\n";
    for (const auto& l : lines) out << "  " << l << "\n";
  };
  section("regressions", regressions);
  section("fixes", fixes);
  section("other status changes", changes);
  section("rules only in AFTER", added);
  section("rules only in BEFORE", removed);
  if (int code = EmitToStdout(out.str()); code != kExitOk) return code;
  return regressions.empty() ? kExitOk : kExitFail;
}

}  // namespace nsc
