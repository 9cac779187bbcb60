// util-linux unshare(1): the configuration is its command line (default: every namespace,
// --fork --mount-proc, --user --map-root-user, time offsets of one and two days). The probe
// runs chrooted into the rootfs with --root.
#include <unistd.h>

#include <set>

#include "../text.h"
#include "adapter.h"

namespace nsc::runtime {

using nlohmann::json;

namespace {

struct UnshareFlags {
  std::set<std::string> ns;  // kNsTypes names
  bool fork = false, mount_proc = false, map_root = false;
  std::optional<int64_t> monotonic, boottime;
  std::string propagation = "private";  // unshare(1): the default
  bool propagation_given = false;
};

const std::map<std::string, std::string> kFlagToNs = {
    {"--pid", "pid"}, {"--mount", "mnt"}, {"--uts", "uts"}, {"--ipc", "ipc"}, {"--net", "net"},
    {"--cgroup", "cgroup"}, {"--time", "time"}, {"--user", "user"}};

int64_t ParseSeconds(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw UsageError{"unshare " + flag + " needs seconds, got '" + v + "'"};
}

UnshareFlags Parse(const std::vector<std::string>& args) {
  UnshareFlags f;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], v;
    if (auto eq = a.find('='); eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto value = [&]() -> std::string {
      if (!v.empty()) return v;
      if (i + 1 >= args.size()) throw UsageError{"unshare " + a + " needs a value"};
      return args[++i];
    };
    if (kFlagToNs.contains(a)) {
      f.ns.insert(kFlagToNs.at(a));
    } else if (a == "--fork") {
      f.fork = true;
    } else if (a == "--mount-proc") {
      f.mount_proc = true;
      f.ns.insert("mnt");
    } else if (a == "--map-root-user") {
      f.map_root = true;
      f.ns.insert("user");
    } else if (a == "--monotonic") {
      f.monotonic = ParseSeconds(a, value());
    } else if (a == "--boottime") {
      f.boottime = ParseSeconds(a, value());
    } else if (a == "--propagation") {
      f.propagation = value();
      f.propagation_given = true;
      if (!std::set<std::string>{"private", "shared", "slave", "unchanged"}.contains(f.propagation)) {
        throw UsageError{"unshare --propagation is private, shared, slave or unchanged"};
      }
    } else {
      throw UsageError{"unshare: flag '" + args[i] + "' is not supported by the unshare adapter (supported: "
                       "--pid --mount --uts --ipc --net --cgroup --time --user --fork --mount-proc "
                       "--map-root-user --monotonic --boottime --propagation)"};
    }
  }
  return f;
}

class UnshareAdapter : public Adapter {
 public:
  explicit UnshareAdapter(const AdapterOptions& o) : rootless_(o.rootless) {
    binary_ = o.runtime_path.empty() ? FindInPath("unshare") : o.runtime_path;
    args_ = o.extra;
    if (args_.empty()) {
      args_ = {"--fork", "--pid", "--mount-proc", "--uts", "--ipc", "--net", "--cgroup", "--time",
               "--monotonic", "86400", "--boottime", "172800", "--user", "--map-root-user"};
    }
    original_ = flags_ = Parse(args_);
    if (binary_.empty()) {
      unavailable_ = "unshare is not installed (not found in PATH)";
    } else {
      version_ = FirstLineOf({binary_, "--version"});
    }
  }

  std::unique_ptr<Adapter> Clone() const override { return std::make_unique<UnshareAdapter>(*this); }
  std::string Name() const override { return "unshare"; }
  std::string Unavailable() const override { return unavailable_; }
  std::string Version() const override { return version_; }
  std::string SourceDoc() const override { return "unshare(1) (util-linux)"; }
  std::string SourceOf(const std::string& p) const override {
    if (p == "ns.mnt") return "--mount (implied by --mount-proc)";
    if (p.starts_with("ns.")) return "--" + p.substr(3);
    if (p == "pid1") return "--fork with --pid";
    if (p == "proc") return "--mount-proc";
    if (p == "uid_map" || p == "gid_map" || p == "user") return "--map-root-user";
    if (p == "time_offsets") return "--monotonic, --boottime";
    if (p == "rootfs_propagation") return "--propagation (default private)";
    if (p == "cgroup_root") return "--cgroup";
    return "no corresponding option";
  }

  Expectation Expect() const override {
    const UnshareFlags& f = original_;
    Expectation e;
    for (const auto& t : kNsTypes) e.ns[t] = {};
    for (const auto& t : f.ns) e.ns[t].mode = NsSetting::Mode::kNew;
    if (f.ns.contains("pid")) e.process_is_pid1 = f.fork;
    e.proc_mounted = f.mount_proc;
    const uint32_t uid = getuid(), gid = getgid();
    if (f.ns.contains("user") && f.map_root) {
      e.uid_map = std::vector<IdMapping>{{0, uid, 1}};
      e.gid_map = std::vector<IdMapping>{{0, gid, 1}};
      e.uid = 0;
      e.gid = 0;
    } else if (!f.ns.contains("user")) {
      e.uid = uid;
      e.gid = gid;
    }
    if (f.monotonic) e.time_offsets["monotonic"] = *f.monotonic;
    if (f.boottime) e.time_offsets["boottime"] = *f.boottime;
    if (f.ns.contains("mnt") && f.propagation != "unchanged") e.rootfs_propagation = f.propagation;
    return e;
  }

  std::string Plant(const std::string& p) override {
    UnshareFlags& f = flags_;
    if (p.starts_with("ns.") || p == "cgroup_root") {
      const std::string t = p == "cgroup_root" ? "cgroup" : p.substr(3);
      if (!f.ns.contains(t)) {
        f.ns.insert(t);
        return "--" + std::string(t == "mnt" ? "mount" : t) + " added (the configuration shares it)";
      }
      if (t == "user" && rootless_) throw PlantRefused{"unprivileged unshare needs a user namespace"};
      f.ns.erase(t);
      std::string also;
      if (t == "mnt") f.mount_proc = false, also = " (and --mount-proc, which implies it)";
      if (t == "user") f.map_root = false, also = " (and --map-root-user)";
      if (t == "time") f.monotonic.reset(), f.boottime.reset(), also = " (and the offsets)";
      if (t == "pid" && f.mount_proc) f.mount_proc = false, also = " (and --mount-proc: a proc of the outer PID namespace cannot be mounted)";
      return "--" + std::string(t == "mnt" ? "mount" : t) + " removed" + also;
    }
    if (p == "pid1") {
      if (!f.fork) throw PlantRefused{"--fork not configured"};
      f.fork = false;
      if (f.mount_proc) {
        f.mount_proc = false;
        return "--fork removed (and --mount-proc: without --fork unshare stays in the outer PID namespace)";
      }
      return "--fork removed";
    }
    if (p == "proc") {
      if (!f.mount_proc) throw PlantRefused{"--mount-proc not configured"};
      f.mount_proc = false;
      return "--mount-proc removed (--mount kept)";
    }
    if (p == "uid_map" || p == "gid_map" || p == "user") {
      if (!f.map_root) throw PlantRefused{"--map-root-user not configured"};
      f.map_root = false;
      return "--map-root-user removed (the user namespace stays, unmapped)";
    }
    if (p == "time_offsets") {
      if (!f.monotonic && !f.boottime) throw PlantRefused{"no time offsets configured"};
      f.monotonic.reset();
      f.boottime.reset();
      return "--monotonic and --boottime removed";
    }
    if (p == "rootfs_propagation") {
      f.propagation = f.propagation == "private" ? "unchanged" : "private";
      f.propagation_given = true;
      return "--propagation " + f.propagation + " instead";
    }
    throw PlantRefused{"unshare has no option for this property"};
  }

  Launch Prepare(const Workspace& ws, const ProbeRequest& probe) override {
    const UnshareFlags& f = flags_;
    Launch l;
    l.argv = {binary_};
    for (const auto& [flag, t] : kFlagToNs) {
      if (f.ns.contains(t)) l.argv.push_back(flag);
    }
    if (f.fork) l.argv.push_back("--fork");
    if (f.mount_proc) l.argv.push_back("--mount-proc");
    if (f.map_root) l.argv.push_back("--map-root-user");
    if (f.monotonic) l.argv.push_back("--monotonic=" + std::to_string(*f.monotonic));
    if (f.boottime) l.argv.push_back("--boottime=" + std::to_string(*f.boottime));
    if (f.propagation_given && f.ns.contains("mnt")) l.argv.push_back("--propagation=" + f.propagation);
    l.argv.push_back("--root=" + ws.rootfs.string());
    l.argv.push_back("--");
    for (const auto& a : ProbeArgv(probe)) l.argv.push_back(a);
    l.private_mount_ns = !rootless_;
    return l;
  }

  std::vector<std::string> Teardown(const Workspace&) override { return {}; }

  json Describe() const override {
    return {{"adapter", "unshare"}, {"binary", binary_}, {"version", version_},
            {"configuration_source", "command-line flags"}, {"flags", args_}};
  }

 private:
  std::string binary_, version_, unavailable_;
  bool rootless_ = false;
  std::vector<std::string> args_;
  UnshareFlags original_, flags_;
};

}  // namespace

std::unique_ptr<Adapter> MakeUnshareAdapter(const AdapterOptions& o) { return std::make_unique<UnshareAdapter>(o); }

}  // namespace nsc::runtime
