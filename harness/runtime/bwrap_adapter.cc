// bubblewrap: the configuration is its command line. The flags after `--` (default:
// --unshare-all --as-pid-1 --hostname nsconform --proc /proc --dev /dev --remount-ro /) are
// parsed into a small model, the expectation is derived from it per bwrap(1), and a control
// removes one flag. The rootfs is always bound at / first.
#include <unistd.h>

#include <set>

#include "../text.h"
#include "adapter.h"

namespace nsc::runtime {

using nlohmann::json;

namespace {

struct BwrapFlags {
  std::set<std::string> unshare;  // user, ipc, pid, net, uts, cgroup (the -try forms count as set)
  bool as_pid1 = false;
  std::optional<std::string> hostname;
  std::optional<uint32_t> uid, gid;
  bool proc = false, dev = false, remount_ro_root = false;
  std::vector<std::string> remount_ro_paths;
};

uint32_t ParseId(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    unsigned long n = std::stoul(v, &used);
    if (used == v.size()) return static_cast<uint32_t>(n);
  } catch (const std::exception&) {
  }
  throw UsageError{"bwrap " + flag + " needs a number, got '" + v + "'"};
}

BwrapFlags Parse(const std::vector<std::string>& args) {
  BwrapFlags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError{"bwrap " + a + " needs a value"};
      return args[++i];
    };
    if (a == "--unshare-all") {
      f.unshare.insert({"user", "ipc", "pid", "net", "uts", "cgroup"});
    } else if (a.starts_with("--unshare-")) {
      std::string t = a.substr(10);
      if (t.ends_with("-try")) t = t.substr(0, t.size() - 4);
      if (!std::set<std::string>{"user", "ipc", "pid", "net", "uts", "cgroup"}.contains(t)) {
        throw UsageError{"bwrap: unsupported flag '" + a + "'"};
      }
      f.unshare.insert(t);
    } else if (a == "--share-net") {
      f.unshare.erase("net");
    } else if (a == "--as-pid-1") {
      f.as_pid1 = true;
    } else if (a == "--hostname") {
      f.hostname = value();
    } else if (a == "--uid") {
      f.uid = ParseId(a, value());
    } else if (a == "--gid") {
      f.gid = ParseId(a, value());
    } else if (a == "--proc") {
      if (value() != "/proc") throw UsageError{"bwrap --proc: only /proc is supported"};
      f.proc = true;
    } else if (a == "--dev") {
      if (value() != "/dev") throw UsageError{"bwrap --dev: only /dev is supported"};
      f.dev = true;
    } else if (a == "--remount-ro") {
      std::string d = value();
      if (d == "/") {
        f.remount_ro_root = true;
      } else {
        f.remount_ro_paths.push_back(d);
      }
    } else {
      throw UsageError{"bwrap: flag '" + a + "' is not supported by the bwrap adapter (supported: --unshare-*, "
                       "--share-net, --as-pid-1, --hostname, --uid, --gid, --proc /proc, --dev /dev, --remount-ro)"};
    }
  }
  return f;
}

class BwrapAdapter : public Adapter {
 public:
  explicit BwrapAdapter(const AdapterOptions& o) : rootless_(o.rootless) {
    binary_ = o.runtime_path.empty() ? FindInPath("bwrap") : o.runtime_path;
    std::vector<std::string> args = o.extra;
    if (args.empty()) {
      args = {"--unshare-all", "--as-pid-1", "--hostname", "nsconform", "--proc", "/proc", "--dev", "/dev",
              "--remount-ro", "/"};
    }
    original_args_ = args;
    original_ = flags_ = Parse(args);
    if (binary_.empty()) {
      unavailable_ = "bwrap is not installed (not found in PATH)";
    } else {
      version_ = FirstLineOf({binary_, "--version"});
    }
  }

  std::unique_ptr<Adapter> Clone() const override { return std::make_unique<BwrapAdapter>(*this); }
  std::string Name() const override { return "bwrap"; }
  std::string Unavailable() const override { return unavailable_; }
  std::string Version() const override { return version_; }
  std::string SourceDoc() const override { return "bwrap(1) (bubblewrap 0.8)"; }
  std::string SourceOf(const std::string& p) const override {
    if (p.starts_with("ns.")) return "--unshare-" + p.substr(3) + " (mount: always)";
    if (p == "pid1") return "--as-pid-1";
    if (p == "cgroup_root") return "--unshare-cgroup";
    if (p == "proc") return "--proc DEST";
    if (p == "hostname") return "--hostname NAME";
    if (p == "uid_map" || p == "gid_map" || p == "user") return "--uid UID, --gid GID (with --unshare-user)";
    if (p == "readonly_root") return "--remount-ro DEST";
    if (p == "readonly_paths") return "--remount-ro DEST";
    if (p == "lifecycle") return "--die-with-parent; bwrap exits with its child";
    return "no corresponding option";
  }

  Expectation Expect() const override {
    const BwrapFlags& f = original_;
    Expectation e;
    for (const auto& t : kNsTypes) e.ns[t] = {};
    for (const auto& t : f.unshare) e.ns[t].mode = NsSetting::Mode::kNew;
    e.ns["mnt"].mode = NsSetting::Mode::kNew;  // bwrap always builds a new mount namespace
    // Not setuid (Debian): a user namespace is implied for an unprivileged caller.
    const bool userns = f.unshare.contains("user") || rootless_;
    if (userns) e.ns["user"].mode = NsSetting::Mode::kNew;
    if (f.unshare.contains("pid")) e.process_is_pid1 = f.as_pid1;
    e.proc_mounted = f.proc;
    if (f.hostname) e.hostname = f.hostname;
    const uint32_t uid = getuid(), gid = getgid();
    if (userns) {
      e.uid_map = std::vector<IdMapping>{{f.uid.value_or(uid), uid, 1}};
      e.gid_map = std::vector<IdMapping>{{f.gid.value_or(gid), gid, 1}};
    }
    e.uid = f.uid.value_or(uid);
    e.gid = f.gid.value_or(gid);
    e.readonly_root = f.remount_ro_root;
    if (!f.remount_ro_paths.empty()) e.readonly_paths = f.remount_ro_paths;
    return e;
  }

  std::string Plant(const std::string& p) override {
    BwrapFlags& f = flags_;
    if (p.starts_with("ns.") || p == "cgroup_root") {
      const std::string t = p == "cgroup_root" ? "cgroup" : p.substr(3);
      if (t == "mnt") throw PlantRefused{"bwrap always creates a mount namespace"};
      if (t == "time") throw PlantRefused{"bwrap has no option for a time namespace"};
      if (t == "user" && rootless_) throw PlantRefused{"unprivileged bwrap always needs a user namespace"};
      if (!f.unshare.contains(t)) {
        f.unshare.insert(t);
        return "--unshare-" + t + " added (the configuration shares it)";
      }
      f.unshare.erase(t);
      std::string also;
      if (t == "uts" && f.hostname) {
        f.hostname.reset();
        also = " (and --hostname, which needs it)";
      }
      if (t == "pid" && f.as_pid1) {
        f.as_pid1 = false;
        also = " (and --as-pid-1, which needs it)";
      }
      if (t == "user") {
        f.uid.reset();
        f.gid.reset();
        also = " (and --uid/--gid, which need it)";
      }
      return "--unshare-" + t + " removed" + also;
    }
    if (p == "pid1") {
      if (!f.unshare.contains("pid")) throw PlantRefused{"no PID namespace configured"};
      f.as_pid1 = !f.as_pid1;
      return f.as_pid1 ? "--as-pid-1 added" : "--as-pid-1 removed";
    }
    if (p == "proc") {
      if (!f.proc) throw PlantRefused{"no --proc /proc configured"};
      f.proc = false;
      return "--proc /proc removed";
    }
    if (p == "hostname") {
      if (!f.hostname) throw PlantRefused{"no --hostname configured"};
      f.hostname.reset();
      return "--hostname removed";
    }
    if (p == "uid_map" || p == "user" || p == "gid_map") {
      if (!f.unshare.contains("user") && !rootless_) throw PlantRefused{"no user namespace configured"};
      if (p != "gid_map") f.uid = f.uid.value_or(getuid()) + 1;
      if (p != "uid_map") f.gid = f.gid.value_or(getgid()) + 1;
      return p == "uid_map" ? "--uid shifted by one" : p == "gid_map" ? "--gid shifted by one" : "--uid and --gid shifted by one";
    }
    if (p == "readonly_root") {
      f.remount_ro_root = !f.remount_ro_root;
      return f.remount_ro_root ? "--remount-ro / added" : "--remount-ro / removed";
    }
    if (p == "readonly_paths") {
      if (f.remount_ro_paths.empty()) throw PlantRefused{"no --remount-ro of a path other than /"};
      f.remount_ro_paths.clear();
      return "--remount-ro of paths removed";
    }
    throw PlantRefused{"bwrap has no option for this property"};
  }

  Launch Prepare(const Workspace& ws, const ProbeRequest& probe) override {
    const BwrapFlags& f = flags_;
    Launch l;
    l.argv = {binary_, "--bind", ws.rootfs.string(), "/"};
    if (f.proc) l.argv.insert(l.argv.end(), {"--proc", "/proc"});
    if (f.dev) l.argv.insert(l.argv.end(), {"--dev", "/dev"});
    for (const auto& t : f.unshare) l.argv.push_back("--unshare-" + t);
    if (f.as_pid1) l.argv.push_back("--as-pid-1");
    if (f.hostname) l.argv.insert(l.argv.end(), {"--hostname", *f.hostname});
    if (f.uid) l.argv.insert(l.argv.end(), {"--uid", std::to_string(*f.uid)});
    if (f.gid) l.argv.insert(l.argv.end(), {"--gid", std::to_string(*f.gid)});
    for (const auto& d : f.remount_ro_paths) l.argv.insert(l.argv.end(), {"--remount-ro", d});
    if (f.remount_ro_root) l.argv.insert(l.argv.end(), {"--remount-ro", "/"});
    l.argv.push_back("--die-with-parent");
    l.argv.push_back("--");
    for (const auto& a : ProbeArgv(probe)) l.argv.push_back(a);
    l.private_mount_ns = !rootless_;
    (void)ws;
    return l;
  }

  std::vector<std::string> Teardown(const Workspace&) override { return {}; }

  json Describe() const override {
    return {{"adapter", "bwrap"}, {"binary", binary_}, {"version", version_},
            {"configuration_source", "command-line flags"}, {"flags", original_args_}};
  }

 private:
  std::string binary_, version_, unavailable_;
  bool rootless_ = false;
  std::vector<std::string> original_args_;
  BwrapFlags original_;  // what the checker reads
  BwrapFlags flags_;     // what bwrap gets
};

}  // namespace

std::unique_ptr<Adapter> MakeBwrapAdapter(const AdapterOptions& o) { return std::make_unique<BwrapAdapter>(o); }

}  // namespace nsc::runtime
