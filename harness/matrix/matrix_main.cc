// `nsconform matrix`: placeholder until the kernel matrix lands.
#include "../subcommands.h"
#include "../text.h"

namespace nsc {
int MatrixMain(const std::vector<std::string>&) { throw UsageError{"matrix: not built yet"}; }
}  // namespace nsc
