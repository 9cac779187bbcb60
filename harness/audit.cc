#include "audit.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "nsconform/child.h"
#include "text.h"

namespace nsc {
namespace {

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::vector<std::string> NetworkLinks() {
  // /proc/net/dev lists the interfaces of the reader's network namespace.
  std::vector<std::string> out;
  std::istringstream in(ReadFileOr("/proc/net/dev", ""));
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out.push_back(Trim(line.substr(0, colon)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

template <typename C>
std::string Join(const C& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s.empty() ? "(none)" : s;
}

// Knobs the cases have reasons to touch (inside their own namespaces only): the host's must not
// move. ns_last_pid is left out on purpose: every fork on the machine changes it.
const char* const kAuditedSysctls[] = {
    "user/max_user_namespaces", "user/max_pid_namespaces",  "user/max_net_namespaces",
    "user/max_mnt_namespaces",  "user/max_ipc_namespaces",  "user/max_uts_namespaces",
    "user/max_cgroup_namespaces", "user/max_time_namespaces", "kernel/msgmax",
    "kernel/msgmnb",            "kernel/msgmni",            "kernel/shmmax",
    "kernel/shmall",            "kernel/shmmni",            "kernel/sem",
    "fs/mqueue/msg_max",        "fs/mqueue/msgsize_max",    "fs/mqueue/queues_max",
    "net/ipv4/ip_forward",      "net/ipv4/ip_unprivileged_port_start",
};

// Directories below the harness's own cgroup in every mounted hierarchy: a case that makes a
// child cgroup must remove it again.
std::set<std::string> SubCgroups() {
  std::map<std::string, std::string> own;  // controller list ("" for v2) -> path
  std::istringstream cg(ReadFileOr("/proc/self/cgroup", ""));
  std::string line;
  while (std::getline(cg, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    own[line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
  }
  std::set<std::string> out;
  std::istringstream mi(ReadFileOr("/proc/self/mountinfo", ""));
  while (std::getline(mi, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream f(line), t(line.substr(dash + 3));
    std::string id, parent, devno, root, mountpoint, fstype, source, opts;
    f >> id >> parent >> devno >> root >> mountpoint;
    t >> fstype >> source >> opts;
    std::string key;
    if (fstype == "cgroup2") {
      key = "";
    } else if (fstype == "cgroup") {
      for (const auto& [controllers, path] : own) {
        if (!controllers.empty() && opts.find(controllers) != std::string::npos) key = controllers;
      }
      if (key.empty()) continue;
    } else {
      continue;
    }
    auto it = own.find(key);
    if (it == own.end() || !it->second.starts_with(root)) continue;
    std::string rel = it->second.substr(root == "/" ? 0 : root.size());
    std::filesystem::path dir = mountpoint + (rel == "/" ? "" : rel);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      // Run cgroups (case_cgroup.h) are removed by their own run, or by its watchdog if the
      // run dies; one of another nsconform run beside this one is not this run's doing.
      if (e.path().filename().string().starts_with("nsconform-")) continue;
      if (e.is_directory(ec)) out.insert(e.path().string());
    }
  }
  return out;
}

}  // namespace

HostSnapshot TakeHostSnapshot() {
  HostSnapshot s;
  struct utsname u{};
  uname(&u);
  s.hostname = u.nodename;
  s.domainname = u.domainname;
  std::istringstream in(ReadFileOr("/proc/self/mountinfo", ""));
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    std::istringstream f(line);
    std::string id, parent, devno, root, mountpoint;
    f >> id >> parent >> devno >> root >> mountpoint;
    auto dash = line.find(" - ");
    std::string tail = dash == std::string::npos ? "" : line.substr(dash + 3);
    std::istringstream t(tail);
    std::string fstype, source;
    t >> fstype >> source;
    s.mounts.insert(mountpoint + " (" + fstype + " from " + source + ", root " + root + ")");
  }
  s.links = NetworkLinks();
  for (const char* kind : {"shm", "msg", "sem"}) {
    std::string text = ReadFileOr(std::string("/proc/sysvipc/") + kind, "");
    s.ipc_objects[std::string("sysvipc/") + kind] = text.empty() ? 0 : CountLines(text) - 1;
  }
  std::error_code ec;
  int mq = 0;
  if (std::filesystem::is_directory("/dev/mqueue", ec)) {
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/dev/mqueue", ec)) ++mq;
  }
  s.ipc_objects["mqueue"] = mq;
  for (const char* knob : kAuditedSysctls) {
    std::string value = Trim(ReadFileOr(std::string("/proc/sys/") + knob, "\x01"));
    if (value != "\x01") s.sysctls[knob] = value;
  }
  s.cgroups = SubCgroups();
  ForEachChild(getpid(), [&](pid_t child) {
    if (ReadProcState(child) == 'Z') return;
    std::string comm = Trim(ReadFileOr("/proc/" + std::to_string(child) + "/comm", "?"));
    s.harness_children.push_back(std::to_string(child) + " " + comm);
  });
  std::sort(s.harness_children.begin(), s.harness_children.end());
  return s;
}

std::vector<std::string> DiffHostSnapshots(const HostSnapshot& before, const HostSnapshot& after) {
  std::vector<std::string> diffs;
  if (before.hostname != after.hostname) {
    diffs.push_back("hostname changed from '" + before.hostname + "' to '" + after.hostname + "'");
  }
  if (before.domainname != after.domainname) {
    diffs.push_back("domainname changed from '" + before.domainname + "' to '" + after.domainname + "'");
  }
  std::vector<std::string> added, removed;
  std::set_difference(after.mounts.begin(), after.mounts.end(), before.mounts.begin(),
                      before.mounts.end(), std::back_inserter(added));
  std::set_difference(before.mounts.begin(), before.mounts.end(), after.mounts.begin(),
                      after.mounts.end(), std::back_inserter(removed));
  for (const auto& m : added) diffs.push_back("mount appeared: " + m);
  for (const auto& m : removed) diffs.push_back("mount disappeared: " + m);
  if (before.links != after.links) {
    diffs.push_back("network links changed from [" + Join(before.links) + "] to [" +
                    Join(after.links) + "]");
  }
  for (const auto& [kind, count] : before.ipc_objects) {
    auto it = after.ipc_objects.find(kind);
    int now = it == after.ipc_objects.end() ? 0 : it->second;
    if (now != count) {
      diffs.push_back("IPC objects (" + kind + ") changed from " + std::to_string(count) + " to " +
                      std::to_string(now));
    }
  }
  for (const auto& [knob, value] : before.sysctls) {
    auto it = after.sysctls.find(knob);
    if (it != after.sysctls.end() && it->second != value) {
      diffs.push_back("sysctl " + knob + " changed from '" + value + "' to '" + it->second + "'");
    }
  }
  std::vector<std::string> new_cgroups;
  std::set_difference(after.cgroups.begin(), after.cgroups.end(), before.cgroups.begin(),
                      before.cgroups.end(), std::back_inserter(new_cgroups));
  for (const auto& c : new_cgroups) diffs.push_back("cgroup left behind: " + c);
  if (after.harness_children.size() > before.harness_children.size()) {
    diffs.push_back("processes left running as children of the harness: " +
                    Join(after.harness_children));
  }
  return diffs;
}

}  // namespace nsc
