// The kernel resolvers: Debian's archive through a private apt configuration, a bzImage the
// user built, and a .deb/.rpm the user downloaded (see kernel.h).
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "../text.h"
#include "kernel.h"
#include "tools.h"

namespace nsc::matrix {
namespace {

using nlohmann::json;

constexpr const char* kKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
constexpr const char* kMirror = "http://deb.debian.org/debian";
constexpr const char* kSecurity = "http://deb.debian.org/debian-security";
constexpr auto kIndexMaxAge = std::chrono::hours(24);
// Version of the cache entry layout: entries of an older layout are extracted again.
constexpr int kCacheLayout = 2;

std::string LastLines(const std::string& text, size_t n = 3) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!Trim(line).empty()) lines.push_back(Trim(line));
  }
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
    out += (out.empty() ? "" : " | ") + lines[i];
  }
  return out;
}

// Moves a finished extraction directory into place: an interrupted run never leaves half a
// cache entry behind.
void Publish(const fs::path& tmp, const fs::path& dir) {
  fs::create_directories(dir.parent_path());
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir);
}

fs::path FindFirst(const fs::path& root, const std::function<bool(const fs::path&)>& match) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file() && match(it->path())) return it->path();
  }
  return {};
}

// boot/vmlinuz-*, lib/modules/*/vmlinuz (Fedora), boot/bzImage*.
fs::path FindImage(const fs::path& root) {
  return FindFirst(root, [](const fs::path& p) {
    const std::string name = p.filename().string();
    return name.starts_with("vmlinuz") || name.starts_with("bzImage");
  });
}

// boot/config-*, lib/modules/*/config (Fedora).
fs::path FindConfig(const fs::path& root) {
  return FindFirst(root, [](const fs::path& p) {
    const std::string name = p.filename().string();
    return name.starts_with("config-") || (name == "config" && p.parent_path().parent_path().filename() == "modules");
  });
}

json KernelToJson(const Kernel& k) {
  return {{"release", k.release}, {"package", k.package}, {"distro", k.distro},
          {"image", k.image.filename().string()}, {"vmlinux", k.vmlinux.empty() ? "" : k.vmlinux.filename().string()},
          {"config", k.config.empty() ? "" : k.config.filename().string()},
          {"modules", k.module_order}, {"layout", kCacheLayout}};
}

// A finished cache entry: dir/kernel.json names the files next to it.
bool LoadCached(const fs::path& dir, Kernel& k) {
  std::ifstream in(dir / "kernel.json");
  if (!in) return false;
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || j.value("layout", 0) != kCacheLayout) return false;
  k.release = j.value("release", "");
  k.package = j.value("package", json::object());
  k.distro = j.value("distro", json::object());
  k.image = dir / j.value("image", "vmlinuz");
  if (!j.value("vmlinux", "").empty()) k.vmlinux = dir / j["vmlinux"].get<std::string>();
  if (!j.value("config", "").empty()) k.config = dir / j["config"].get<std::string>();
  k.module_order = j.value("modules", std::vector<std::string>());
  if (!k.module_order.empty()) k.modules = dir / "modules";
  return fs::exists(k.image);
}

// The members of a kernel .deb the guest needs: the image, its config, GuestModules().
std::vector<std::string> PackageMembers() {
  // Since 7.x Debian splits a kernel: linux-binary-* (/usr/lib/modules/<release>/vmlinuz),
  // linux-base-* (.../config), linux-modules-*; older packages keep ./boot/.
  std::vector<std::string> out = {"./boot/*", "*/modules/*/vmlinuz", "*/modules/*/config"};
  for (const auto& m : GuestModules()) out.push_back("*/modules/*/" + m + ".ko*");
  return out;
}

// Extracts a package into `tmp`: .deb with dpkg-deb | tar (only `members`, all when empty),
// .rpm with rpm2cpio | cpio.
void Unpack(const fs::path& package, const fs::path& tmp, const std::vector<std::string>& members) {
  fs::create_directories(tmp);
  ToolResult r;
  if (package.extension() == ".rpm") {
    r = RunPipeline({"rpm2cpio", package.string()},
                    {"cpio", "-idm", "--quiet", "--no-absolute-filenames", "-D", tmp.string()});
  } else {
    std::vector<std::string> tar = {"tar", "-x", "-C", tmp.string(), "--wildcards", "--wildcards-match-slash"};
    tar.insert(tar.end(), members.begin(), members.end());
    r = RunPipeline({"dpkg-deb", "--fsys-tarfile", package.string()}, tar);
    // A module pattern that matches nothing (the driver is built in) is not an error.
    std::istringstream lines(r.output);
    std::string line;
    bool only_missing_members = r.exit_code == 2;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.find("Not found in archive") == std::string::npos &&
          line.find("Exiting with failure status") == std::string::npos) {
        only_missing_members = false;
      }
    }
    if (only_missing_members) r.exit_code = 0;
  }
  if (r.exit_code != 0) {
    throw std::runtime_error("cannot unpack " + package.string() + ": " + LastLines(r.output));
  }
}

// Turns an unpacked package tree into a cache entry: vmlinuz, config, vmlinux, kernel.json.
Kernel FinishEntry(Kernel k, const fs::path& tree, const fs::path& tmp, const fs::path& dir) {
  const fs::path image = FindImage(tree);
  if (image.empty()) throw std::runtime_error("no vmlinuz in the package " + k.package.value("file", std::string()));
  fs::rename(image, tmp / "vmlinuz");
  if (fs::path config = FindConfig(tree); !config.empty()) {
    fs::rename(config, tmp / "config");
    k.config = tmp / "config";
  }
  k.module_order = CollectModules(tree, tmp / "modules");
  fs::remove_all(tree);
  PrepareImage(k, tmp / "vmlinuz", tmp);
  fs::remove(tmp / "vmlinux.none");
  std::ofstream(tmp / "kernel.json") << KernelToJson(k).dump(2) << "\n";
  Publish(tmp, dir);
  Kernel done = k;
  if (!LoadCached(dir, done)) throw std::runtime_error("cache entry " + dir.string() + " is unusable");
  return done;
}

// The packages a split kernel package (Debian 7.x: linux-image-X depends on linux-binary-X,
// linux-base-X and linux-modules-X of the same version) keeps its image, config and modules in.
std::vector<std::string> SplitParts(const fs::path& deb, const std::string& version) {
  ToolResult r = RunTool({"dpkg-deb", "-f", deb.string(), "Depends"});
  std::vector<std::string> out;
  std::istringstream deps(r.output);
  std::string dep;
  while (std::getline(deps, dep, ',')) {
    dep = Trim(dep);
    const std::string name = dep.substr(0, dep.find(' '));
    const bool part = name.starts_with("linux-binary-") || name.starts_with("linux-base-") ||
                      name.starts_with("linux-modules-");
    if (part && dep.find("(= " + version + ")") != std::string::npos) out.push_back(name);
  }
  return out;
}

// --- Debian ------------------------------------------------------------------------------------

// One private apt configuration per suite under <cache>/apt/<suite>: its own sources.list,
// lists, package cache and an empty dpkg status. The host's /etc/apt is never read or written.
class DebianArchive final : public KernelResolver {
 public:
  DebianArchive(Cache cache, bool refresh) : cache_(std::move(cache)), refresh_(refresh) {}

  bool Handles(const KernelSpec& spec) const override { return spec.source == "debian"; }

  void Prepare(const std::vector<KernelSpec>& specs, const Say& say) override {
    std::map<std::string, std::set<std::string>> metas;  // suite -> meta-packages
    for (const auto& s : specs) metas[s.suite].insert(DebianMetaPackage(s.flavour));
    std::vector<std::thread> threads;
    std::mutex mu;
    for (const auto& [suite, packages] : metas) {
      threads.emplace_back([&, suite = suite, packages = packages] {
        try {
          Update(suite, say);
          auto resolved = ShowMetas(suite, packages);
          std::lock_guard lock(mu);
          for (auto& [meta, target] : resolved) resolved_[suite + "/" + meta] = target;
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          errors_[suite] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
  }

  Kernel Resolve(const KernelSpec& spec, const Say& say) override {
    const std::string meta = DebianMetaPackage(spec.flavour);
    if (auto e = errors_.find(spec.suite); e != errors_.end()) throw std::runtime_error(e->second);
    auto it = resolved_.find(spec.suite + "/" + meta);
    if (it == resolved_.end()) throw std::runtime_error(meta + " is not in Debian " + spec.suite);
    const auto& [package, version] = it->second;
    Kernel k;
    k.spec = spec;
    k.label = spec.Label();
    const fs::path dir = cache_.Kernels() / package / version;
    if (LoadCached(dir, k)) {
      k.spec = spec;
      k.label = spec.Label();
      return k;
    }
    const fs::path debs = cache_.Debs() / package;
    fs::create_directories(debs);
    auto download = [&](const std::string& name) {
      say(k.label, "downloading " + name + " " + version);
      ToolResult r = RunTool(Apt("apt-get", spec.suite, {"-q", "download", name + "=" + version}), debs);
      fs::path deb = FindFirst(debs, [&](const fs::path& p) {
        return p.extension() == ".deb" && p.filename().string().starts_with(name + "_");
      });
      if (r.exit_code != 0 || deb.empty()) {
        throw std::runtime_error("apt-get download " + name + "=" + version + " failed: " + LastLines(r.output));
      }
      return deb;
    };
    const fs::path deb = download(package);
    std::vector<fs::path> parts = {deb};
    for (const auto& part : SplitParts(deb, version)) parts.push_back(download(part));
    const fs::path tmp = dir.string() + ".tmp-" + RandomHex();
    for (const auto& p : parts) {
      say(k.label, "extracting " + p.filename().string());
      Unpack(p, tmp / "tree", PackageMembers());
    }
    k.package = {{"name", package}, {"version", version}, {"source", "debian"},
                 {"meta", meta}, {"file", deb.filename().string()}};
    if (parts.size() > 1) {
      k.package["parts"] = json::array();
      for (size_t i = 1; i < parts.size(); ++i) k.package["parts"].push_back(parts[i].filename().string());
    }
    k.distro = {{"id", "debian"}, {"suite", spec.suite}, {"flavour", spec.flavour}};
    Kernel done = FinishEntry(k, tmp / "tree", tmp, dir);
    fs::remove_all(debs);
    done.spec = spec;
    done.label = k.label;
    return done;
  }

 private:
  fs::path Root(const std::string& suite) const { return cache_.Apt() / suite; }

  std::vector<std::string> Apt(const std::string& tool, const std::string& suite,
                               const std::vector<std::string>& args) const {
    const fs::path root = Root(suite);
    std::vector<std::string> argv = {
        tool,
        "-o", "Dir::Etc::SourceList=" + (root / "sources.list").string(),
        "-o", "Dir::Etc::SourceParts=/dev/null",
        "-o", "Dir::Etc::Preferences=/dev/null",
        "-o", "Dir::Etc::PreferencesParts=/dev/null",
        "-o", "Dir::State=" + (root / "state").string(),
        "-o", "Dir::State::status=" + (root / "state" / "status").string(),
        "-o", "Dir::Cache=" + (root / "cache").string(),
        "-o", "Dir::Cache::pkgcache=" + (root / "cache" / "pkgcache.bin").string(),
        "-o", "Dir::Cache::srcpkgcache=" + (root / "cache" / "srcpkgcache.bin").string(),
        "-o", "APT::Architecture=amd64",
        "-o", "APT::Architectures=amd64",
        "-o", "Acquire::Languages=none",
        "-o", "APT::Sandbox::User=root",
    };
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  void Update(const std::string& suite, const Say& say) {
    const fs::path root = Root(suite);
    fs::create_directories(root / "state" / "lists" / "partial");
    fs::create_directories(root / "cache" / "archives" / "partial");
    std::ofstream(root / "state" / "status", std::ios::app).close();
    std::string sources;
    for (const auto& line : DebianSourcesList(suite)) sources += line + "\n";
    const bool changed = ReadFileOr((root / "sources.list").string(), "") != sources;
    if (changed) std::ofstream(root / "sources.list") << sources;
    const fs::path stamp = root / "state" / "updated";
    std::error_code ec;
    const auto age = fs::file_time_type::clock::now() - fs::last_write_time(stamp, ec);
    if (!ec && !changed && !refresh_ && age < kIndexMaxAge) return;
    say("debian:" + suite, "apt-get update (private configuration in " + root.string() + ")");
    ToolResult r = RunTool(Apt("apt-get", suite, {"-q", "update"}));
    const bool failed = r.exit_code != 0 || r.output.find("\nW: Failed") != std::string::npos ||
                        r.output.find("\nE: ") != std::string::npos;
    if (failed) {
      if (ec) throw std::runtime_error("apt-get update for " + suite + " failed: " + LastLines(r.output));
      say("debian:" + suite, "apt-get update failed, using the package lists from the last update");
      return;
    }
    std::ofstream(stamp) << Rfc3339Utc(std::chrono::system_clock::now()) << "\n";
  }

  // meta-package -> (kernel package it depends on, version).
  std::map<std::string, std::pair<std::string, std::string>> ShowMetas(const std::string& suite,
                                                                       const std::set<std::string>& metas) {
    std::vector<std::string> args = {"show", "--no-all-versions"};
    args.insert(args.end(), metas.begin(), metas.end());
    ToolResult r = RunTool(Apt("apt-cache", suite, args));
    std::map<std::string, std::pair<std::string, std::string>> out;
    std::istringstream in(r.output);
    std::string line, current;
    while (std::getline(in, line)) {
      if (line.starts_with("Package: ")) current = Trim(line.substr(9));
      if (line.starts_with("Depends: ") && metas.contains(current)) {
        // "linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)"; the first linux-image-* dependency.
        std::istringstream deps(line.substr(9));
        std::string dep;
        while (std::getline(deps, dep, ',')) {
          dep = Trim(dep);
          if (!dep.starts_with("linux-image-")) continue;
          auto open = dep.find("(= ");
          std::string name = Trim(dep.substr(0, dep.find(' ')));
          std::string version = open == std::string::npos ? "" : dep.substr(open + 3, dep.find(')') - open - 3);
          out[current] = {name, version};
          break;
        }
      }
    }
    return out;
  }

  Cache cache_;
  bool refresh_;
  std::map<std::string, std::pair<std::string, std::string>> resolved_;  // suite/meta -> pkg, ver
  std::map<std::string, std::string> errors_;                            // suite -> why
};

// --- --kernel bzImage --------------------------------------------------------------------------

class LocalImage final : public KernelResolver {
 public:
  explicit LocalImage(Cache cache) : cache_(std::move(cache)) {}
  bool Handles(const KernelSpec& spec) const override { return spec.source == "image"; }
  Kernel Resolve(const KernelSpec& spec, const Say& say) override {
    Kernel k;
    k.spec = spec;
    k.label = spec.Label();
    if (!fs::is_regular_file(spec.path)) throw std::runtime_error("no kernel image " + spec.path.string());
    const std::string digest = Sha256Hex(ReadFileOr(spec.path.string(), "")).substr(0, 16);
    say(k.label, "preparing " + spec.path.string());
    PrepareImage(k, fs::absolute(spec.path), cache_.Kernels() / ("image-" + digest));
    k.config = spec.config.empty() ? fs::path() : fs::absolute(spec.config);
    k.package = {{"name", spec.path.filename().string()}, {"version", k.release}, {"source", "image"},
                 {"file", fs::absolute(spec.path).string()}, {"sha256_16", digest}};
    k.distro = {{"id", "local"}};
    return k;
  }

 private:
  Cache cache_;
};

// --- --kernel-package FILE.deb|FILE.rpm ----------------------------------------------------------

class PackageFile final : public KernelResolver {
 public:
  explicit PackageFile(Cache cache) : cache_(std::move(cache)) {}
  bool Handles(const KernelSpec& spec) const override { return spec.source == "package"; }
  Kernel Resolve(const KernelSpec& spec, const Say& say) override {
    Kernel k;
    k.spec = spec;
    k.label = spec.Label();
    if (!fs::is_regular_file(spec.path)) throw std::runtime_error("no package " + spec.path.string());
    const std::string digest = Sha256Hex(ReadFileOr(spec.path.string(), "")).substr(0, 16);
    const fs::path dir = cache_.Kernels() / ("package-" + digest);
    if (LoadCached(dir, k)) {
      k.spec = spec;
      k.label = spec.Label();
      return k;
    }
    say(k.label, "extracting " + spec.path.string());
    std::string name = spec.path.stem().string(), version;
    if (spec.path.extension() == ".deb") {
      ToolResult r = RunTool({"dpkg-deb", "-f", spec.path.string(), "Package", "Version"});
      std::istringstream in(r.output);
      std::string line;
      while (std::getline(in, line)) {
        if (line.starts_with("Package: ")) name = Trim(line.substr(9));
        if (line.starts_with("Version: ")) version = Trim(line.substr(9));
      }
    }
    const fs::path tmp = dir.string() + ".tmp-" + RandomHex();
    Unpack(fs::absolute(spec.path), tmp / "tree", PackageMembers());
    k.package = {{"name", name}, {"version", version}, {"source", "package"},
                 {"file", spec.path.filename().string()}, {"sha256_16", digest}};
    k.distro = {{"id", spec.path.extension() == ".rpm" ? "rpm" : "deb"}};
    Kernel done = FinishEntry(k, tmp / "tree", tmp, dir);
    if (version.empty()) done.package["version"] = done.release;
    done.spec = spec;
    done.label = k.label;
    return done;
  }

 private:
  Cache cache_;
};

}  // namespace

std::string KernelSpec::Label() const {
  if (source == "debian") return "debian-" + suite + "-" + flavour;
  std::string name = (source == "package" ? path.stem() : path.filename()).string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  return source + "-" + name;
}

const std::vector<std::string>& DebianSuites() {
  static const std::vector<std::string> kSuites = {"bullseye", "bookworm", "bookworm-backports",
                                                   "trixie", "sid"};
  return kSuites;
}

const std::vector<std::string>& DebianFlavours() {
  static const std::vector<std::string> kFlavours = {"amd64", "cloud", "rt"};
  return kFlavours;
}

std::string DebianMetaPackage(const std::string& flavour) {
  return flavour == "amd64" ? "linux-image-amd64" : "linux-image-" + flavour + "-amd64";
}

std::vector<std::string> DebianSourcesList(const std::string& suite) {
  const std::string opts = std::string("deb [signed-by=") + kKeyring + "] ";
  if (suite == "sid" || suite.ends_with("-backports")) return {opts + kMirror + " " + suite + " main"};
  return {opts + kMirror + " " + suite + " main", opts + kSecurity + " " + suite + "-security main"};
}

std::vector<KernelSpec> ParseKernelList(const std::string& text) {
  std::vector<KernelSpec> out;
  std::istringstream in(text);
  std::string item;
  auto add = [&](const std::string& suite, const std::string& flavour) {
    for (const auto& s : DebianSuites()) {
      for (const auto& f : DebianFlavours()) {
        if ((suite == "*" || suite == s) && (flavour == "*" || flavour == f)) {
          out.push_back({.source = "debian", .suite = s, .flavour = f});
        }
      }
    }
  };
  while (std::getline(in, item, ',')) {
    item = Trim(item);
    if (item.empty()) continue;
    if (item == "debian-all") {
      add("*", "*");
    } else if (item == "debian-stable") {
      add("bookworm", "*");
    } else if (item.starts_with("debian:")) {
      auto colon = item.find(':', 7);
      if (colon == std::string::npos) throw UsageError{"matrix: --kernels: '" + item + "' is not debian:SUITE:FLAVOUR"};
      std::string suite = item.substr(7, colon - 7), flavour = item.substr(colon + 1);
      bool suite_ok = suite == "*", flavour_ok = flavour == "*";
      for (const auto& s : DebianSuites()) suite_ok = suite_ok || s == suite;
      for (const auto& f : DebianFlavours()) flavour_ok = flavour_ok || f == flavour;
      if (!suite_ok) throw UsageError{"matrix: --kernels: unknown Debian suite '" + suite + "' (bullseye, bookworm, bookworm-backports, trixie, sid)"};
      if (!flavour_ok) throw UsageError{"matrix: --kernels: unknown flavour '" + flavour + "' (amd64, cloud, rt)"};
      add(suite, flavour);
    } else {
      throw UsageError{"matrix: --kernels: unknown kernel '" + item +
                       "' (debian-all, debian-stable, debian:SUITE:FLAVOUR; see nsconform matrix --help)"};
    }
  }
  return out;
}

std::vector<std::unique_ptr<KernelResolver>> MakeResolvers(const Cache& cache, bool refresh) {
  std::vector<std::unique_ptr<KernelResolver>> out;
  out.push_back(std::make_unique<DebianArchive>(cache, refresh));
  out.push_back(std::make_unique<LocalImage>(cache));
  out.push_back(std::make_unique<PackageFile>(cache));
  return out;
}

}  // namespace nsc::matrix
