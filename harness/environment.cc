// Environment probe: run once, before any case (see environment.h).
#include "environment.h"

#include <linux/capability.h>
#include <sched.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "text.h"

namespace nsc {
namespace {

using nlohmann::json;

constexpr int kCapSysAdmin = 21;

// Kernel options that matter for namespace behaviour; only these are recorded.
const char* const kRelevantOptions[] = {
    "CONFIG_NAMESPACES", "CONFIG_UTS_NS",    "CONFIG_TIME_NS",      "CONFIG_IPC_NS",
    "CONFIG_USER_NS",    "CONFIG_PID_NS",    "CONFIG_NET_NS",       "CONFIG_CGROUPS",
    "CONFIG_CHECKPOINT_RESTORE", "CONFIG_PROC_CHILDREN", "CONFIG_POSIX_MQUEUE",
    "CONFIG_SYSVIPC",    "CONFIG_VETH",      "CONFIG_SECCOMP",      "CONFIG_SECURITY",
};

KernelVersion ParseRelease(const std::string& release) {
  KernelVersion v;
  std::sscanf(release.c_str(), "%d.%d.%d", &v.major, &v.minor, &v.patch);
  return v;
}

std::string GunzipFile(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return {};
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

void LoadKernelConfig(Environment& env) {
  std::vector<std::pair<std::string, std::string>> candidates;
  if (const char* p = std::getenv("KCONFIG_PATH"); p != nullptr && *p != '\0') {
    candidates.emplace_back(p, "KCONFIG_PATH");
  }
  candidates.emplace_back("/boot/config-" + env.kernel_release, "boot");
  candidates.emplace_back("/proc/config.gz", "proc");
  for (const auto& [path, source] : candidates) {
    std::string text = path.ends_with(".gz") ? GunzipFile(path) : ReadFileOr(path, "");
    if (text.empty()) continue;
    env.kconfig_known = true;
    env.kconfig_source = source;
    std::istringstream in(text);
    std::string line;
    std::map<std::string, std::string> all;
    while (std::getline(in, line)) {
      if (line.starts_with("CONFIG_")) {
        auto eq = line.find('=');
        all[line.substr(0, eq)] = line.substr(eq + 1);
      }
    }
    // Admission sees every option; the report records the namespace-relevant ones and every
    // option some case requires.
    std::set<std::string> recorded(std::begin(kRelevantOptions), std::end(kRelevantOptions));
    for (const Case& c : AllCases()) recorded.insert(c.needs.kconfig.begin(), c.needs.kconfig.end());
    json options = json::object();
    for (const std::string& opt : recorded) {
      auto it = all.find(opt);
      options[opt] = it == all.end() ? "n" : it->second;
    }
    env.kconfig = std::move(all);
    env.system["kernel"]["config"] = {{"source", source},
                                     {"sha256", Sha256Hex(text)},
                                     {"options", options}};
    return;
  }
  env.system["kernel"]["config"] = {{"source", "none"}, {"options", json::object()}};
}

std::map<std::string, std::string> ParseOsRelease() {
  std::string text = ReadFileOr("/etc/os-release", "");
  if (text.empty()) text = ReadFileOr("/usr/lib/os-release", "");
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos || line.starts_with('#')) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
      value = value.substr(1, value.size() - 2);
    }
    out[line.substr(0, eq)] = value;
  }
  return out;
}

std::map<std::string, std::string> StatusFields() {
  std::map<std::string, std::string> out;
  std::istringstream in(ReadFileOr("/proc/self/status", ""));
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    out[line.substr(0, colon)] = value;
  }
  return out;
}

// Tries unshare(CLONE_NEWUSER) in a throwaway child: a real probe, not a guess.
void ProbeUserNamespaces(Environment& env) {
  pid_t pid = fork();
  if (pid == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : (errno & 0xff));
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    env.userns_unavailable_code = ReasonCode::kHarnessError;
    env.userns_unavailable_why = "could not run the user-namespace probe";
    return;
  }
  const int err = WEXITSTATUS(status);
  if (err == 0) {
    env.userns_available = true;
    return;
  }
  const std::string max = Trim(ReadFileOr("/proc/sys/user/max_user_namespaces", ""));
  const std::string debian_knob = Trim(ReadFileOr("/proc/sys/kernel/unprivileged_userns_clone", ""));
  const std::string apparmor =
      Trim(ReadFileOr("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", ""));
  std::string probe = "unshare(CLONE_NEWUSER) failed with " + ErrnoName(err);
  if (max == "0") {
    env.userns_unavailable_code = ReasonCode::kDisabledBySysctl;
    env.userns_unavailable_why = probe + "; user.max_user_namespaces is 0";
  } else if (debian_knob == "0") {
    env.userns_unavailable_code = ReasonCode::kDisabledBySysctl;
    env.userns_unavailable_why = probe + "; kernel.unprivileged_userns_clone is 0";
  } else if (err == EPERM && !env.root_is_mount_point) {
    env.userns_unavailable_code = ReasonCode::kPreconditionUnmet;
    env.userns_unavailable_why =
        probe + "; the process is chrooted (\"/\" is not a mount point), and user_namespaces(7) "
                "refuses user namespaces to a chrooted caller";
  } else if (apparmor == "1") {
    env.userns_unavailable_code = ReasonCode::kBlockedByLsm;
    env.userns_unavailable_why = probe + "; kernel.apparmor_restrict_unprivileged_userns is 1";
  } else if (env.seccomp_mode == 2) {
    // Creating a user namespace needs no capability, and no sysctl forbids it: the filter.
    env.userns_unavailable_code = ReasonCode::kBlockedBySeccomp;
    env.userns_unavailable_why = probe + " under a seccomp filter (" +
                                 std::to_string(env.seccomp_filters) + " installed)";
  } else if (err == ENOSPC || err == EUSERS) {
    env.userns_unavailable_code = ReasonCode::kDisabledBySysctl;
    env.userns_unavailable_why = probe + "; the user-namespace limit is reached";
  } else if (err == EPERM || err == ENOSYS || err == EINVAL) {
    env.userns_unavailable_code = ReasonCode::kInsufficientPrivilege;
    env.userns_unavailable_why = probe;
  } else {
    // Any other errno is not a documented way of refusing: report it, never hide it as a skip.
    env.userns_unavailable_code = ReasonCode::kHarnessError;
    env.userns_unavailable_why = probe + " (undocumented errno)";
  }
}

json Virtualization() {
  json v = DetectContainer();
  std::string vm = "none";
  std::string cpuinfo = ReadFileOr("/proc/cpuinfo", "");
  if (cpuinfo.find(" hypervisor") != std::string::npos) {
    v["evidence"].push_back("/proc/cpuinfo: hypervisor flag");
    std::string vendor = Trim(ReadFileOr("/sys/class/dmi/id/sys_vendor", ""));
    vm = vendor.find("QEMU") != std::string::npos ? "qemu" : "yes";
  }
  v["vm"] = vm;
  return v;
}

// Capability names for the report, by number (capability.h).
const char* const kCapNames[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

// The capabilities the rules rely on when they run as root without a user namespace.
constexpr int kRootCapabilities[] = {
    CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_TIME, CAP_SETUID,   CAP_SETGID, CAP_SETFCAP,
    CAP_SETPCAP,   CAP_SYS_CHROOT, CAP_SYS_BOOT, CAP_SYS_PTRACE, CAP_DAC_OVERRIDE, CAP_FOWNER,
    CAP_CHOWN,     CAP_KILL,      CAP_MKNOD,
};

std::string CapName(int cap) {
  return cap < static_cast<int>(std::size(kCapNames)) ? kCapNames[cap]
                                                       : "CAP_" + std::to_string(cap);
}

// Effective capabilities, whether they are all of them, and the ones the suite's rules care
// about by name (exec.capabilities in the report).
void ProbeCapabilities(Environment& env, const std::map<std::string, std::string>& status) {
  auto field = [&](const char* name) {
    auto it = status.find(name);
    return it == status.end() ? std::string() : it->second;
  };
  env.cap_effective = std::strtoull(field("CapEff").c_str(), nullptr, 16);
  env.cap_sys_admin = (env.cap_effective >> kCapSysAdmin) & 1;
  // Root here means these, not every capability: hosts drop some that no rule uses (this
  // project's CI machine has no CAP_SYS_RESOURCE), while containers drop ones rules need.
  std::string missing;
  for (int cap : kRootCapabilities) {
    if (!((env.cap_effective >> cap) & 1)) missing += (missing.empty() ? "" : ", ") + CapName(cap);
  }
  env.full_capabilities = missing.empty();
  env.missing_capabilities = missing;
  json named = json::object();
  for (int cap : {CAP_SYS_ADMIN, CAP_SETFCAP, CAP_SETUID, CAP_SETGID, CAP_NET_ADMIN,
                  CAP_SYS_TIME, CAP_SYS_BOOT, CAP_SYS_PTRACE, CAP_SYS_RESOURCE}) {
    named[CapName(cap)] = static_cast<bool>((env.cap_effective >> cap) & 1);
  }
  env.exec["capabilities"] = {{"effective", named}, {"root_set", env.full_capabilities}};
  if (!missing.empty()) env.exec["capabilities"]["missing"] = missing;
  // The caps object keeps only the lines the kernel has (no CapAmb before Linux 4.3).
  json caps = json::object();
  for (const auto& [key, line] : {std::pair{"inh", "CapInh"}, std::pair{"prm", "CapPrm"},
                                  std::pair{"eff", "CapEff"}, std::pair{"bnd", "CapBnd"},
                                  std::pair{"amb", "CapAmb"}}) {
    if (std::string v = field(line); !v.empty()) caps[key] = v;
  }
  env.exec["caps"] = caps;
}

}  // namespace

const char* NsTypeName(unsigned long clone_flag) {
  switch (clone_flag) {
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWNS: return "mnt";
    case CLONE_NEWNET: return "net";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWTIME: return "time";
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWUTS: return "uts";
  }
  return "unknown";
}

const char* CloneFlagName(unsigned long clone_flag) {
  switch (clone_flag) {
    case CLONE_NEWCGROUP: return "CLONE_NEWCGROUP";
    case CLONE_NEWIPC: return "CLONE_NEWIPC";
    case CLONE_NEWNS: return "CLONE_NEWNS";
    case CLONE_NEWNET: return "CLONE_NEWNET";
    case CLONE_NEWPID: return "CLONE_NEWPID";
    case CLONE_NEWTIME: return "CLONE_NEWTIME";
    case CLONE_NEWUSER: return "CLONE_NEWUSER";
    case CLONE_NEWUTS: return "CLONE_NEWUTS";
  }
  return "CLONE_NEW?";
}

Environment ProbeEnvironment(bool redact) {
  Environment env;
  struct utsname u{};
  uname(&u);
  env.kernel_release = u.release;
  env.machine = u.machine;
  env.kernel = ParseRelease(u.release);

  env.system["kernel"] = {{"sysname", u.sysname},
                          {"release", u.release},
                          {"version", u.version},
                          {"machine", u.machine},
                          {"proc_version", Trim(ReadFileOr("/proc/version", ""))},
                          {"cmdline", redact ? "" : Trim(ReadFileOr("/proc/cmdline", ""))},
                          {"lsm", Trim(ReadFileOr("/sys/kernel/security/lsm", ""))}};
  LoadKernelConfig(env);
  json sysctls = json::object();
  for (const char* type : {"user", "pid", "net", "mnt", "ipc", "uts", "cgroup", "time"}) {
    std::string path = std::string("/proc/sys/user/max_") + type + "_namespaces";
    std::string v = Trim(ReadFileOr(path, ""));
    if (!v.empty()) sysctls[std::string("user.max_") + type + "_namespaces"] = v;
  }
  for (const char* knob : {"kernel/unprivileged_userns_clone",
                           "kernel/apparmor_restrict_unprivileged_userns"}) {
    std::string v = Trim(ReadFileOr(std::string("/proc/sys/") + knob, ""));
    std::string name = knob;
    std::replace(name.begin(), name.end(), '/', '.');
    if (!v.empty()) sysctls[name] = v;
  }
  env.system["sysctls"] = sysctls;
  env.system["os_release"] = ParseOsRelease();
  if (!redact) env.system["hostname"] = u.nodename;
  env.system["virtualization"] = Virtualization();

  auto status = StatusFields();
  env.euid = geteuid();
  env.seccomp_mode = std::atoi(status["Seccomp"].c_str());
  env.seccomp_filters = std::atoi(status["Seccomp_filters"].c_str());
  ProbeCapabilities(env, status);
  std::string uid_map = ReadFileOr("/proc/self/uid_map", "");
  std::istringstream um(uid_map);
  long long a = -1, b = -1, c = -1;
  um >> a >> b >> c;
  env.initial_user_ns = a == 0 && b == 0 && c == 4294967295LL;
  env.root_in_initial_user_ns = env.initial_user_ns && env.cap_sys_admin;
  std::istringstream nspid(status["NSpid"]);
  int depth = 0;
  std::string field;
  while (nspid >> field) ++depth;
  env.pid_ns_depth = depth > 0 ? depth : 1;

  json ns = json::object();
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/ns")) {
    std::string name = entry.path().filename();
    env.ns_entries.insert(name);
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec) ns[name] = target.string();
  }

  json groups = json::array();
  std::istringstream gs(status["Groups"]);
  long long g;
  while (gs >> g) groups.push_back(g);
  json probed = std::move(env.exec);  // what ProbeCapabilities recorded
  env.exec = {{"uid", getuid()},
              {"euid", geteuid()},
              {"gid", getgid()},
              {"egid", getegid()},
              {"groups", groups},
              {"caps", probed["caps"]},
              {"capabilities", probed["capabilities"]},
              {"no_new_privs", std::atoi(status["NoNewPrivs"].c_str())},
              {"seccomp", env.seccomp_mode},
              {"seccomp_filters", env.seccomp_filters},
              {"initial_user_ns", env.initial_user_ns},
              {"pid_ns_depth", env.pid_ns_depth},
              {"ns", ns},
              {"cgroup", Trim(ReadFileOr("/proc/self/cgroup", ""))}};

  env.root_is_mount_point = false;
  std::istringstream mountinfo(ReadFileOr("/proc/self/mountinfo", ""));
  std::string mline;
  while (std::getline(mountinfo, mline)) {
    std::istringstream f(mline);
    std::string id, parent, devno, root, mountpoint;
    f >> id >> parent >> devno >> root >> mountpoint;
    if (mountpoint == "/") env.root_is_mount_point = true;
  }
  env.exec["root_is_mount_point"] = env.root_is_mount_point;

  env.setgroups = Trim(ReadFileOr("/proc/self/setgroups", ""));
  env.exec["setgroups"] = env.setgroups.empty() ? "absent" : env.setgroups;

  ProbeUserNamespaces(env);
  env.exec["userns_available"] = env.userns_available;
  if (!env.userns_available) env.exec["userns_unavailable_reason"] = env.userns_unavailable_why;
  ProbeIdMapping(env);
  ProbeNamespaceCreation(env);
  ProbeNsIdentity(env);
  ProbeProcSys(env);
  return env;
}

}  // namespace nsc
