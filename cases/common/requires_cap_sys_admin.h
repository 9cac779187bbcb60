// The "<type>.requires_cap_sys_admin" rules of several groups share one flow: creating a
// namespace of a given type without CAP_SYS_ADMIN (and without a new user namespace) fails with
// EPERM. Source: clone(2) and unshare(2), CLONE_NEW* and ERRORS.
#pragma once

#include <linux/capability.h>

#include "nsconform/case.h"

namespace nsc::cases {

// Flow:
//  1. C drops CAP_SYS_ADMIN from its effective and permitted sets (a rootless caller has none).
//     Control: C keeps the capability; a caller without it gains it in a new user namespace.
//  2. C records whether it holds CAP_SYS_ADMIN, then unshare(kFlag); a namespace created in the
//     control is private to C and dies with it.
template <unsigned long kFlag>
void UnshareWithoutCapSysAdmin(const Probe& p) {
  ChildProcess c = Spawn(0, [&] {
    if (p.control()) {
      if (HasEffectiveCapability(CAP_SYS_ADMIN) != 1) {
        NSC_SETUP(p, EnterUserNamespace(), "control: entering a user namespace for CAP_SYS_ADMIN");
      }
    } else {
      NSC_SETUP(p, DropCapability(CAP_SYS_ADMIN), "capset: dropping CAP_SYS_ADMIN");
    }
    p.Value("caller.cap_sys_admin", HasEffectiveCapability(CAP_SYS_ADMIN));
    p.Call("unshare", unshare(kFlag));
    return 0;
  });
  p.Call("clone", c.pid());
  c.Wait();
}

inline constexpr const char* kUnshareWithoutCapSysAdminControl =
    "the caller keeps (or, unprivileged, gains in a user namespace) CAP_SYS_ADMIN: unshare succeeds";

inline std::vector<Expectation> UnshareWithoutCapSysAdminExpectations() {
  return {Expect("caller.cap_sys_admin", ::testing::Eq(0)), ExpectCall("unshare", FailsWith(EPERM)),
          ExpectCall("clone", Succeeds())};
}

}  // namespace nsc::cases
