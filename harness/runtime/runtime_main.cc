// `nsconform runtime`: placeholder until runtime mode lands.
#include "../subcommands.h"
#include "../text.h"

namespace nsc {
int RuntimeMain(const std::vector<std::string>&) { throw UsageError{"runtime: not built yet"}; }
}  // namespace nsc
