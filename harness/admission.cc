// Admission of a case against the probed environment (see admission.h).
#include "admission.h"

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

Admission UserNamespaceAdmission(const Environment& env, bool force_userns, const char* why) {
  Admission a;
  if (env.root_in_initial_user_ns && !force_userns) return a;
  if (env.userns_available) {
    a.enter_userns = true;
    return a;
  }
  a.runnable = false;
  a.code = env.userns_unavailable_code;
  a.status = env.userns_unavailable_code == ReasonCode::kHarnessError ? Status::kError : Status::kSkip;
  a.reason = std::string(why) + ", and user namespaces are unavailable: " + env.userns_unavailable_why;
  return a;
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
  // A case that lists a namespace type creates namespaces of that type: user namespaces must
  // be creatable, and a mount namespace needs "/" to be a mount point to be made private.
  if ((c.needs.namespaces & CLONE_NEWUSER) != 0 && !env.userns_available) {
    a.runnable = false;
    a.code = env.userns_unavailable_code;
    a.status = a.code == ReasonCode::kHarnessError ? Status::kError : Status::kSkip;
    a.reason = "needs to create user namespaces, which this environment refuses: " +
               env.userns_unavailable_why;
    return a;
  }
  if ((c.needs.namespaces & CLONE_NEWNS) != 0 && !env.root_is_mount_point) {
    a.runnable = false;
    a.code = ReasonCode::kPreconditionUnmet;
    a.reason = "needs a private mount namespace, but \"/\" is not a mount point here (a chroot "
               "into a plain directory), so mounts could not be kept from the host";
    return a;
  }
  switch (c.needs.privilege) {
    case Privilege::kNone:
      break;
    case Privilege::kNocap:
      if (c.needs.needs_userns) {
        return UserNamespaceAdmission(env, force_userns,
                                      "needs a user namespace to drop a capability in");
      }
      break;
    case Privilege::kUserns:
      return UserNamespaceAdmission(env, force_userns,
                                    "needs CAP_SYS_ADMIN over the namespaces it creates");
    case Privilege::kRoot:
      if (!env.root_in_initial_user_ns) {
        a.runnable = false;
        a.code = ReasonCode::kInsufficientPrivilege;
        a.reason = "needs CAP_SYS_ADMIN in the initial user namespace (run as root)";
      }
      break;
  }
  return a;
}

}  // namespace nsc
