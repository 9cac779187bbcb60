// Container detection, in the order systemd-detect-virt uses (container= in PID 1's
// environment or our own when we are PID 1, /run/systemd/container, /run/.containerenv,
// /.dockerenv), then weaker evidence it does not use: cgroup paths, PID 1's name, OCI masked
// paths, an overlay root and non-initial namespaces. Returns {"container", "runtime",
// "evidence"}: container is systemd-detect-virt's word ("none" outside any), runtime the
// program that made it where that is knowable ("" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "environment.h"
#include "text.h"

namespace nsc {
namespace {

using nlohmann::json;

// Initial-namespace inode numbers (include/linux/proc_ns.h), fixed since Linux 3.8.
constexpr unsigned long long kInitialPidNsIno = 0xEFFFFFFCULL;
constexpr unsigned long long kInitialUserNsIno = 0xEFFFFFFDULL;

std::string ContainerEnvOfPid1() {
  if (getpid() == 1) {
    const char* c = std::getenv("container");
    return c != nullptr ? c : "";
  }
  std::string environ = ReadFileOr("/proc/1/environ", "");
  size_t pos = 0;
  while (pos < environ.size()) {
    size_t end = environ.find('\0', pos);
    if (end == std::string::npos) end = environ.size();
    std::string_view var(environ.data() + pos, end - pos);
    if (var.starts_with("container=")) return std::string(var.substr(10));
    pos = end + 1;
  }
  return "";
}

// The runtime named by a cgroup path of /proc/self/cgroup, if any.
std::string RuntimeFromCgroup(const std::string& cgroups, std::string* line_out) {
  static const std::pair<const char*, const char*> kMarkers[] = {
      {"/docker/", "docker"},       {"docker-", "docker"},     {"/libpod", "podman"},
      {"libpod-", "podman"},        {"/lxc/", "lxc"},          {"lxc.payload", "lxc"},
      {"/machine.slice/", "systemd-nspawn"}, {"/kubepods", "kubernetes"},
      {"/containerd/", "containerd"},        {"crio-", "cri-o"},
  };
  std::istringstream in(cgroups);
  std::string line;
  while (std::getline(in, line)) {
    for (const auto& [marker, runtime] : kMarkers) {
      if (line.find(marker) != std::string::npos) {
        *line_out = line;
        return runtime;
      }
    }
  }
  return "";
}

unsigned long long NsInode(const char* type) {
  struct stat st{};
  std::string path = std::string("/proc/self/ns/") + type;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string RootFsType() {
  std::istringstream in(ReadFileOr("/proc/self/mountinfo", ""));
  std::string line, fstype;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, mountpoint;
    f >> id >> parent >> devno >> root >> mountpoint;
    if (mountpoint != "/") continue;
    auto dash = line.find(" - ");
    if (dash != std::string::npos) {
      std::istringstream rest(line.substr(dash + 3));
      rest >> fstype;  // the last mount on "/" wins
    }
  }
  return fstype;
}

}  // namespace

json DetectContainer() {
  json evidence = json::array();
  std::string container, runtime;
  auto found = [&](const std::string& c, const std::string& r, const std::string& why) {
    if (container.empty()) container = c;
    if (runtime.empty()) runtime = r;
    evidence.push_back(why);
  };
  if (std::string c = ContainerEnvOfPid1(); !c.empty()) {
    found(c, c == "oci" ? "" : c, "container=" + c + " in the environment of PID 1");
  }
  if (std::string c = Trim(ReadFileOr("/run/systemd/container", "")); !c.empty()) {
    found(c, c, "/run/systemd/container: " + c);
  }
  if (std::filesystem::exists("/run/.containerenv")) found("podman", "podman", "/run/.containerenv");
  if (std::filesystem::exists("/.dockerenv")) found("docker", "docker", "/.dockerenv");
  std::string cgroup_line;
  if (std::string r = RuntimeFromCgroup(ReadFileOr("/proc/self/cgroup", ""), &cgroup_line);
      !r.empty()) {
    found("container-other", r, "/proc/self/cgroup: " + cgroup_line);
  }
  const std::string pid1 = Trim(ReadFileOr("/proc/1/comm", ""));
  if (pid1 == "bwrap") found("container-other", "bubblewrap", "PID 1 is bwrap");
  if (pid1 == "init.lxc") found("lxc", "lxc", "PID 1 is init.lxc (lxc-execute)");
  if (pid1 == "firejail") found("container-other", "firejail", "PID 1 is firejail");
  if (pid1 == "catatonit") found("container-other", "", "PID 1 is catatonit");
  // runc and crun (and everything built on them) mask /proc/kcore with /dev/null.
  struct stat kcore{};
  if (stat("/proc/kcore", &kcore) == 0 && S_ISCHR(kcore.st_mode)) {
    found("container-other", "runc or crun (OCI runtime)",
          "/proc/kcore is a character device (OCI masked path)");
  }
  if (std::string fs = RootFsType(); fs == "overlay") {
    evidence.push_back("the root file system is overlayfs");
  }
  const unsigned long long pid_ino = NsInode("pid");
  const unsigned long long user_ino = NsInode("user");
  if (pid_ino != 0 && pid_ino != kInitialPidNsIno) {
    evidence.push_back("not in the initial PID namespace");
  }
  if (user_ino != 0 && user_ino != kInitialUserNsIno) {
    evidence.push_back("not in the initial user namespace");
  }
  if (container.empty()) {
    // No runtime left a mark; a non-initial PID namespace is still a container of some kind.
    container = pid_ino != 0 && pid_ino != kInitialPidNsIno ? "container-other" : "none";
  }
  return {{"container", container}, {"runtime", runtime}, {"evidence", evidence}};
}

}  // namespace nsc
