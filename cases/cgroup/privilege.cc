// Cgroup namespaces: creating one needs CAP_SYS_ADMIN.
// Source: clone(2), CLONE_NEWCGROUP; unshare(2), CLONE_NEWCGROUP.
#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases::cgroup {
namespace {

NSC_CASE({
    .id = "cgroup.requires_cap_sys_admin",
    .title = "Creating a cgroup namespace without CAP_SYS_ADMIN fails with EPERM",
    .source = {"clone(2)", "CLONE_NEWCGROUP"},
    .references = {"unshare(2), CLONE_NEWCGROUP", "clone(2), ERRORS", "unshare(2), ERRORS"},
    .observe = "without CAP_SYS_ADMIN and without a user namespace (capability dropped, or a "
               "non-root uid), unshare(CLONE_NEWCGROUP) returns EPERM",
    .control = kUnshareWithoutCapSysAdminControl,
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWCGROUP, .min_kernel = {4, 6}},
    .preconditions = UnshareWithoutCapSysAdminPreconditions(),
    .expect = UnshareWithoutCapSysAdminExpectations(),
    .body = UnshareWithoutCapSysAdmin<CLONE_NEWCGROUP>,
});

}  // namespace
}  // namespace nsc::cases::cgroup
