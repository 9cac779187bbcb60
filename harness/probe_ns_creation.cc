// Can namespaces of each type be created here, and can a user namespace get an id mapping?
// Each attempt runs in a throwaway forked child that makes one call and _exit()s with its
// errno (async-signal-safe; the harness is still single-threaded). A refusal is then explained
// from what the caller's capabilities, the sysctls, the kernel and a seccomp filter predict, so
// that admission can SKIP with the real cause (see environment.h).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "environment.h"
#include "text.h"

namespace nsc {
namespace {

using nlohmann::json;

// errno of fn() in a throwaway child (0 = success), or -1 when the child could not be run.
template <typename Fn>
int InThrowawayChild(Fn fn) {
  pid_t pid = fork();
  if (pid == 0) _exit(fn() == 0 ? 0 : (errno & 0xff));
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

std::string Call(unsigned long flag, bool with_userns) {
  std::string flags = with_userns && flag != CLONE_NEWUSER
                          ? std::string("CLONE_NEWUSER|") + CloneFlagName(flag)
                          : CloneFlagName(flag);
  return "unshare(" + flags + ")";
}

// Why creating `flag` failed with `err`, given what the caller holds.
std::pair<ReasonCode, std::string> ExplainRefusal(const Environment& env, unsigned long flag,
                                                  int err, bool with_userns) {
  if (err == 0) return {ReasonCode::kNone, ""};
  const std::string type = NsTypeName(flag);
  const std::string what = Call(flag, with_userns) + " fails with " +
                           (err < 0 ? std::string("an unknown error") : ErrnoName(err));
  if (err < 0) return {ReasonCode::kHarnessError, "could not run the probe of " + what};
  if (!env.ns_entries.contains(type)) {
    return {ReasonCode::kNsTypeUnsupported, what + "; the kernel has no /proc/self/ns/" + type};
  }
  const std::string max =
      Trim(ReadFileOr("/proc/sys/user/max_" + type + "_namespaces", ""));
  if (max == "0") {
    return {ReasonCode::kDisabledBySysctl, what + "; user.max_" + type + "_namespaces is 0"};
  }
  // Creating a non-user namespace needs CAP_SYS_ADMIN in the caller's user namespace (a new user
  // namespace grants it); a user namespace needs nothing but a non-chrooted caller.
  const bool caps_predict_success = with_userns || flag == CLONE_NEWUSER || env.cap_sys_admin;
  if (!caps_predict_success && err == EPERM) {
    return {ReasonCode::kInsufficientPrivilege, what + "; CAP_SYS_ADMIN is not effective"};
  }
  if (with_userns && flag != CLONE_NEWUSER && !env.userns_available) {
    return {env.userns_unavailable_code, what + "; " + env.userns_unavailable_why};
  }
  if (env.seccomp_mode == 2) {
    return {ReasonCode::kBlockedBySeccomp,
            what + " under a seccomp filter (" + std::to_string(env.seccomp_filters) +
                " installed), although " +
                (with_userns || flag == CLONE_NEWUSER ? "no capability is needed"
                                                      : "CAP_SYS_ADMIN is effective") +
                (max.empty() ? "" : " and user.max_" + type + "_namespaces is " + max)};
  }
  if (err == ENOSPC || err == EUSERS) {
    return {ReasonCode::kDisabledBySysctl,
            what + "; a namespace limit is reached (user.max_" + type + "_namespaces = " +
                (max.empty() ? "?" : max) + ", or the nesting depth)"};
  }
  const std::string lsm = Trim(ReadFileOr("/sys/kernel/security/lsm", ""));
  if ((err == EPERM || err == EACCES) && !lsm.empty() &&
      (lsm.find("apparmor") != std::string::npos || lsm.find("selinux") != std::string::npos ||
       lsm.find("smack") != std::string::npos || lsm.find("bpf") != std::string::npos)) {
    return {ReasonCode::kBlockedByLsm, what + " with no seccomp filter installed; active LSMs: " + lsm};
  }
  // Not a documented way of refusing here: report it, never hide it behind a skip.
  return {ReasonCode::kHarnessError,
          what + " with no seccomp filter, limit or LSM that explains it"};
}

json ErrnoJson(int err) {
  if (err == 0) return 0;
  if (err < 0) return "probe failed";
  return ErrnoName(err);
}

}  // namespace

void ProbeNamespaceCreation(Environment& env) {
  json out = json::object();
  for (unsigned long flag : kAllNsFlags) {
    Environment::NsCreation c;
    c.direct_errno = InThrowawayChild([flag] { return unshare(static_cast<int>(flag)); });
    c.userns_errno = flag == CLONE_NEWUSER
                         ? c.direct_errno
                         : InThrowawayChild([flag] {
                             return unshare(static_cast<int>(CLONE_NEWUSER | flag));
                           });
    std::tie(c.direct_code, c.direct_why) = ExplainRefusal(env, flag, c.direct_errno, false);
    std::tie(c.userns_code, c.userns_why) = ExplainRefusal(env, flag, c.userns_errno, true);
    json entry = {{"unshare", ErrnoJson(c.direct_errno)},
                  {"unshare_with_userns", ErrnoJson(c.userns_errno)}};
    if (c.direct_code != ReasonCode::kNone) {
      entry["unshare_refused"] = {{"code", ReasonCodeName(c.direct_code)}, {"why", c.direct_why}};
    }
    if (c.userns_code != ReasonCode::kNone) {
      entry["unshare_with_userns_refused"] = {{"code", ReasonCodeName(c.userns_code)},
                                              {"why", c.userns_why}};
    }
    out[NsTypeName(flag)] = entry;
    env.ns_creation[flag] = std::move(c);
  }
  env.exec["ns_creation"] = out;
}

void ProbeIdMapping(Environment& env) {
  const int root_mappable = RootMappableHere();
  const std::string strategy = root_mappable == 1 ? "self" : "helper";
  int err = -1;
  if (env.userns_available) err = InThrowawayChild([] { return EnterUserNamespace(); });
  if (err == 0) {
    env.id_mapping = strategy;
  } else {
    env.id_mapping = "none";
    if (!env.userns_available) {
      env.id_mapping_why = "user namespaces are unavailable: " + env.userns_unavailable_why;
    } else if (root_mappable != 1) {
      env.id_mapping_why =
          "euid 0 without CAP_SETFCAP cannot map uid 0 into a user namespace (Linux 5.12+), and "
          "mapping root to another id " +
          std::string(err == EPERM ? "needs CAP_SETUID and CAP_SETGID, which are not effective"
                                   : "failed with " + ErrnoName(err));
    } else {
      env.id_mapping_why = "writing uid_map/gid_map \"0 " + std::to_string(geteuid()) +
                           " 1\" in a new user namespace fails with " +
                           (err < 0 ? std::string("an unknown error") : ErrnoName(err));
    }
  }
  json mapping = {{"strategy", env.id_mapping}};
  if (!env.id_mapping_why.empty()) mapping["why"] = env.id_mapping_why;
  env.exec["userns_id_mapping"] = mapping;
}

}  // namespace nsc
