// Network namespaces: creating one needs CAP_SYS_ADMIN.
// Source: clone(2), CLONE_NEWNET and ERRORS.
#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases::net {
namespace {

NSC_CASE({
    .id = "net.requires_cap_sys_admin",
    .title = "Creating a network namespace without CAP_SYS_ADMIN fails with EPERM",
    .source = {"clone(2)", "CLONE_NEWNET"},
    .references = {"clone(2), ERRORS", "unshare(2), ERRORS"},
    .observe = "without CAP_SYS_ADMIN and without a user namespace (capability dropped, or a "
               "non-root uid), unshare(CLONE_NEWNET) returns EPERM",
    .control = kUnshareWithoutCapSysAdminControl,
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWNET, .min_kernel = {2, 6, 24}},
    .expect = UnshareWithoutCapSysAdminExpectations(),
    .body = UnshareWithoutCapSysAdmin<CLONE_NEWNET>,
});

}  // namespace
}  // namespace nsc::cases::net
