// nsconform: the entry point. Blocks the stop signals before anything else (cli/signals.h),
// dispatches to the command, and turns a usage error into exit 64 with one line.
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_policy.h"
#include "cli/signals.h"
#include "cli/write.h"
#include "subcommands.h"
#include "text.h"

namespace nsc {
namespace {

int Dispatch(const std::vector<std::string>& argv) {
  const std::string command = argv.size() > 1 ? argv[1] : "";
  const std::vector<std::string> rest(argv.begin() + std::min<size_t>(argv.size(), 2), argv.end());
  if (command == "matrix") {
    RestoreDefaultSignals();
    return MatrixMain(rest);
  }
  if (command == "runtime") {
    RestoreDefaultSignals();
    return RuntimeMain(rest);
  }
  if (command == "guest-init") {  // hidden: PID 1 of a matrix guest
    RestoreDefaultSignals();
    return GuestInitMain(rest);
  }
  if (command == "__runtime-probe") {  // hidden: the in-container side of runtime mode
    RestoreDefaultSignals();
    return RuntimeProbeMain(rest);
  }
  if (command == "__helper") {  // hidden: the programs rules exec, as /proc/self/exe
    RestoreDefaultSignals();
    return HelperMain(rest);
  }
  if (command == "convert" || command == "compare") {
    const int code = command == "convert" ? ConvertMain(rest) : CompareMain(rest);
    // Signals stayed blocked so that no output is left half-written; say that one came.
    return TakePendingStopSignal() != 0 ? kExitInterrupted : code;
  }
  return RunCommandMain(argv);
}

// One line, whatever the message holds.
void Fatal(std::string line) {
  std::replace(line.begin(), line.end(), '\n', ' ');
  WriteAll(STDERR_FILENO, "nsconform: " + SanitizeUtf8(line) + "\n");
}

}  // namespace
}  // namespace nsc

int main(int argc, char** argv) {
  nsc::BlockStopSignals();  // first: no stage of the process may die by a default action
  try {
    return nsc::Dispatch(std::vector<std::string>(argv, argv + argc));
  } catch (const nsc::UsageError& e) {
    nsc::Fatal(e.message);
    return nsc::kExitUsage;
  } catch (const std::exception& e) {
    nsc::Fatal(std::string("internal error: ") + e.what());
    return nsc::kExitSoftware;
  }
}
