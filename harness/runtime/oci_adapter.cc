// OCI runtimes (runc, crun): the configuration is a bundle's config.json, read with nlohmann
// json. Without --bundle the runtime's own `spec` (or `spec --rootless`) is the starting point,
// plus the nsconform defaults that make every property checkable (hostname, domainname, a
// cgroup namespace, a user namespace with a 65536-id mapping as root, rootfsPropagation
// private, one IPC sysctl).
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <boost/process.hpp>

#include "../text.h"
#include "adapter.h"

namespace nsc::runtime {

namespace bp = boost::process;
using nlohmann::json;

namespace {

const char* const kSpec = "OCI runtime-spec v1.0.2";

// /proc/PID/ns name -> OCI linux.namespaces type.
std::string OciType(const std::string& t) {
  if (t == "mnt") return "mount";
  if (t == "net") return "network";
  return t;
}

bool IsIpcSysctl(const std::string& k) {
  return k.starts_with("kernel.msg") || k.starts_with("kernel.sem") || k.starts_with("kernel.shm") ||
         k.starts_with("fs.mqueue.");
}

json* FindNs(json& config, const std::string& type) {
  if (!config.contains("linux") || !config["linux"].contains("namespaces")) return nullptr;
  for (auto& n : config["linux"]["namespaces"]) {
    if (n.value("type", "") == OciType(type)) return &n;
  }
  return nullptr;
}

std::vector<IdMapping> Mappings(const json& list) {
  std::vector<IdMapping> out;
  for (const auto& m : list) out.push_back({m.value("containerID", 0ULL), m.value("hostID", 0ULL), m.value("size", 0ULL)});
  return out;
}

std::string BasePropagation(std::string p) {
  if (p.starts_with("r")) p = p.substr(1);  // rshared -> shared: the root mount's own type
  return p;
}

// The runtime-spec version a runtime declares on its `--version` output ("spec: 1.0.2-dev").
std::pair<int, int> DeclaredSpecVersion(const std::string& binary) {
  bp::ipstream out;
  std::error_code ec;
  bp::child c(bp::exe = binary, bp::args = {"--version"}, bp::std_in < bp::null, bp::std_out > out,
              bp::std_err > bp::null, ec);
  if (ec) return {0, 0};
  std::pair<int, int> v{0, 0};
  std::string line;
  while (std::getline(out, line)) {
    if (line.starts_with("spec:")) std::sscanf(line.c_str() + 5, " %d.%d", &v.first, &v.second);
  }
  c.wait();
  return v;
}

class OciAdapter : public Adapter {
 public:
  OciAdapter(std::string name, const AdapterOptions& o)
      : name_(std::move(name)), rootless_(o.rootless), add_userns_(o.add_userns) {
    // A bad bundle is a usage error whether or not the runtime is installed.
    const bool bundle_read = !o.bundle.empty();
    if (bundle_read) {
      std::ifstream in(fs::path(o.bundle) / "config.json");
      if (!in) throw UsageError{"--bundle " + o.bundle + ": cannot read config.json"};
      try {
        original_ = json::parse(in);
      } catch (const json::exception& e) {
        throw UsageError{"--bundle " + o.bundle + ": config.json is not JSON: " + e.what()};
      }
      if (!original_.is_object()) throw UsageError{"--bundle " + o.bundle + ": config.json is not a JSON object"};
      source_ = "bundle " + o.bundle;
    }
    const std::string real = FindInPath(name_);
    binary_ = o.runtime_path.empty() ? real : o.runtime_path;
    if (!o.extra.empty()) global_args_ = o.extra;
    if (binary_.empty() || real.empty()) {
      unavailable_ = name_ + " is not installed (not found in PATH)";
      return;
    }
    if (access(binary_.c_str(), X_OK) != 0) {
      unavailable_ = binary_ + " is not executable";
      return;
    }
    if (name_ == "crun" && rootless_) {
      unavailable_ = "crun rootless on a hybrid-cgroup host needs a user-namespace wrapper (not implemented)";
      return;
    }
    if (!bundle_read) {
      spec_version_ = DeclaredSpecVersion(real);
      original_ = GenerateSpec(real);
      if (original_.is_null()) return;  // unavailable_ says why
      AddNsconformDefaults();
      source_ = "`" + name_ + " spec" + (rootless_ ? " --rootless" : "") + "` + nsconform defaults";
    }
    config_ = original_;
    version_ = FirstLineOf({real, "--version"});
  }

  std::unique_ptr<Adapter> Clone() const override { return std::make_unique<OciAdapter>(*this); }
  std::string Name() const override { return name_; }
  std::string Unavailable() const override { return unavailable_; }
  std::string Version() const override { return version_; }

  std::string SourceOf(const std::string& p) const override {
    if (p.starts_with("ns.") || p == "pid1" || p == "cgroup_root") return "config-linux.md, Namespaces";
    if (p == "proc") return "config.md, Mounts";
    if (p == "hostname") return "config.md, Hostname";
    if (p == "domainname") return "config.md, Domainname";
    if (p == "uid_map" || p == "gid_map") return "config-linux.md, User namespace mappings";
    if (p == "rootfs_propagation") return "config-linux.md, Rootfs Mount Propagation";
    if (p == "readonly_root") return "config.md, Root";
    if (p == "masked_paths") return "config-linux.md, Masked Paths";
    if (p == "readonly_paths") return "config-linux.md, Readonly Paths";
    if (p == "sysctl") return "config-linux.md, Sysctl";
    if (p == "time_offsets") return "config-linux.md, Offset for Time Namespace";
    if (p == "user") return "config.md, User (POSIX platforms)";
    if (p == "capabilities" || p == "no_new_privileges") return "config.md, Linux Process";
    if (p == "lifecycle") return "runtime.md, Lifecycle / Delete";
    return "config.md";
  }
  std::string SourceDoc() const override { return kSpec; }

  Expectation Expect() const override {
    const json& c = original_;
    Expectation e;
    for (const auto& t : kNsTypes) e.ns[t] = {};
    if (!c.is_object()) return e;  // no configuration (the runtime is unavailable)
    const json linux = c.value("linux", json::object());
    for (const auto& n : linux.value("namespaces", json::array())) {
      std::string type = n.value("type", "");
      if (type == "mount") type = "mnt";
      if (type == "network") type = "net";
      NsSetting s;
      s.mode = n.contains("path") ? NsSetting::Mode::kJoin : NsSetting::Mode::kNew;
      s.path = n.value("path", "");
      e.ns[type] = s;
    }
    if (e.ns["pid"].mode == NsSetting::Mode::kNew) e.process_is_pid1 = true;
    bool proc = false;
    for (const auto& m : c.value("mounts", json::array())) {
      proc = proc || (m.value("destination", "") == "/proc" && m.value("type", "") == "proc");
    }
    e.proc_mounted = proc;
    if (c.contains("hostname")) e.hostname = c["hostname"];
    if (c.contains("domainname")) e.domainname = c["domainname"];
    if (e.ns["user"].mode == NsSetting::Mode::kNew) {
      e.uid_map = Mappings(linux.value("uidMappings", json::array()));
      e.gid_map = Mappings(linux.value("gidMappings", json::array()));
    }
    if (linux.contains("rootfsPropagation")) e.rootfs_propagation = BasePropagation(linux["rootfsPropagation"]);
    e.readonly_root = c.value("root", json::object()).value("readonly", false);
    if (linux.contains("maskedPaths")) e.masked_paths = linux["maskedPaths"].get<std::vector<std::string>>();
    if (linux.contains("readonlyPaths")) e.readonly_paths = linux["readonlyPaths"].get<std::vector<std::string>>();
    const json sysctl = linux.value("sysctl", json::object());
    for (const auto& [k, v] : sysctl.items()) e.sysctl[k] = v.get<std::string>();
    const json offsets = linux.value("timeOffsets", json::object());
    for (const auto& [clock, v] : offsets.items()) {
      e.time_offsets[clock] = v.value("secs", 0LL);
    }
    const json process = c.value("process", json::object());
    const json user = process.value("user", json::object());
    e.uid = user.value("uid", 0U);
    e.gid = user.value("gid", 0U);
    if (user.contains("additionalGids")) e.additional_gids = user["additionalGids"].get<std::vector<uint32_t>>();
    if (process.contains("capabilities")) {
      std::map<std::string, std::vector<std::string>> caps;
      const std::pair<const char*, const char*> sets[] = {{"bounding", "CapBnd"}, {"effective", "CapEff"},
                                                          {"permitted", "CapPrm"}, {"inheritable", "CapInh"},
                                                          {"ambient", "CapAmb"}};
      for (const auto& [oci, field] : sets) {
        caps[field] = process["capabilities"].value(oci, std::vector<std::string>{});
      }
      e.capabilities = caps;
    }
    e.no_new_privileges = process.value("noNewPrivileges", false);
    return e;
  }

  std::string Plant(const std::string& p) override {
    json& c = config_;
    json& linux = c["linux"];
    auto refuse = [&](const std::string& why) -> std::string { throw PlantRefused{why}; };
    if (p.starts_with("ns.") || p == "pid1" || p == "cgroup_root") {
      const std::string type = p == "pid1" ? "pid" : p == "cgroup_root" ? "cgroup" : p.substr(3);
      json* n = FindNs(c, type);
      if (n != nullptr && n->contains("path")) {
        n->erase("path");
        return "path of the " + type + " namespace removed (a new one instead)";
      }
      if (n == nullptr) {
        linux["namespaces"].push_back({{"type", OciType(type)}});
        if (type == "user" && !linux.contains("uidMappings")) {
          // A user namespace without mappings is refused: give it the --add-userns ones.
          linux["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
          linux["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
          return "a new user namespace added, mapping 0 -> 100000 (the configuration shares it)";
        }
        return "a new " + type + " namespace added (the configuration shares it)";
      }
      auto& list = linux["namespaces"];
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const json& x) { return x.value("type", "") == OciType(type); }),
                 list.end());
      std::string also;
      if (type == "uts") {
        c.erase("hostname");
        c.erase("domainname");
        also = " (and hostname, domainname, which need it)";
      } else if (type == "user") {
        linux.erase("uidMappings");
        linux.erase("gidMappings");
        also = " (and its mappings)";
      } else if (type == "time") {
        linux.erase("timeOffsets");
        also = " (and timeOffsets)";
      } else if (type == "ipc" || type == "net") {
        if (linux.contains("sysctl")) {
          json kept = json::object();
          for (const auto& [k, v] : linux["sysctl"].items()) {
            if (type == "ipc" ? !IsIpcSysctl(k) : !k.starts_with("net.")) kept[k] = v;
          }
          linux["sysctl"] = kept;
          also = " (and the sysctls that need it)";
        }
      }
      return "the " + type + " namespace removed from linux.namespaces" + also;
    }
    if (p == "proc") {
      auto& mounts = c["mounts"];
      auto before = mounts.size();
      mounts.erase(std::remove_if(mounts.begin(), mounts.end(),
                                  [](const json& m) { return m.value("destination", "") == "/proc"; }),
                   mounts.end());
      if (mounts.size() == before) return refuse("the configuration mounts nothing at /proc");
      if (linux.contains("sysctl") && !linux["sysctl"].empty()) {
        linux.erase("sysctl");
        return "the /proc mount removed (and the sysctls, which are written through it)";
      }
      return "the /proc mount removed";
    }
    if (p == "hostname" || p == "domainname") {
      if (!c.contains(p)) return refuse("the configuration sets no " + p);
      c.erase(p);
      return p + " removed";
    }
    if (p == "uid_map" || p == "gid_map") {
      const char* key = p == "uid_map" ? "uidMappings" : "gidMappings";
      if (!linux.contains(key) || linux[key].empty()) return refuse(std::string("the configuration has no ") + key);
      for (auto& m : linux[key]) m["hostID"] = m.value("hostID", 0ULL) + 1;
      return std::string(key) + " host IDs shifted by one";
    }
    if (p == "rootfs_propagation") {
      // Removing it would be a no-op where the runtime's default is the configured value, so
      // another value is planted, one this runtime honours (measured on runc 1.1.5 / crun
      // 1.8.1 with the rootfs on a shared mount: runc ignores private, shared, unbindable and
      // makes rshared private; crun makes slave and rslave private; both honour rprivate,
      // runc rslave, crun unbindable).
      if (!linux.contains("rootfsPropagation")) return refuse("the configuration sets no rootfsPropagation");
      const std::string was = linux["rootfsPropagation"];
      linux["rootfsPropagation"] = BasePropagation(was) != "private" ? "rprivate" : name_ == "crun" ? "unbindable" : "rslave";
      return "rootfsPropagation " + was + " changed to " + linux["rootfsPropagation"].get<std::string>();
    }
    if (p == "readonly_root") {
      c["root"]["readonly"] = !c["root"].value("readonly", false);
      return "root.readonly inverted";
    }
    if (p == "masked_paths" || p == "readonly_paths") {
      const char* key = p == "masked_paths" ? "maskedPaths" : "readonlyPaths";
      if (!linux.contains(key) || linux[key].empty()) return refuse(std::string("the configuration has no ") + key);
      linux[key] = json::array();
      return std::string(key) + " emptied";
    }
    if (p == "sysctl" || p == "time_offsets") {
      const char* key = p == "sysctl" ? "sysctl" : "timeOffsets";
      if (!linux.contains(key) || linux[key].empty()) return refuse(std::string("the configuration has no ") + key);
      linux.erase(key);
      return std::string(key) + " removed";
    }
    if (p == "user") {
      json& u = c["process"]["user"];
      u["uid"] = u.value("uid", 0U) + 1;
      u["gid"] = u.value("gid", 0U) + 1;
      return "process.user uid and gid shifted by one (uid is required: it cannot be removed)";
    }
    if (p == "capabilities") {
      if (!c["process"].contains("capabilities")) return refuse("the configuration has no process.capabilities");
      c["process"].erase("capabilities");
      return "process.capabilities removed";
    }
    if (p == "no_new_privileges") {
      c["process"]["noNewPrivileges"] = !c["process"].value("noNewPrivileges", false);
      return "process.noNewPrivileges inverted";
    }
    return refuse("a leftover cannot be planted through the configuration");
  }

  Launch Prepare(const Workspace& ws, const ProbeRequest& probe) override {
    json c = config_;
    c["root"]["path"] = ws.rootfs.string();
    c["process"]["args"] = ProbeArgv(probe);
    c["process"]["terminal"] = false;
    c["process"]["cwd"] = "/";
    const fs::path bundle = ws.dir / "bundle";
    fs::create_directories(bundle);
    std::ofstream(bundle / "config.json") << c.dump(2);
    Launch l;
    l.argv = {binary_};
    l.argv.insert(l.argv.end(), global_args_.begin(), global_args_.end());
    for (const std::string& a : {std::string("--root"), (ws.dir / "state").string(), std::string("run"),
                                 std::string("--bundle"), bundle.string(), ws.id}) {
      l.argv.push_back(a);
    }
    l.private_mount_ns = !rootless_;
    if (name_ == "crun" && !rootless_ && Trim(ReadFileOr("/sys/fs/cgroup/unified/cgroup.controllers", "")) != "") {
      l.blank_file = "/sys/fs/cgroup/unified/cgroup.controllers";  // shared/guide/runtimes.md, crun
    }
    return l;
  }

  std::vector<std::string> Teardown(const Workspace& ws) override {
    std::vector<std::string> left;
    const fs::path state = ws.dir / "state" / ws.id;
    std::error_code ec;
    if (fs::exists(state, ec)) {
      left.push_back(name_ + " state left: " + state.string());
      bp::system(bp::exe = binary_, bp::args = {"--root", (ws.dir / "state").string(), "delete", "--force", ws.id},
                 bp::std_in < bp::null, bp::std_out > bp::null, bp::std_err > bp::null);
    }
    return left;
  }

  json Describe() const override {
    return {{"adapter", name_}, {"binary", binary_}, {"version", version_}, {"configuration_source", source_},
            {"global_args", global_args_}, {"config", original_}};
  }

 private:
  json GenerateSpec(const std::string& real) {
    const fs::path dir = fs::temp_directory_path() / ("nsconform-spec-" + RandomHex());
    fs::create_directories(dir);
    std::vector<std::string> args = {"spec"};
    if (rootless_) args.push_back("--rootless");
    bp::ipstream err;
    int rc = bp::system(bp::exe = real, bp::args = args, bp::start_dir = dir.string(), bp::std_in < bp::null,
                        bp::std_out > bp::null, bp::std_err > bp::null);
    json spec;
    std::ifstream in(dir / "config.json");
    if (rc == 0 && in) spec = json::parse(in, nullptr, false);
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (spec.is_discarded() || spec.is_null()) {
      unavailable_ = "`" + name_ + " spec` did not produce a config.json (exit " + std::to_string(rc) + ")";
      return json();
    }
    return spec;
  }

  void AddNsconformDefaults() {
    json& c = original_;
    json& linux = c["linux"];
    c["hostname"] = "nsconform";
    // domainname entered the runtime-spec in v1.1.0: only for runtimes that declare it.
    if (spec_version_ >= std::make_pair(1, 1)) c["domainname"] = "nsconform.invalid";
    auto add_ns = [&](const char* type) {
      if (FindNs(c, type) == nullptr) linux["namespaces"].push_back({{"type", OciType(type)}});
    };
    add_ns("cgroup");
    if (!rootless_) {
      linux["sysctl"] = {{"kernel.msgmax", "12345"}};
      // Opt-in: with a user namespace, removing the PID, IPC or network namespace for a
      // control makes runc/crun refuse (proc, mqueue, sysfs of an outer namespace cannot be
      // mounted), so those controls would only SKIP.
      if (add_userns_) {
        add_ns("user");
        linux["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
        linux["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
      }
    }
    linux["rootfsPropagation"] = "rprivate";
  }

  std::string name_, binary_, version_, source_, unavailable_;
  std::vector<std::string> global_args_;
  bool rootless_ = false;
  bool add_userns_ = false;
  std::pair<int, int> spec_version_{0, 0};  // "spec: X.Y" of `--version`
  json original_;  // what the checker reads
  json config_;    // what the runtime gets (differs only for a control)
};

}  // namespace

std::unique_ptr<Adapter> MakeOciAdapter(const std::string& name, const AdapterOptions& o) {
  return std::make_unique<OciAdapter>(name, o);
}

}  // namespace nsc::runtime
