// Host integrity audit: what the host looks like before and after a run. Any difference is an
// error of the run (cases must never change the host).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace nsc {

struct HostSnapshot {
  std::string hostname;
  std::string domainname;
  std::multiset<std::string> mounts;          // "mount point, fs type, source" per mountinfo line
  std::vector<std::string> links;             // network interface names
  std::map<std::string, int> ipc_objects;     // "sysvipc/shm" -> count, "mqueue" -> count
  std::vector<std::string> harness_children;  // "pid comm" of live children of the harness
  std::map<std::string, std::string> sysctls;  // per-namespace knobs of the harness's namespaces
  std::set<std::string> cgroups;               // sub-cgroups of the harness's own cgroups
};

HostSnapshot TakeHostSnapshot();
// Human-readable differences, empty when the host is unchanged.
std::vector<std::string> DiffHostSnapshots(const HostSnapshot& before, const HostSnapshot& after);

}  // namespace nsc
