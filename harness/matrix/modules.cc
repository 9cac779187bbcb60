// Kernel modules for the guest: the drivers rules need, from the kernel's own package
// (see kernel.h). Debian builds veth as a module; without it the net rules cannot create
// a veth pair (EOPNOTSUPP).
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "../text.h"
#include "kernel.h"
#include "tools.h"

namespace nsc::matrix {
namespace {

std::string Normalized(std::string name) {
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

// "veth.ko.xz" -> "veth"; "" when not a module file.
std::string ModuleName(const fs::path& p) {
  const std::string f = p.filename().string();
  const auto dot = f.find(".ko");
  if (dot == std::string::npos) return {};
  const std::string rest = f.substr(dot);
  if (rest != ".ko" && rest != ".ko.xz" && rest != ".ko.zst" && rest != ".ko.gz") return {};
  return Normalized(f.substr(0, dot));
}

// The "depends=a,b" entry of the module's .modinfo section.
std::vector<std::string> Depends(const std::string& ko) {
  std::vector<std::string> out;
  const std::string key = std::string("\0depends=", 9);
  const auto pos = ko.find(key);
  if (pos == std::string::npos) return out;
  const std::string list = ko.c_str() + pos + key.size();
  std::istringstream in(list);
  std::string dep;
  while (std::getline(in, dep, ',')) {
    if (!dep.empty()) out.push_back(Normalized(dep));
  }
  return out;
}

std::string Uncompressed(const fs::path& file, const fs::path& scratch) {
  const std::string ext = file.extension().string();
  if (ext == ".ko") return ReadFileOr(file.string(), "");
  const std::string tool = ext == ".xz" ? "xz" : ext == ".zst" ? "zstd" : "gzip";
  ToolResult r = RunToFile({tool, "-dc", file.string()}, scratch);
  if (r.exit_code != 0) throw std::runtime_error("cannot decompress " + file.string() + ": " + r.output);
  std::string data = ReadFileOr(scratch.string(), "");
  fs::remove(scratch);
  return data;
}

}  // namespace

const std::vector<std::string>& GuestModules() {
  static const std::vector<std::string> kModules = {"veth"};
  return kModules;
}

std::vector<std::string> CollectModules(const fs::path& tree, const fs::path& out) {
  std::map<std::string, fs::path> files;  // normalized name -> file in the tree
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(tree, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file()) continue;
    if (std::string name = ModuleName(it->path()); !name.empty()) files[name] = it->path();
  }
  std::vector<std::string> order;
  std::set<std::string> seen;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (!seen.insert(name).second) return;
    auto f = files.find(name);
    if (f == files.end()) return;  // built in, or not in this package's extract
    fs::create_directories(out);
    const std::string ko = Uncompressed(f->second, out / (name + ".tmp"));
    for (const auto& dep : Depends(ko)) visit(dep);  // dependencies load first
    std::ofstream(out / (name + ".ko"), std::ios::binary) << ko;
    order.push_back(name);
  };
  for (const auto& m : GuestModules()) visit(Normalized(m));
  return order;
}

}  // namespace nsc::matrix
