// Subcommands of the nsconform binary that live in their own directories. Each takes the
// arguments after its name and returns the process exit code (reports.md §7: 0/1/4/64/70/...).
// Usage errors throw UsageError (text.h) and become exit 64 with one line.
#pragma once

#include <string>
#include <vector>

namespace nsc {

// `nsconform matrix ...`: the suite on many real kernels under QEMU (harness/matrix/).
int MatrixMain(const std::vector<std::string>& args);
// `nsconform runtime ADAPTER ...`: a container runtime's namespace set-up (harness/runtime/).
int RuntimeMain(const std::vector<std::string>& args);
// `nsconform __helper cat FILE... | stat-uid FILE` (hidden): the programs rules exec, as
// /proc/self/exe, instead of /bin/cat or /usr/bin/stat (harness/helper.cc).
int HelperMain(const std::vector<std::string>& args);
// `nsconform guest-init ...` (hidden): PID 1 of a matrix guest (harness/matrix/guest_init.cc).
int GuestInitMain(const std::vector<std::string>& args);
// `nsconform __runtime-probe ...` (hidden): the in-container side of runtime mode.
int RuntimeProbeMain(const std::vector<std::string>& args);

}  // namespace nsc
