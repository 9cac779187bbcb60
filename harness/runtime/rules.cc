// The runtime.* rule table and its judges. A judge sees the expectation (from the
// configuration the checker read) and one container run; it never looks at the configuration
// the runtime was actually given, so a runtime that ignores its config is caught.
#include "rules.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "../text.h"

namespace nsc::runtime {

using nlohmann::json;

namespace {

Judgement Pass(json expected, json observed) {
  return {Status::kPass, ReasonCode::kNone, "", std::move(expected), std::move(observed)};
}
Judgement Fail(std::string why, json expected, json observed) {
  return {Status::kFail, ReasonCode::kExpectationMismatch, std::move(why), std::move(expected),
          std::move(observed)};
}
Judgement NotConfigured(const std::string& what) {
  return {Status::kSkip, ReasonCode::kPreconditionUnmet, "the configuration sets no " + what,
          json::object(), json::object()};
}
Judgement Error(const std::string& why) {
  return {Status::kError, ReasonCode::kHarnessError, why, json::object(), json::object()};
}

// A JSON value as a report observation: strings and integers stay, the rest is dumped.
json Obs(const json& v) {
  if (v.is_string() || v.is_number_integer()) return v;
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_object() && v.contains("errno") && v.size() == 1) return json{{"errno", v["errno"]}};
  return v.dump();
}

std::string NsText(const json& id) {
  if (!id.is_object()) return "?";
  if (id.contains("errno")) return id["errno"].get<std::string>();
  return std::to_string(id.value("dev", 0ULL)) + ":" + std::to_string(id.value("ino", 0ULL));
}

// "Field:\tvalue" of a /proc/PID/status text.
std::string StatusField(const json& status, const std::string& field) {
  if (!status.is_string()) return "";
  std::istringstream in(status.get<std::string>());
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":")) return Trim(line.substr(field.size() + 1));
  }
  return "";
}

std::vector<IdMapping> ParseMap(const json& text) {
  std::vector<IdMapping> out;
  if (!text.is_string()) return out;
  std::istringstream in(text.get<std::string>());
  IdMapping m;
  while (in >> m.inside >> m.outside >> m.size) out.push_back(m);
  return out;
}

std::string MapText(std::vector<IdMapping> maps) {
  std::sort(maps.begin(), maps.end(), [](const IdMapping& a, const IdMapping& b) { return a.inside < b.inside; });
  std::string s;
  for (const auto& m : maps) {
    s += (s.empty() ? "" : ", ") + std::to_string(m.inside) + " " + std::to_string(m.outside) + " " +
         std::to_string(m.size);
  }
  return s.empty() ? "(empty)" : s;
}

// --- namespaces ----------------------------------------------------------------------------

Judgement JudgeNamespace(const Expectation& e, const ContainerRun& run, const std::string& type) {
  if (run.outside.contains("error")) return Error(run.outside["error"]);
  const NsSetting& s = e.ns.at(type);
  const json& mine = run.outside["ns"][type];
  if (mine.contains("errno")) {
    return {Status::kSkip, ReasonCode::kNsTypeUnsupported,
            "/proc/PID/ns/" + type + ": " + mine["errno"].get<std::string>(), json::object(), json::object()};
  }
  const std::string container = NsText(mine);
  const std::string runtime_own = NsText(run.outside["runtime_ns"][type]);
  const std::string harness_own = NsText(run.outside["harness_ns"][type]);
  json observed = {{"container_ns", container}, {"runtime_ns", runtime_own}, {"harness_ns", harness_own},
                   {"inside_view", NsText(run.inside["ns"][type])}};
  json expected = {{"mode", NsModeName(s.mode)}};
  if (s.mode == NsSetting::Mode::kNew) {
    expected["container_ns"] = "differs from the runtime's and the harness's " + type + " namespace";
    if (container == runtime_own || container == harness_own) {
      return Fail("the container shares the " + type + " namespace it was configured to get anew", expected, observed);
    }
  } else if (s.mode == NsSetting::Mode::kShared) {
    expected["container_ns"] = "the runtime's own " + type + " namespace (type not configured)";
    if (container != runtime_own) {
      return Fail("the container got a new " + type + " namespace the configuration does not ask for", expected,
                  observed);
    }
  } else {
    const std::string joined = NsText(run.outside["join_ns"][type]);
    observed["path_ns"] = joined;
    expected["container_ns"] = "the namespace of " + s.path;
    if (container != joined) {
      return Fail("the container is not in the " + type + " namespace of " + s.path, expected, observed);
    }
  }
  if (NsText(run.inside["ns"][type]) != container) {
    return Fail("the probe's /proc/self/ns/" + type + " differs from /proc/PID/ns/" + type + " seen from outside",
                expected, observed);
  }
  return Pass(expected, observed);
}

// --- process ---------------------------------------------------------------------------------

Judgement JudgePid1(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (!e.process_is_pid1) return NotConfigured("PID namespace of its own for the process");
  const long pid = run.inside.value("pid", -1L), ppid = run.inside.value("ppid", -1L);
  json observed = {{"getpid", pid}, {"getppid", ppid}};
  if (*e.process_is_pid1) {
    json expected = {{"getpid", "1"}, {"getppid", "0 (its parent is outside the namespace)"}};
    if (pid != 1 || ppid != 0) return Fail("the container's process is not the init of its PID namespace", expected, observed);
    return Pass(expected, observed);
  }
  json expected = {{"getpid", "not 1: the runtime's own init is PID 1 (declared arrangement)"}};
  if (pid == 1) return Fail("the process is PID 1 though the configuration keeps the runtime's init", expected, observed);
  return Pass(expected, observed);
}

Judgement JudgeProcView(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (!e.proc_mounted || !*e.proc_mounted) return NotConfigured("proc mount at /proc");
  const json& proc = run.inside["proc"];
  json observed = {{"proc_self", Obs(proc["self"])}, {"getpid", run.inside.value("pid", -1L)},
                   {"processes_listed", Obs(proc["visible"])}};
  json expected = {{"proc_self", "the process's own PID (a proc of the container's PID namespace)"}};
  if (!proc["self"].is_string() || proc["self"].get<std::string>() != std::to_string(run.inside.value("pid", -1L))) {
    return Fail("/proc is not a proc file system of the container's PID namespace", expected, observed);
  }
  return Pass(expected, observed);
}

Judgement JudgeUser(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (!e.uid) return NotConfigured("process user");
  json expected = {{"uid", std::to_string(*e.uid)}, {"gid", std::to_string(e.gid.value_or(0))}};
  json observed = {{"uid", run.inside.value("uid", -1L)}, {"euid", run.inside.value("euid", -1L)},
                   {"gid", run.inside.value("gid", -1L)}, {"groups", run.inside["groups"].dump()}};
  bool ok = run.inside.value("uid", -1L) == *e.uid && run.inside.value("euid", -1L) == *e.uid &&
            run.inside.value("gid", -1L) == e.gid.value_or(0);
  if (e.additional_gids) {
    expected["groups"] = "include " + json(*e.additional_gids).dump();
    for (uint32_t g : *e.additional_gids) {
      const auto& groups = run.inside["groups"];
      ok = ok && std::find(groups.begin(), groups.end(), json(g)) != groups.end();
    }
  }
  if (!ok) return Fail("the process does not run as the configured user", expected, observed);
  return Pass(expected, observed);
}

uint64_t ParseHex(const std::string& s) { return s.empty() ? 0 : std::stoull(s, nullptr, 16); }

uint64_t Mask(const std::map<std::string, std::vector<std::string>>& caps, const char* field) {
  auto it = caps.find(field);
  return it == caps.end() ? 0 : ParseHex(CapabilityMask(it->second));
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The sets execve(2) leaves the process with, given the configured sets (capabilities(7),
// "Transformation of capabilities during execve()"; the probe binary has no file caps): root
// gets permitted = effective = inheritable | bounding; anyone else permitted = effective =
// the ambient set, which can only hold what is both permitted and inheritable.
Judgement JudgeCapabilities(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (!e.capabilities) return NotConfigured("capability sets");
  const auto& c = *e.capabilities;
  const uint64_t bnd = Mask(c, "CapBnd"), inh = Mask(c, "CapInh"), prm = Mask(c, "CapPrm");
  const uint64_t amb = Mask(c, "CapAmb") & inh & prm;
  const bool root = run.inside.value("euid", -1L) == 0;
  const uint64_t after_prm = root ? ((inh | bnd) & bnd) | amb : amb;
  std::map<std::string, uint64_t> want = {
      {"CapBnd", bnd}, {"CapInh", inh}, {"CapPrm", after_prm}, {"CapEff", after_prm}, {"CapAmb", amb}};
  json expected, observed;
  std::string wrong;
  for (const auto& [field, mask] : want) {
    expected[field] = Hex(mask);
    const std::string seen = StatusField(run.inside["status"], field);
    observed[field] = seen.empty() ? "(unreadable)" : seen;
    if (seen.empty() || ParseHex(seen) != mask) wrong += (wrong.empty() ? "" : ", ") + field;
  }
  if (!wrong.empty()) return Fail("capability sets differ from the configuration: " + wrong, expected, observed);
  return Pass(expected, observed);
}

Judgement JudgeNoNewPrivs(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (!e.no_new_privileges) return NotConfigured("noNewPrivileges setting");
  const std::string want = *e.no_new_privileges ? "1" : "0";
  const std::string seen = StatusField(run.inside["status"], "NoNewPrivs");
  json expected = {{"NoNewPrivs", want}}, observed = {{"NoNewPrivs", seen}, {"Seccomp", StatusField(run.inside["status"], "Seccomp")}};
  if (seen != want) return Fail("no_new_privs is " + seen + ", configured " + want, expected, observed);
  return Pass(expected, observed);
}

// --- uts -------------------------------------------------------------------------------------

Judgement JudgeName(const Expectation& e, const ContainerRun& run, const std::string& which) {
  const auto& want = which == "hostname" ? e.hostname : e.domainname;
  if (!want) return NotConfigured(which);
  const std::string seen = run.inside.value(which == "hostname" ? "nodename" : "domainname", "");
  json expected = {{which, *want}}, observed = {{which, seen}};
  if (seen != *want) return Fail("the container's " + which + " is '" + seen + "'", expected, observed);
  return Pass(expected, observed);
}

// --- user ------------------------------------------------------------------------------------

Judgement JudgeIdMap(const Expectation& e, const ContainerRun& run, const std::string& which) {
  const auto& want = which == "uid_map" ? e.uid_map : e.gid_map;
  if (!want) return NotConfigured("user namespace mappings");
  if (run.outside.contains("error")) return Error(run.outside["error"]);
  auto seen = ParseMap(run.outside[which]);
  json expected = {{which, MapText(*want)}};
  json observed = {{which, MapText(seen)}, {"inside_view", MapText(ParseMap(run.inside[which]))},
                   {"setgroups", Trim(run.outside["setgroups"].is_string() ? run.outside["setgroups"].get<std::string>() : "?")}};
  auto sorted = [](std::vector<IdMapping> v) {
    std::sort(v.begin(), v.end(), [](const IdMapping& a, const IdMapping& b) { return a.inside < b.inside; });
    return v;
  };
  if (sorted(seen) != sorted(*want)) return Fail(which + " seen from outside differs from the configured mappings", expected, observed);
  return Pass(expected, observed);
}

// --- mounts ----------------------------------------------------------------------------------

Judgement JudgePropagation(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (!e.rootfs_propagation) return NotConfigured("rootfs propagation");
  const std::string want = *e.rootfs_propagation;
  const json& tags_j = run.inside["root"]["propagation"];
  const std::string tags = tags_j.is_string() ? tags_j.get<std::string>() : "?";
  if (tags == "?") {
    return {Status::kSkip, ReasonCode::kPreconditionUnmet,
            "the container's / is not a mount point of its mount namespace (a chroot into a directory)",
            json::object(), {{"mountinfo_tags", Obs(tags_j)}}};
  }
  const bool shared = tags.find("shared:") != std::string::npos;
  const bool slave = tags.find("master:") != std::string::npos;
  const bool unbindable = tags.find("unbindable") != std::string::npos;
  std::string seen = shared ? "shared" : slave ? "slave" : unbindable ? "unbindable" : "private";
  json expected = {{"propagation", want}};
  json observed = {{"mountinfo_tags", tags.empty() ? "(none)" : tags}, {"propagation", seen}};
  const bool behaviour = run.inside.contains("recheck") && run.inside["recheck"].contains("mnt_is_mountpoint");
  if (!behaviour && (want == "private" || want == "slave")) {
    // Over a private source mount, slave and private look alike (no master to name).
    return {Status::kSkip, ReasonCode::kInsufficientPrivilege,
            "a private or slave root is only told apart against a shared rootfs mount, which needs root "
            "(the runtime then starts in a private mount namespace)",
            expected, observed};
  }
  if (behaviour) {
    const bool arrived = run.inside["recheck"]["mnt_is_mountpoint"].get<bool>();
    // A slave receives its master's mounts; a private or unbindable root receives nothing. A
    // shared root may be in a peer group of its own (the spec only says "shared"): recorded.
    const bool should_arrive = want == "slave";
    observed["outside_mount_seen_inside"] = arrived ? "true" : "false";
    if (want != "shared") expected["outside_mount_seen_inside"] = should_arrive ? "true" : "false";
    if (want != "shared" && arrived != should_arrive) {
      return Fail(std::string("a mount made under the rootfs outside ") + (arrived ? "propagated" : "did not propagate") +
                      " into the container",
                  expected, observed);
    }
  }
  if (seen != want) return Fail("the container's root mount is " + seen, expected, observed);
  return Pass(expected, observed);
}

Judgement JudgeReadonlyRoot(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (!e.readonly_root) return NotConfigured("root.readonly");
  const json& r = run.inside["root"];
  json observed = {{"statvfs_readonly", Obs(r["statvfs_readonly"])}, {"create_file", Obs(r["create_file"])}};
  if (*e.readonly_root) {
    json expected = {{"create_file", "EROFS"}};
    if (r["create_file"] != "EROFS") return Fail("the root file system is writable", expected, observed);
    return Pass(expected, observed);
  }
  json expected = {{"statvfs_readonly", "false"}};
  if (r["statvfs_readonly"] != false) return Fail("the root file system is mounted read-only", expected, observed);
  return Pass(expected, observed);
}

// A masked path is /dev/null bound over a file, or an empty read-only directory.
bool Masked(const json& p) {
  if (p.value("type", "") == "chr 1:3") return true;
  return p.value("type", "") == "dir" && p["entries"] == 0 && p.value("readonly", false);
}

Judgement JudgePaths(const Expectation& e, const ContainerRun& run, const std::string& which) {
  const auto& want = which == "masked" ? e.masked_paths : e.readonly_paths;
  if (!want || want->empty()) return NotConfigured(which + " paths");
  json expected, observed;
  std::string wrong;
  int present = 0;
  for (const auto& path : *want) {
    const json& p = run.inside.contains("paths") && run.inside["paths"].contains(path) ? run.inside["paths"][path] : json();
    std::string key = path.size() > 55 ? path.substr(path.size() - 55) : path;
    if (p.is_null()) {
      observed[key] = "not reported";
      wrong += (wrong.empty() ? "" : ", ") + path;
      continue;
    }
    if (p.contains("errno")) {
      observed[key] = "absent (" + p["errno"].get<std::string>() + ")";
      continue;  // nothing to mask or protect (runtime-spec: paths that do not exist are skipped)
    }
    ++present;
    const bool ok = which == "masked" ? Masked(p) : p.value("readonly", false);
    expected[key] = which == "masked" ? "/dev/null or an empty read-only directory" : "on a read-only mount";
    observed[key] = p.dump();
    if (!ok) wrong += (wrong.empty() ? "" : ", ") + path;
  }
  if (!wrong.empty()) return Fail("not " + which + ": " + wrong, expected, observed);
  if (present == 0) {
    return {Status::kSkip, ReasonCode::kPreconditionUnmet, "none of the " + which + " paths exists in the container",
            expected, observed};
  }
  return Pass(expected, observed);
}

// --- sysctl, time, cgroup ----------------------------------------------------------------------

std::string Squeeze(const std::string& s) {
  std::istringstream in(s);
  std::string w, out;
  while (in >> w) out += (out.empty() ? "" : " ") + w;
  return out;
}

Judgement JudgeSysctl(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (e.sysctl.empty()) return NotConfigured("sysctls");
  json expected, observed;
  std::string wrong;
  for (const auto& [k, v] : e.sysctl) {
    expected[k] = Squeeze(v);
    const json& seen = run.inside.contains("sysctl") ? run.inside["sysctl"].value(k, json()) : json();
    observed[k] = seen.is_string() ? json(Squeeze(seen.get<std::string>())) : Obs(seen);
    if (!seen.is_string() || Squeeze(seen.get<std::string>()) != Squeeze(v)) wrong += (wrong.empty() ? "" : ", ") + k;
  }
  if (!wrong.empty()) return Fail("sysctls differ: " + wrong, expected, observed);
  return Pass(expected, observed);
}

int64_t OffsetOf(const json& text, const std::string& clock) {
  if (!text.is_string()) return -1;
  std::istringstream in(text.get<std::string>());
  std::string name;
  int64_t secs = 0, nsecs = 0;
  while (in >> name >> secs >> nsecs) {
    if (name == clock) return secs;
  }
  return 0;
}

Judgement JudgeTimeOffsets(const Expectation& e, const ContainerRun& run, const std::string&) {
  if (e.time_offsets.empty()) return NotConfigured("time namespace offsets");
  if (run.outside.contains("error")) return Error(run.outside["error"]);
  json expected, observed;
  std::string wrong;
  for (const char* clock : {"monotonic", "boottime"}) {
    auto it = e.time_offsets.find(clock);
    const int64_t want = it == e.time_offsets.end() ? 0 : it->second;
    const int64_t seen = OffsetOf(run.outside["timens_offsets"], clock);
    expected[std::string(clock) + "_offset_s"] = std::to_string(want);
    observed[std::string(clock) + "_offset_s"] = seen;
    // Behaviour, not only the file: the probe's clock against the harness's, read moments apart.
    const int64_t inside = run.inside["clock"].value(std::string(clock) + "_s", 0LL);
    const int64_t outside = run.outside.contains("clock") ? run.outside["clock"].value(std::string(clock) + "_s", 0LL) : 0;
    observed[std::string(clock) + "_clock_diff_s"] = inside - outside;
    expected[std::string(clock) + "_clock_diff_s"] = std::to_string(want) + " (within 2 s)";
    if (seen != want || std::llabs(inside - outside - want) > 2) wrong += (wrong.empty() ? "" : ", ") + std::string(clock);
  }
  if (!wrong.empty()) return Fail("clock offsets differ from the configuration: " + wrong, expected, observed);
  return Pass(expected, observed);
}

Judgement JudgeCgroupView(const Expectation& e, const ContainerRun& run, const std::string&) {
  const NsSetting& s = e.ns.at("cgroup");
  if (s.mode != NsSetting::Mode::kNew) return NotConfigured("cgroup namespace of its own");
  const json& text = run.inside["cgroup"];
  json expected = {{"cgroup_paths", "every hierarchy at \"/\" (the container's cgroup is its root)"}};
  json observed = {{"proc_self_cgroup", Obs(text)}};
  if (!text.is_string()) return Fail("/proc/self/cgroup is unreadable inside", expected, observed);
  std::istringstream in(text.get<std::string>());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto colon = line.find(':', line.find(':') + 1);
    if (colon == std::string::npos || line.substr(colon + 1) != "/") {
      return Fail("the container sees a cgroup path other than its root: " + line, expected, observed);
    }
  }
  return Pass(expected, observed);
}

Judgement JudgeNothingLeft(const Expectation&, const ContainerRun& run, const std::string&) {
  json expected = {{"leftovers", "none"}, {"runtime_exit", "0 (the probe's exit status)"}};
  std::string all;
  for (const auto& l : run.leftovers) all += (all.empty() ? "" : "; ") + l;
  json observed = {{"leftovers", all.empty() ? "none" : all}, {"runtime_exit", run.runtime_exit}};
  if (!run.leftovers.empty()) return Fail("the container left something behind: " + all, expected, observed);
  if (run.runtime_exit != 0) return Fail("the runtime exited with " + std::to_string(run.runtime_exit), expected, observed);
  return Pass(expected, observed);
}

// --- the table --------------------------------------------------------------------------------

RuntimeRule Rule(std::string id, std::string title, std::string observe, std::string control,
                 std::string property, JudgeFn judge, std::string arg = "", int line = __builtin_LINE()) {
  RuntimeRule r;
  r.meta.id = std::move(id);
  r.meta.title = std::move(title);
  r.meta.observe = std::move(observe);
  r.meta.control = std::move(control);
  r.meta.file = "harness/runtime/rules.cc";
  r.meta.line = line;
  r.meta.timeout_s = 20;
  r.property = std::move(property);
  r.arg = std::move(arg);
  r.judge = judge;
  return r;
}

std::vector<RuntimeRule> BuildRules() {
  std::vector<RuntimeRule> rules;
  for (const auto& t : kNsTypes) {
    rules.push_back(Rule(
        "runtime.ns." + t, "The container's " + t + " namespace is new, joined or shared exactly as configured",
        "outside: /proc/PID/ns/" + t + " of the held container against the namespaces the runtime was started in, the harness's and any "
        "configured path (dev:ino); inside: the probe's /proc/self/ns/" + t + " agrees",
        "the runtime gets the configuration with this namespace removed (or added, when the configuration shares "
        "it); the checker keeps the original: the identity must no longer match",
        "ns." + t, JudgeNamespace, t));
  }
  rules.push_back(Rule("runtime.pid.init_is_pid1", "The container's process is PID 1 of its PID namespace, with parent 0 (or the declared init arrangement)",
                       "inside: getpid() and getppid()", "the runtime gets the configuration without the init arrangement (no PID namespace, or bwrap without/with --as-pid-1)",
                       "pid1", JudgePid1));
  rules.push_back(Rule("runtime.proc.pid_view", "/proc in the container is a proc file system of the container's PID namespace",
                       "inside: readlink(\"/proc/self\") is the probe's own getpid()", "the runtime gets the configuration without the /proc mount",
                       "proc", JudgeProcView));
  rules.push_back(Rule("runtime.uts.hostname", "The container's hostname is the configured one", "inside: uname().nodename",
                       "the runtime gets the configuration without the hostname", "hostname", JudgeName, "hostname"));
  rules.push_back(Rule("runtime.uts.domainname", "The container's NIS domain name is the configured one", "inside: uname().domainname",
                       "the runtime gets the configuration without the domainname", "domainname", JudgeName, "domainname"));
  rules.push_back(Rule("runtime.user.uid_map", "The container's uid_map is the configured user-namespace mapping",
                       "outside: /proc/PID/uid_map read from the initial user namespace (host view)",
                       "the runtime gets a mapping whose host ID is shifted by one", "uid_map", JudgeIdMap, "uid_map"));
  rules.push_back(Rule("runtime.user.gid_map", "The container's gid_map is the configured user-namespace mapping",
                       "outside: /proc/PID/gid_map read from the initial user namespace (host view)",
                       "the runtime gets a mapping whose host ID is shifted by one", "gid_map", JudgeIdMap, "gid_map"));
  rules.push_back(Rule("runtime.mnt.rootfs_propagation", "The container's root mount has the configured propagation",
                       "inside: optional fields of \"/\" in /proc/self/mountinfo; by behaviour (root): a tmpfs mounted "
                       "under the rootfs outside (a shared mount there) appears inside only for shared/slave",
                       "the runtime gets another rootfs propagation, one it honours (OCI: private becomes rslave on runc, "
                       "unbindable on crun, anything else rprivate; unshare: private becomes unchanged)", "rootfs_propagation", JudgePropagation));
  rules.push_back(Rule("runtime.mnt.readonly_root", "The container's root file system is read-only exactly when configured",
                       "inside: creating a file in / fails with EROFS (read-only) / statvfs has no ST_RDONLY (read-write)",
                       "the runtime gets the configuration with root.readonly inverted", "readonly_root", JudgeReadonlyRoot));
  rules.push_back(Rule("runtime.mnt.masked_paths", "Every configured masked path is masked (/dev/null or an empty read-only directory)",
                       "inside: lstat/statvfs of each path that exists", "the runtime gets an empty maskedPaths",
                       "masked_paths", JudgePaths, "masked"));
  rules.push_back(Rule("runtime.mnt.readonly_paths", "Every configured read-only path is on a read-only mount",
                       "inside: statvfs(path).f_flag has ST_RDONLY", "the runtime gets an empty readonlyPaths",
                       "readonly_paths", JudgePaths, "readonly"));
  rules.push_back(Rule("runtime.sysctl.values", "Every configured sysctl has the configured value inside the container",
                       "inside: /proc/sys/<key>", "the runtime gets the configuration without sysctls", "sysctl", JudgeSysctl));
  rules.push_back(Rule("runtime.time.offsets", "The container's time namespace has the configured clock offsets",
                       "outside: /proc/PID/timens_offsets; behaviour: the probe's CLOCK_MONOTONIC/BOOTTIME against the harness's",
                       "the runtime gets the configuration without time offsets", "time_offsets", JudgeTimeOffsets));
  rules.push_back(Rule("runtime.process.user", "The container's process runs as the configured uid, gid and additional groups",
                       "inside: getuid/geteuid/getgid/getgroups", "the runtime gets uid and gid shifted by one", "user", JudgeUser));
  rules.push_back(Rule("runtime.process.capabilities", "The container's process has the capability sets the configuration and execve(2) give",
                       "inside: CapBnd/CapInh/CapPrm/CapEff/CapAmb of /proc/self/status against the configured sets after "
                       "capabilities(7)'s execve transformation", "the runtime gets the configuration without capabilities",
                       "capabilities", JudgeCapabilities));
  rules.push_back(Rule("runtime.process.no_new_privileges", "The container's process has no_new_privs exactly as configured",
                       "inside: NoNewPrivs of /proc/self/status", "the runtime gets noNewPrivileges inverted",
                       "no_new_privileges", JudgeNoNewPrivs));
  rules.push_back(Rule("runtime.cgroup.root_view", "With a cgroup namespace of its own the container sees its cgroups as \"/\"",
                       "inside: every line of /proc/self/cgroup ends in \"/\"", "the runtime gets the configuration without the cgroup namespace",
                       "cgroup_root", JudgeCgroupView));
  rules.push_back(Rule("runtime.lifecycle.nothing_left", "Once the container's process exits, the runtime leaves no process, mount, cgroup or state behind",
                       "outside, after the runtime exited: processes carrying the probe's token, mounts of the workspace, cgroups "
                       "named after the container, the runtime's state entry; the runtime's exit status",
                       "none: a leftover cannot be planted through the configuration", "lifecycle", JudgeNothingLeft));
  std::sort(rules.begin(), rules.end(), [](const RuntimeRule& a, const RuntimeRule& b) { return a.meta.id < b.meta.id; });
  return rules;
}

}  // namespace

const std::vector<RuntimeRule>& RuntimeRules() {
  static const std::vector<RuntimeRule> rules = BuildRules();
  return rules;
}

ProbeRequest RequestFor(const Expectation& e) {
  ProbeRequest r;
  if (e.masked_paths) r.masked = *e.masked_paths;
  if (e.readonly_paths) r.readonly = *e.readonly_paths;
  for (const auto& [k, v] : e.sysctl) r.sysctls.push_back(k);
  return r;
}

}  // namespace nsc::runtime
