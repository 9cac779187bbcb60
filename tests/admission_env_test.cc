// Admit() decides from the probed environment facts (issue 8), without spawning anything: a
// case that cannot set itself up here is SKIP with the precise reason, never run into an ERROR.
#include <linux/capability.h>

#include <gtest/gtest.h>

#include "admission.h"

namespace nsc {
namespace {

// Root in the initial user namespace with every capability, where everything can be created.
Environment HostRoot() {
  Environment env;
  env.kernel = {6, 18, 0};
  env.kernel_release = "6.18.0";
  for (unsigned long flag : kAllNsFlags) env.ns_entries.insert(NsTypeName(flag));
  env.initial_user_ns = true;
  env.cap_sys_admin = true;
  env.root_in_initial_user_ns = true;
  env.full_capabilities = true;
  env.cap_effective = ~0ull;
  env.userns_available = true;
  env.id_mapping = "self";
  for (unsigned long flag : kAllNsFlags) env.ns_creation[flag] = {};
  return env;
}

Case UsernsCase(unsigned long namespaces) {
  Case c;
  c.id = "test.case";
  c.needs.privilege = Privilege::kUserns;
  c.needs.namespaces = namespaces;
  return c;
}

TEST(AdmissionEnv, RunsOnTheHost) {
  Admission a = Admit(UsernsCase(CLONE_NEWPID), HostRoot(), false);
  EXPECT_TRUE(a.runnable);
  EXPECT_FALSE(a.enter_userns);
}

TEST(AdmissionEnv, SeccompRefusalOfOneTypeSkipsOnlyCasesCreatingIt) {
  Environment env = HostRoot();
  env.seccomp_mode = 2;
  auto& pid = env.ns_creation[CLONE_NEWPID];
  pid.direct_errno = EPERM;
  pid.direct_code = ReasonCode::kBlockedBySeccomp;
  pid.direct_why = "unshare(CLONE_NEWPID) fails with EPERM under a seccomp filter";
  Admission a = Admit(UsernsCase(CLONE_NEWPID | CLONE_NEWUTS), env, false);
  EXPECT_FALSE(a.runnable);
  EXPECT_EQ(a.status, Status::kSkip);
  EXPECT_EQ(a.code, ReasonCode::kBlockedBySeccomp);
  EXPECT_NE(a.reason.find("pid namespaces"), std::string::npos) << a.reason;
  EXPECT_TRUE(Admit(UsernsCase(CLONE_NEWUTS), env, false).runnable);
}

TEST(AdmissionEnv, RefusalTheCapabilitiesPredictIsTheRulesBusiness) {
  // Without CAP_SYS_ADMIN, unshare(CLONE_NEWNET) is EPERM by design; a nocap rule observes it.
  Environment env = HostRoot();
  env.cap_sys_admin = false;
  env.root_in_initial_user_ns = false;
  auto& net = env.ns_creation[CLONE_NEWNET];
  net.direct_errno = EPERM;
  net.direct_code = ReasonCode::kInsufficientPrivilege;
  Case c = UsernsCase(CLONE_NEWNET);
  c.needs.privilege = Privilege::kNocap;
  EXPECT_TRUE(Admit(c, env, false).runnable);
}

TEST(AdmissionEnv, ContainerRootWithoutSetfcapEntersAUserNamespaceThroughTheHelper) {
  Environment env = HostRoot();
  env.full_capabilities = false;
  env.missing_capabilities = "CAP_SETFCAP";
  env.cap_effective &= ~(1ull << CAP_SETFCAP);
  env.id_mapping = "helper";
  Admission a = Admit(UsernsCase(CLONE_NEWPID), env, false);
  EXPECT_TRUE(a.runnable);
  EXPECT_TRUE(a.enter_userns);
  // A no-privilege case that maps its own user namespace as root runs there too.
  Case own = UsernsCase(CLONE_NEWUSER);
  own.needs.privilege = Privilege::kNone;
  env.euid = 0;
  EXPECT_TRUE(Admit(own, env, false).enter_userns);
}

TEST(AdmissionEnv, NoWritableIdMappingIsInsufficientPrivilegeNotAnError) {
  Environment env = HostRoot();  // runc's default: euid 0 with three capabilities
  env.cap_sys_admin = false;
  env.root_in_initial_user_ns = false;
  env.full_capabilities = false;
  env.id_mapping = "none";
  env.id_mapping_why = "euid 0 without CAP_SETFCAP, CAP_SETUID and CAP_SETGID";
  Admission a = Admit(UsernsCase(CLONE_NEWPID), env, false);
  EXPECT_FALSE(a.runnable);
  EXPECT_EQ(a.status, Status::kSkip);
  EXPECT_EQ(a.code, ReasonCode::kInsufficientPrivilege);
  EXPECT_NE(a.reason.find("CAP_SETFCAP"), std::string::npos) << a.reason;
}

TEST(AdmissionEnv, RootMissingCapabilitiesSkipsRootRules) {
  Environment env = HostRoot();  // nspawn: no CAP_NET_ADMIN, no CAP_SYS_TIME
  env.full_capabilities = false;
  env.missing_capabilities = "CAP_NET_ADMIN, CAP_SYS_TIME";
  Case c = UsernsCase(CLONE_NEWNET);
  c.needs.privilege = Privilege::kRoot;
  Admission a = Admit(c, env, false);
  EXPECT_FALSE(a.runnable);
  EXPECT_EQ(a.code, ReasonCode::kInsufficientPrivilege);
  EXPECT_NE(a.reason.find("CAP_NET_ADMIN"), std::string::npos) << a.reason;
  // Userns rules get every capability inside the supervisor's user namespace instead.
  EXPECT_TRUE(Admit(UsernsCase(CLONE_NEWNET), env, false).enter_userns);
}

TEST(AdmissionEnv, ReadOnlyProcSysSkipsSysctlWriters) {
  Environment env = HostRoot();
  env.proc_sys_read_only = true;
  Case c = UsernsCase(CLONE_NEWIPC);
  c.needs.writes_proc_sys = true;
  Admission a = Admit(c, env, false);
  EXPECT_FALSE(a.runnable);
  EXPECT_EQ(a.code, ReasonCode::kPreconditionUnmet);
  EXPECT_TRUE(Admit(UsernsCase(CLONE_NEWIPC), env, false).runnable);
}

TEST(AdmissionEnv, UnstableNamespaceIdentityFailsClosed) {
  Environment env = HostRoot();
  env.ns_identity_stable = false;
  env.ns_identity_why = "two stat(2) calls of /proc/self/ns/uts gave different (st_dev, st_ino)";
  Admission a = Admit(UsernsCase(CLONE_NEWUTS), env, false);
  EXPECT_FALSE(a.runnable);
  EXPECT_EQ(a.code, ReasonCode::kPreconditionUnmet);
}

TEST(AdmissionEnv, UndocumentedRefusalIsAnErrorNotASkip) {
  Environment env = HostRoot();
  auto& uts = env.ns_creation[CLONE_NEWUTS];
  uts.direct_errno = EIO;
  uts.direct_code = ReasonCode::kHarnessError;
  uts.direct_why = "unshare(CLONE_NEWUTS) fails with EIO with no seccomp filter, limit or LSM";
  Admission a = Admit(UsernsCase(CLONE_NEWUTS), env, false);
  EXPECT_FALSE(a.runnable);
  EXPECT_EQ(a.status, Status::kError);
}

}  // namespace
}  // namespace nsc
