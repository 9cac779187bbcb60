// The expectation model as JSON (the report's runtime section) and capability names.
#include "expectation.h"

#include <cstdio>

namespace nsc::runtime {

using nlohmann::json;

namespace {

// capability.h numbering (capabilities(7)).
const char* const kCapabilityNames[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

json Maps(const std::vector<IdMapping>& maps) {
  json out = json::array();
  for (const auto& m : maps) out.push_back({m.inside, m.outside, m.size});
  return out;
}

}  // namespace

const char* NsModeName(NsSetting::Mode m) {
  switch (m) {
    case NsSetting::Mode::kShared: return "shared";
    case NsSetting::Mode::kNew: return "new";
    case NsSetting::Mode::kJoin: return "join";
  }
  return "shared";
}

int CapabilityBit(const std::string& name) {
  for (size_t i = 0; i < std::size(kCapabilityNames); ++i) {
    if (name == kCapabilityNames[i]) return static_cast<int>(i);
  }
  return -1;
}

std::string CapabilityMask(const std::vector<std::string>& names) {
  uint64_t mask = 0;
  for (const auto& n : names) {
    int bit = CapabilityBit(n);
    if (bit >= 0) mask |= uint64_t{1} << bit;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(mask));
  return buf;
}

json ToJson(const Expectation& e) {
  json j;
  for (const auto& [type, s] : e.ns) {
    j["namespaces"][type] = {{"mode", NsModeName(s.mode)}};
    if (!s.path.empty()) j["namespaces"][type]["path"] = s.path;
  }
  if (e.process_is_pid1) j["process_is_pid1"] = *e.process_is_pid1;
  if (e.proc_mounted) j["proc_mounted"] = *e.proc_mounted;
  if (e.hostname) j["hostname"] = *e.hostname;
  if (e.domainname) j["domainname"] = *e.domainname;
  if (e.uid_map) j["uid_map"] = Maps(*e.uid_map);
  if (e.gid_map) j["gid_map"] = Maps(*e.gid_map);
  if (e.rootfs_propagation) j["rootfs_propagation"] = *e.rootfs_propagation;
  if (e.readonly_root) j["readonly_root"] = *e.readonly_root;
  if (e.masked_paths) j["masked_paths"] = *e.masked_paths;
  if (e.readonly_paths) j["readonly_paths"] = *e.readonly_paths;
  if (!e.sysctl.empty()) j["sysctl"] = e.sysctl;
  if (!e.time_offsets.empty()) j["time_offsets"] = e.time_offsets;
  if (e.uid) j["uid"] = *e.uid;
  if (e.gid) j["gid"] = *e.gid;
  if (e.additional_gids) j["additional_gids"] = *e.additional_gids;
  if (e.capabilities) j["capabilities"] = *e.capabilities;
  if (e.no_new_privileges) j["no_new_privileges"] = *e.no_new_privileges;
  return j;
}

}  // namespace nsc::runtime
