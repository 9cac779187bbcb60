// The vocabulary a rule is written in. One case = one documented rule.
//
//   NSC_CASE({
//       .id = "pid.init_is_pid1",
//       .title = "The first process in a new PID namespace is PID 1",
//       .source = {"pid_namespaces(7)", "The namespace \"init\" process"},
//       .observe = "clone(CLONE_NEWPID): the child's getpid() is 1, the parent sees a PID > 1",
//       .control = "clone without CLONE_NEWPID: the child's getpid() is not 1",
//       .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID},
//       .expect = {Expect("child.getpid", Eq(1))},
//       .body = InitIsPid1,
//   });
//
// The body runs in a forked process tree (see probe.h / child.h for what it may call); the
// harness checks `.needs` before forking and judges `.expect` after the tree is gone.
#pragma once

#include <string>
#include <vector>

#include "nsconform/child.h"
#include "nsconform/compat.h"
#include "nsconform/expect.h"
#include "nsconform/probe.h"

namespace nsc {

// Privilege legend of the catalogue (rules.md "Privilege legend").
enum class Privilege {
  kNone,    // any uid, no set-up
  kUserns,  // CAP_SYS_ADMIN over the namespaces it creates: real root, or a fresh user namespace
  kRoot,    // a capability in the initial user namespace: skipped otherwise
  kNocap,   // the body drops the capability itself (capset or a uid change)
};

struct KernelVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  bool operator<(const KernelVersion& o) const {
    if (major != o.major) return major < o.major;
    if (minor != o.minor) return minor < o.minor;
    return patch < o.patch;
  }
};

struct Requirements {
  Privilege privilege = Privilege::kNone;
  // CLONE_NEW* flags of the namespace types the case creates or uses. Each /proc/self/ns/<type>
  // must exist (NS_TYPE_UNSUPPORTED otherwise); with CLONE_NEWUSER, user namespaces must be
  // creatable here; with CLONE_NEWNS, "/" must be a mount point (not a plain chroot).
  unsigned long namespaces = 0;
  KernelVersion min_kernel{};
  // Kernel config options that must be y or m, e.g. {"CONFIG_PID_NS"} (checked when known).
  std::vector<std::string> kconfig;
  // A nocap body that needs a user namespace first (rootless) to be able to drop a capability
  // there. When user namespaces are unavailable and the caller is not root, the case skips.
  bool needs_userns = false;
  // Writes files under /proc/sys (per-namespace sysctls): skipped where /proc/sys is mounted
  // read-only (lxc, podman, runc, crun), since a case cannot remount it.
  bool writes_proc_sys = false;
};

struct Source {
  std::string doc;      // "pid_namespaces(7)"
  std::string section;  // "The namespace \"init\" process"
};

using CaseBody = void (*)(const Probe&);

struct Case {
  std::string id;       // stable rule ID from the catalogue, e.g. "pid.init_is_pid1"
  std::string title;    // one line
  Source source;
  std::vector<std::string> references;  // further man pages / sections / commits
  std::string observe;  // how the body observes the rule
  std::string control;  // what the sensitivity control removes, and why the rule then fails
  Requirements needs;
  // Why the rule has no honest sensitivity control (then .control is empty and --control
  // reports the rule as SKIP/NO_CONTROL instead of presenting a synthetic one).
  std::string no_control_because;
  double timeout_s = 10;
  // The set-up the verdict depends on (Given(...)): judged first, in the rule and in the control.
  // One not holding makes the case SKIP or ERROR, never FAIL.
  std::vector<Expectation> preconditions;
  // The rule's verdict keys (Expect...) and recorded values (Record).
  std::vector<Expectation> expect;
  CaseBody body = nullptr;
  // Filled by NSC_CASE.
  std::string file;
  int line = 0;

  std::string Namespace() const { return id.substr(0, id.find('.')); }
};

// All registered cases, sorted by ID.
const std::vector<Case>& AllCases();
bool RegisterCase(const char* file, int line, Case c);

#define NSC_CONCAT_INNER(a, b) a##b
#define NSC_CONCAT(a, b) NSC_CONCAT_INNER(a, b)
#define NSC_CASE(...)                                        \
  [[maybe_unused]] static const bool NSC_CONCAT(nsc_case_, __LINE__) = \
      ::nsc::RegisterCase(__FILE__, __LINE__, ::nsc::Case __VA_ARGS__)

}  // namespace nsc
