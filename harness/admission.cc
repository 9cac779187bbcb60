// Admission of a case against the probed environment (see admission.h).
#include "admission.h"

#include <linux/capability.h>

namespace nsc {
namespace {

bool SameNamespaceNeeded(const Case& c, const Environment& env, std::string* missing) {
  for (unsigned long flag : {CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWNET,
                             CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS}) {
    if ((c.needs.namespaces & flag) != 0 && !env.ns_entries.contains(NsTypeName(flag))) {
      *missing = NsTypeName(flag);
      return false;
    }
  }
  return true;
}

std::string VersionString(const KernelVersion& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) +
         (v.patch != 0 ? "." + std::to_string(v.patch) : "");
}

Admission NotRunnable(ReasonCode code, std::string reason) {
  Admission a;
  a.runnable = false;
  a.code = code;
  a.status = code == ReasonCode::kHarnessError ? Status::kError : Status::kSkip;
  a.reason = std::move(reason);
  return a;
}

// Root that may skip the supervisor's user namespace: CAP_SYS_ADMIN in the initial user
// namespace and every other capability too. A container's root that lacks some (nspawn drops
// CAP_NET_ADMIN and CAP_SYS_TIME) gets them all inside a fresh user namespace instead.
bool FullRoot(const Environment& env) { return env.root_in_initial_user_ns && env.full_capabilities; }

Admission UserNamespaceAdmission(const Environment& env, bool force_userns, const char* why) {
  Admission a;
  if (FullRoot(env) && !force_userns) return a;
  if (!env.userns_available) {
    return NotRunnable(env.userns_unavailable_code,
                       std::string(why) + ", and user namespaces are unavailable: " +
                           env.userns_unavailable_why);
  }
  if (env.id_mapping == "none") {
    return NotRunnable(ReasonCode::kInsufficientPrivilege,
                       std::string(why) + ", and no user namespace with root mapped can be made "
                       "here: " + env.id_mapping_why);
  }
  a.enter_userns = true;
  return a;
}

// Each namespace type the case creates must be creatable the way it will create it: directly
// with the caller's capabilities, or under a user namespace (the supervisor's, or its own when
// the caller has no CAP_SYS_ADMIN).
Admission CreationAdmission(const Case& c, const Environment& env, const Admission& so_far) {
  const bool under_userns = so_far.enter_userns || !env.cap_sys_admin;
  for (unsigned long flag : kAllNsFlags) {
    if ((c.needs.namespaces & flag) == 0) continue;
    auto it = env.ns_creation.find(flag);
    if (it == env.ns_creation.end()) continue;  // not probed (tests that build an Environment)
    const Environment::NsCreation& nc = it->second;
    const ReasonCode code = under_userns ? nc.userns_code : nc.direct_code;
    const std::string& why = under_userns ? nc.userns_why : nc.direct_why;
    // A refusal the caller's capabilities predict is the rule's own business (nocap rules
    // observe exactly that); only the others keep the case from setting itself up.
    if (code == ReasonCode::kNone || code == ReasonCode::kInsufficientPrivilege) continue;
    return NotRunnable(code, std::string("needs to create ") + NsTypeName(flag) +
                                 " namespaces, which this environment refuses: " + why);
  }
  return so_far;
}

}  // namespace

std::string_view StatusName(Status s) {
  switch (s) {
    case Status::kPass: return "pass";
    case Status::kFail: return "fail";
    case Status::kSkip: return "skip";
    case Status::kError: return "error";
  }
  return "error";
}

Admission Admit(const Case& c, const Environment& env, bool force_userns) {
  Admission a;
  std::string missing;
  if (!SameNamespaceNeeded(c, env, &missing)) {
    a.runnable = false;
    a.code = ReasonCode::kNsTypeUnsupported;
    a.reason = "kernel has no " + missing + " namespaces (no /proc/self/ns/" + missing + ")";
    return a;
  }
  if (env.kernel < c.needs.min_kernel) {
    a.runnable = false;
    a.code = ReasonCode::kKernelTooOld;
    a.reason = "needs Linux " + VersionString(c.needs.min_kernel) + " or later; running " +
               env.kernel_release;
    return a;
  }
  if (env.kconfig_known) {
    for (const std::string& opt : c.needs.kconfig) {
      auto it = env.kconfig.find(opt);
      std::string value = it == env.kconfig.end() ? "n" : it->second;
      if (value != "y" && value != "m") {
        a.runnable = false;
        a.code = ReasonCode::kKconfigMissing;
        a.reason = "needs " + opt + " (not set in the " + env.kconfig_source + " kernel config)";
        return a;
      }
    }
  }
  // Guards and identity checks compare (st_dev, st_ino) of nsfs files: without a stable
  // identity they would fail open, so nothing that creates namespaces runs (fail closed).
  if (c.needs.namespaces != 0 && !env.ns_identity_stable) {
    return NotRunnable(ReasonCode::kPreconditionUnmet,
                       "namespace identity is not stable here (" + env.ns_identity_why +
                           "), so the host guards could not prove they are outside the "
                           "harness's namespaces");
  }
  // A case that lists a namespace type creates namespaces of that type: user namespaces must
  // be creatable, and a mount namespace needs "/" to be a mount point to be made private.
  if ((c.needs.namespaces & CLONE_NEWUSER) != 0 && !env.userns_available) {
    return NotRunnable(env.userns_unavailable_code,
                       "needs to create user namespaces, which this environment refuses: " +
                           env.userns_unavailable_why);
  }
  if ((c.needs.namespaces & CLONE_NEWNS) != 0 && !env.root_is_mount_point) {
    return NotRunnable(ReasonCode::kPreconditionUnmet,
                       "needs a private mount namespace, but \"/\" is not a mount point here (a "
                       "chroot into a plain directory), so mounts could not be kept from the host");
  }
  if (c.needs.writes_proc_sys && env.proc_sys_read_only) {
    return NotRunnable(ReasonCode::kPreconditionUnmet,
                       "writes per-namespace sysctls under /proc/sys, which is mounted read-only "
                       "here (as lxc, podman, runc and crun do)");
  }
  switch (c.needs.privilege) {
    case Privilege::kNone:
      // Creating and mapping its own user namespace as euid 0 needs CAP_SETFCAP (Linux 5.12+):
      // a container's root without it runs the case inside the supervisor's user namespace,
      // whose root may map itself again.
      if ((c.needs.namespaces & CLONE_NEWUSER) != 0 && env.euid == 0 && !FullRoot(env) &&
          (env.cap_effective >> CAP_SETFCAP & 1) == 0) {
        a = UserNamespaceAdmission(env, true, "creates user namespaces as root without CAP_SETFCAP");
      }
      break;
    case Privilege::kNocap:
      if (c.needs.needs_userns) {
        a = UserNamespaceAdmission(env, force_userns,
                                   "needs a user namespace to drop a capability in");
      }
      break;
    case Privilege::kUserns:
      a = UserNamespaceAdmission(env, force_userns,
                                 "needs CAP_SYS_ADMIN over the namespaces it creates");
      break;
    case Privilege::kRoot:
      if (!env.root_in_initial_user_ns) {
        return NotRunnable(ReasonCode::kInsufficientPrivilege,
                           "needs CAP_SYS_ADMIN in the initial user namespace (run as root)");
      }
      if (!env.full_capabilities) {
        return NotRunnable(ReasonCode::kInsufficientPrivilege,
                           "needs root with every capability in the initial user namespace; "
                           "this root lacks " + env.missing_capabilities);
      }
      break;
  }
  if (!a.runnable) return a;
  return CreationAdmission(c, env, a);
}

}  // namespace nsc
