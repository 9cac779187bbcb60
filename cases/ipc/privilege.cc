// IPC namespaces: creating one needs CAP_SYS_ADMIN.
// Source: clone(2), CLONE_NEWIPC and ERRORS.
#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases::ipc {
namespace {

NSC_CASE({
    .id = "ipc.requires_cap_sys_admin",
    .title = "Creating an IPC namespace without CAP_SYS_ADMIN fails with EPERM",
    .source = {"clone(2)", "CLONE_NEWIPC"},
    .references = {"clone(2), ERRORS", "unshare(2), ERRORS"},
    .observe = "without CAP_SYS_ADMIN and without a user namespace (capability dropped, or a "
               "non-root uid), unshare(CLONE_NEWIPC) returns EPERM",
    .control = kUnshareWithoutCapSysAdminControl,
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWIPC, .min_kernel = {2, 6, 19}},
    .expect = UnshareWithoutCapSysAdminExpectations(),
    .body = UnshareWithoutCapSysAdmin<CLONE_NEWIPC>,
});

}  // namespace
}  // namespace nsc::cases::ipc
