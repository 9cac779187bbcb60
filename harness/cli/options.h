// The options of a run (`nsconform [OPTIONS]`): parsed, range-checked and validated at parse
// time, so that a bad command line is exit 64 with one line before anything is probed or run.
#pragma once

#include <string>
#include <vector>

#include "../report.h"

namespace nsc {

struct Options {
  bool help = false;
  bool version = false;
  bool list = false;
  bool list_json = false;
  std::string explain;
  std::vector<std::string> include, exclude, namespaces;
  bool allow_empty = false;
  int jobs = 0;  // 0 = number of CPUs
  double timeout_multiplier = 1.0;
  double max_runtime_s = 0;  // 0 = unlimited
  bool control = false;
  bool force_userns = false;
  bool quiet = false;
  std::string report_dir = "reports";
  bool default_reports = true;
  std::string json_path, junit_path, ktap_path, kcidb_path;
  JunitProfile junit_profile = JunitProfile::kCommon;
  bool ktap_nested = false;
  bool stable = false;
  bool redact = false;
  bool no_error_on_fail = false;
};

// Accepted ranges (inclusive), named in the usage errors.
inline constexpr int kMaxJobs = 1024;
inline constexpr double kMinTimeoutMultiplier = 0.01;
inline constexpr double kMaxTimeoutMultiplier = 1000;
inline constexpr double kMinMaxRuntime = 0.001;
inline constexpr double kMaxMaxRuntime = 30 * 24 * 3600;  // 30 days

// Parses the arguments after the program name. `nstype_names` are the namespace groups that
// --namespace accepts (the catalogue's groups and the namespace types). Throws UsageError.
// Reads NSCONFORM_TIMEOUT_MUL from the environment (the flag wins).
Options ParseOptions(const std::vector<std::string>& args,
                     const std::vector<std::string>& known_namespaces);

// A real number in [min, max] (finite), or UsageError naming `what` and the range.
double ParseReal(const std::string& what, const std::string& value, double min, double max);
// An integer in [min, max], or UsageError naming `what` and the range.
long ParseInteger(const std::string& what, const std::string& value, long min, long max);

}  // namespace nsc
