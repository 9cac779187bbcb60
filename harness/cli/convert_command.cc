// nsconform convert REPORT.json --to=FORMAT [-o PATH]: re-render a saved report.
#include <iostream>

#include "../text.h"
#include "commands.h"
#include "exit_policy.h"
#include "report_files.h"
#include "report_input.h"

namespace nsc {

int ConvertMain(const std::vector<std::string>& args) {
  std::string in, to, out = "-";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.starts_with("--to=")) {
      to = a.substr(5);
    } else if (a == "--to" && i + 1 < args.size()) {
      to = args[++i];
    } else if ((a == "-o" || a == "--output") && i + 1 < args.size()) {
      out = args[++i];
    } else if (!a.starts_with("-") && in.empty()) {
      in = a;
    } else {
      throw UsageError{"convert: unexpected argument '" + a + "' (see nsconform --help)"};
    }
  }
  if (in.empty() || to.empty() || out.empty()) {
    throw UsageError{"usage: nsconform convert REPORT.json --to=junit|junit-strict|ktap|kcidb [-o PATH]"};
  }
  if (to != "junit" && to != "junit-strict" && to != "ktap" && to != "kcidb") {
    throw UsageError{"convert: unknown format '" + to + "' (junit, junit-strict, ktap, kcidb)"};
  }
  const nlohmann::json report = LoadReport(in);
  const std::string text = Render({out, to, "-o"}, report, JunitProfile::kCommon, false);
  if (std::string problem = CheckWritable(out, text.size()); !problem.empty()) {
    std::cerr << "nsconform: " << out << ": " << problem << "\n";
    return kExitSoftware;
  }
  if (std::string error = WriteAtomically(out, text); !error.empty()) {
    std::cerr << "nsconform: " << error << "\n";
    return kExitSoftware;
  }
  return kExitOk;
}

}  // namespace nsc
