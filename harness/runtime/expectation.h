// The one expectation model of runtime mode: what a runtime's configuration asks of the
// container it starts. Every adapter (OCI config.json, bwrap flags, unshare flags) fills this;
// every runtime.* rule judges its observations against it, never against a guess.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nsc::runtime {

// The eight namespace types as /proc/PID/ns names them.
inline const std::vector<std::string> kNsTypes = {"cgroup", "ipc", "mnt", "net",
                                                  "pid", "time", "user", "uts"};

// How the configuration asks for one namespace type.
struct NsSetting {
  enum class Mode { kShared, kNew, kJoin };
  Mode mode = Mode::kShared;  // kShared: the type is not configured, so the runtime's own
  std::string path;           // kJoin: the namespace file to join
};

// One line of uid_map/gid_map as the runtime's (initial) user namespace sees it.
struct IdMapping {
  uint64_t inside = 0;
  uint64_t outside = 0;
  uint64_t size = 0;
  bool operator==(const IdMapping&) const = default;
};

struct Expectation {
  std::map<std::string, NsSetting> ns;  // every entry of kNsTypes
  // The container's first process is PID 1 of its PID namespace (the declared init
  // arrangement: false for bwrap without --as-pid-1, whose own reaper is PID 1).
  std::optional<bool> process_is_pid1;
  std::optional<bool> proc_mounted;  // a proc file system of the container's PID ns at /proc
  std::optional<std::string> hostname, domainname;
  // Set when a user namespace is configured: the mappings as seen from outside.
  std::optional<std::vector<IdMapping>> uid_map, gid_map;
  std::optional<std::string> rootfs_propagation;  // shared | slave | private | unbindable
  std::optional<bool> readonly_root;
  std::optional<std::vector<std::string>> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::map<std::string, int64_t> time_offsets;  // "monotonic"/"boottime" -> seconds
  std::optional<uint32_t> uid, gid;
  std::optional<std::vector<uint32_t>> additional_gids;
  // Capability sets by /proc/PID/status field ("CapEff", ...) -> names ("CAP_KILL", ...).
  std::optional<std::map<std::string, std::vector<std::string>>> capabilities;
  std::optional<bool> no_new_privileges;
};

nlohmann::json ToJson(const Expectation& e);
const char* NsModeName(NsSetting::Mode m);

// The capability bit for a name such as "CAP_KILL", or -1.
int CapabilityBit(const std::string& name);
// A capability set as /proc/PID/status prints it (16 hex digits) for these names.
std::string CapabilityMask(const std::vector<std::string>& names);

}  // namespace nsc::runtime
