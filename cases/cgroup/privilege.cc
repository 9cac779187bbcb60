// Cgroup namespaces: creating one needs CAP_SYS_ADMIN.
// Source: clone(2), CLONE_NEWCGROUP; unshare(2), CLONE_NEWCGROUP.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsconform/case.h"

namespace nsc::cases::cgroup {
namespace {

using ::testing::Eq;

// 1 if `cap` is in the caller's effective set, 0 if not, -1 if capget failed.
int HasEffectiveCap(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) == -1) return -1;
  return (data[cap / 32].effective >> (cap % 32)) & 1u;
}

// Flow:
//  1. C drops CAP_SYS_ADMIN from its effective and permitted sets (a rootless caller has none).
//     Control: C keeps the capability; a caller without it gains it in a new user namespace.
//  2. C records whether it holds CAP_SYS_ADMIN, then unshare(CLONE_NEWCGROUP); a new namespace,
//     if one is created, is private to C.
void RequiresCapSysAdmin(const Probe& p) {
  ChildProcess c = Spawn(0, [&] {
    if (p.control()) {
      if (HasEffectiveCap(CAP_SYS_ADMIN) != 1) {
        NSC_SETUP(p, EnterUserNamespace(), "control: entering a user namespace for CAP_SYS_ADMIN");
      }
    } else {
      NSC_SETUP(p, DropCapability(CAP_SYS_ADMIN), "capset: dropping CAP_SYS_ADMIN");
    }
    p.Value("caller.cap_sys_admin", HasEffectiveCap(CAP_SYS_ADMIN));
    p.Call("unshare", unshare(CLONE_NEWCGROUP));
    return 0;
  });
  p.Call("clone", c.pid());
  c.Wait();
}

NSC_CASE({
    .id = "cgroup.requires_cap_sys_admin",
    .title = "Creating a cgroup namespace without CAP_SYS_ADMIN fails with EPERM",
    .source = {"clone(2)", "CLONE_NEWCGROUP"},
    .references = {"unshare(2), CLONE_NEWCGROUP", "clone(2), ERRORS", "unshare(2), ERRORS"},
    .observe = "without CAP_SYS_ADMIN and without a user namespace (capability dropped, or a "
               "non-root uid), unshare(CLONE_NEWCGROUP) returns EPERM",
    .control = "the caller keeps (or, unprivileged, gains in a user namespace) CAP_SYS_ADMIN: "
               "unshare succeeds",
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWCGROUP, .min_kernel = {4, 6}},
    .expect = {Expect("caller.cap_sys_admin", Eq(0)), ExpectCall("unshare", FailsWith(EPERM)),
               ExpectCall("clone", Succeeds())},
    .body = RequiresCapSysAdmin,
});

}  // namespace
}  // namespace nsc::cases::cgroup
