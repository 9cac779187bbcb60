// What the harness learns about the machine once, before any case runs: kernel, config,
// privileges, user-namespace availability, nesting depth. Also the `system` and `exec`
// sections of the report.
#pragma once

#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "nsconform/case.h"

namespace nsc {

struct Environment {
  KernelVersion kernel;
  std::string kernel_release;
  std::string machine;
  // Every CONFIG_* option of the kernel config, when a config was found.
  bool kconfig_known = false;
  std::string kconfig_source;
  std::map<std::string, std::string> kconfig;
  // Present entries of /proc/self/ns ("pid", "user", "time_for_children", ...).
  std::set<std::string> ns_entries;
  uid_t euid = 0;
  bool initial_user_ns = false;
  bool cap_sys_admin = false;          // effective CAP_SYS_ADMIN
  bool root_in_initial_user_ns = false;  // CAP_SYS_ADMIN in the initial user namespace
  bool userns_available = false;
  ReasonCode userns_unavailable_code = ReasonCode::kNone;
  std::string userns_unavailable_why;
  // "/" is a mount point of this mount namespace. Not so in a chroot into a plain directory:
  // then no private mount namespace can be set up (MS_PRIVATE on "/" is EINVAL).
  bool root_is_mount_point = true;
  int pid_ns_depth = 1;  // number of NSpid fields
  int seccomp_mode = 0;

  nlohmann::json system;  // report "system" section
  nlohmann::json exec;    // report "exec" section
};

// Probes the machine. Forks a short-lived child for the user-namespace trial; call it before
// any thread exists.
Environment ProbeEnvironment(bool redact);

// The namespace-type name for one CLONE_NEW* flag ("pid" for CLONE_NEWPID).
const char* NsTypeName(unsigned long clone_flag);

}  // namespace nsc
