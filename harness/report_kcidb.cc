// KCIDB v5.3 document from the canonical report (reports.md §6.5). Never writes null; custom
// data goes under misc; test paths are dot-separated [A-Za-z0-9_-] segments.
#include "report.h"
#include "text.h"

namespace nsc {

using nlohmann::json;

namespace {

std::string KernelArch(const std::string& machine) {
  if (machine == "aarch64") return "arm64";
  if (machine.starts_with("armv")) return "arm";
  if (machine == "riscv64") return "riscv";
  if (machine.starts_with("ppc64")) return "powerpc";
  if (machine == "s390x") return "s390";
  if (machine == "i686" || machine == "i386") return "i386";
  return machine;
}

std::string KcidbStatus(const json& r) {
  const std::string st = r["status"];
  if (st == "pass") return r.value("kind", "") == "observation" ? "DONE" : "PASS";
  if (st == "fail") return "FAIL";
  if (st == "skip") return "SKIP";
  return r.value("reason_code", "") == "NOT_RUN" ? "MISS" : "ERROR";
}

std::string Cut(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;  // UTF-8 boundary
  return s.substr(0, end);
}

}  // namespace

json RenderKcidb(const json& report) {
  const json& kernel = report["system"]["kernel"];
  const json& os = report["system"]["os_release"];
  const std::string release = kernel["release"];
  const std::string version = kernel["version"];
  const std::string machine = kernel["machine"];
  const std::string os_id = os.value("ID", "unknown");
  const std::string os_version = os.value("VERSION_ID", "");
  const std::string checkout_id =
      "nsconform:" + Sha256Hex(os_id + "\n" + os_version + "\n" + release + "\n" + version).substr(0, 16);
  const std::string build_id = "nsconform:" + Sha256Hex(release + "\n" + version + "\n" + machine).substr(0, 16);
  const std::string run_id = report["run"]["id"];

  json checkout = {{"id", checkout_id}, {"origin", "nsconform"}, {"valid", true},
                   {"comment", os.value("PRETTY_NAME", os_id) + " " + release}};
  json build_misc = {{"kernel_release", release}, {"kernel_version", version}, {"uname_machine", machine}};
  if (kernel.contains("cmdline") && !kernel["cmdline"].get<std::string>().empty()) {
    build_misc["cmdline"] = kernel["cmdline"];
  }
  if (kernel.contains("config") && kernel["config"].contains("sha256")) {
    build_misc["kconfig_sha256"] = kernel["config"]["sha256"];
  }
  json build = {{"id", build_id}, {"origin", "nsconform"}, {"checkout_id", checkout_id},
                {"architecture", KernelArch(machine)}, {"status", "PASS"}, {"misc", build_misc}};

  const json& virt = report["system"]["virtualization"];
  json env_misc = {{"platform", virt.value("vm", "unknown") == "none" ? machine
                                                                         : virt.value("vm", "vm") + "-" + machine},
                   {"container_runtime", virt.value("container", "none")},
                   {"os_id", os_id},
                   {"os_version_id", os_version},
                   {"euid", report["exec"]["euid"]},
                   {"cap_eff", report["exec"]["caps"]["eff"]},
                   {"seccomp", report["exec"]["seccomp"]}};

  json tests = json::array();
  for (const auto& r : report["results"]) {
    const std::string id = r["id"];
    json misc = {{"namespace", r["namespace"]},
                 {"source", r["source"]["doc"].get<std::string>() + ", " + r["source"]["section"].get<std::string>()},
                 {"expected", r["expected"]},
                 {"observed", r["observed"]},
                 {"run_id", run_id},
                 {"tool_version", report["tool"]["version"]},
                 {"mode", report["run"]["mode"]}};
    if (r.contains("recorded")) misc["recorded"] = r["recorded"];
    if (r.contains("reason_code")) misc["reason_code"] = r["reason_code"];
    if (r.contains("reason")) misc["reason"] = r["reason"];
    json t = {{"id", "nsconform:" + run_id + "." + id},
              {"origin", "nsconform"},
              {"build_id", build_id},
              {"path", "nsconform." + id},
              {"status", KcidbStatus(r)},
              {"environment", {{"comment", "nsconform on " + release}, {"misc", env_misc}}},
              {"misc", misc}};
    if (r.contains("started_at")) t["start_time"] = r["started_at"];
    if (r.contains("duration_s")) t["duration"] = r["duration_s"];
    std::string excerpt;
    if (r.contains("reason")) excerpt += r["reason"].get<std::string>() + "\n";
    if (r["status"] != "pass") {
      excerpt += "expected: " + r["expected"].dump() + "\nobserved: " + r["observed"].dump() + "\n";
    }
    if (r.contains("log")) excerpt += r["log"].get<std::string>();
    if (!excerpt.empty()) t["log_excerpt"] = Cut(excerpt, 16384);
    tests.push_back(std::move(t));
  }
  return {{"version", {{"major", 5}, {"minor", 3}}},
          {"checkouts", json::array({checkout})},
          {"builds", json::array({build})},
          {"tests", tests}};
}

}  // namespace nsc
