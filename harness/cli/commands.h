// The commands of the nsconform binary, each in its own file. Each takes the arguments after
// its name and returns the process exit code (exit_policy.h); usage errors throw UsageError.
// `matrix` and `runtime` live in their own directories (subcommands.h).
#pragma once

#include <string>
#include <vector>

namespace nsc {

// `nsconform [OPTIONS]`: --help, --version, --list, --explain, or a run. `argv` is the whole
// command line (argv[0] included: it goes into the report).
int RunCommandMain(const std::vector<std::string>& argv);
// `nsconform convert REPORT.json --to=FORMAT [-o PATH]`.
int ConvertMain(const std::vector<std::string>& args);
// `nsconform compare BEFORE.json AFTER.json`.
int CompareMain(const std::vector<std::string>& args);

}  // namespace nsc
