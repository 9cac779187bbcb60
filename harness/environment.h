// What the harness learns about the machine once, before any case runs: kernel, config,
// privileges, user-namespace availability, nesting depth. Also the `system` and `exec`
// sections of the report.
#pragma once

#include <cstdint>
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
  int seccomp_filters = 0;

  // Effective capabilities (CapEff of /proc/self/status), and whether the caller holds every
  // capability the rules rely on as root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_TIME,
  // CAP_SETUID, CAP_SETFCAP, ...): root in a container often does not (nspawn drops
  // CAP_NET_ADMIN and CAP_SYS_TIME; runc keeps three), and is then treated as not root.
  uint64_t cap_effective = 0;
  bool full_capabilities = false;
  std::string missing_capabilities;  // "CAP_NET_ADMIN, CAP_SYS_TIME" when not full
  // /proc/self/setgroups: "allow", "deny", or "" when the kernel has no such file.
  std::string setgroups;
  // How the supervisor maps root in a fresh user namespace here (EnterUserNamespace):
  // "self" (root -> euid), "helper" (root -> another id, written from outside: euid 0 without
  // CAP_SETFCAP), or "none" (no mapping can be written; id_mapping_why says why).
  std::string id_mapping = "none";
  std::string id_mapping_why;
  // /proc/sys is mounted read-only (lxc, podman, runc and crun do that).
  bool proc_sys_read_only = false;
  // stat(2) of the same nsfs file gives the same (st_dev, st_ino) twice, and distinct types
  // give distinct identities; namespace-identity comparisons and the host guards rely on it.
  bool ns_identity_stable = true;
  std::string ns_identity_why;

  // Whether namespaces of one type can be created here, tried in throwaway children: directly
  // (unshare(flag)) and together with a new user namespace (unshare(CLONE_NEWUSER | flag)).
  // errno 0 = created. code/why explain a refusal that the capabilities do not predict:
  // BLOCKED_BY_SECCOMP when a seccomp filter is installed, DISABLED_BY_SYSCTL, ...
  struct NsCreation {
    int direct_errno = 0;
    int userns_errno = 0;
    ReasonCode direct_code = ReasonCode::kNone;
    std::string direct_why;
    ReasonCode userns_code = ReasonCode::kNone;
    std::string userns_why;
  };
  std::map<unsigned long, NsCreation> ns_creation;  // keyed by CLONE_NEW* flag

  nlohmann::json system;  // report "system" section
  nlohmann::json exec;    // report "exec" section
};

// Probes the machine. Forks a short-lived child for the user-namespace trial; call it before
// any thread exists.
Environment ProbeEnvironment(bool redact);

// The namespace-type name for one CLONE_NEW* flag ("pid" for CLONE_NEWPID).
const char* NsTypeName(unsigned long clone_flag);
// "CLONE_NEWPID" for CLONE_NEWPID.
const char* CloneFlagName(unsigned long clone_flag);
// Every CLONE_NEW* flag, in a fixed order.
inline constexpr unsigned long kAllNsFlags[] = {CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS,
                                                CLONE_NEWNET,    CLONE_NEWPID, CLONE_NEWTIME,
                                                CLONE_NEWUSER,   CLONE_NEWUTS};

// Probes in their own files, called by ProbeEnvironment (each records into env.exec):
// namespace creation per flag and the id mapping (harness/probe_ns_creation.cc),
// namespace identity stability and a read-only /proc/sys (harness/probe_platform.cc),
// container detection as systemd-detect-virt does it (harness/probe_container.cc).
void ProbeNamespaceCreation(Environment& env);
void ProbeIdMapping(Environment& env);
void ProbeNsIdentity(Environment& env);
void ProbeProcSys(Environment& env);
nlohmann::json DetectContainer();

}  // namespace nsc
