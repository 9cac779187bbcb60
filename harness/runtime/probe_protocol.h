// What the harness and the in-container probe agree on: the hidden subcommand's name, the
// schema tag of its one JSON line, and how the probe's command line is built.
#pragma once

#include <string>
#include <vector>

namespace nsc::runtime {

inline constexpr const char* kProbeCommand = "__runtime-probe";
inline constexpr const char* kProbeSchema = "nsconform-runtime-probe/1";
// Where the probe binary lives inside the container's root file system.
inline constexpr const char* kProbeInContainer = "/nsconform-probe";

// argv of the probe as the container must run it.
struct ProbeRequest {
  std::string token;  // also found in /proc/PID/cmdline by the harness
  std::vector<std::string> masked, readonly, sysctls;
};

inline std::vector<std::string> ProbeArgv(const ProbeRequest& r) {
  std::vector<std::string> argv = {kProbeInContainer, kProbeCommand, "--token=" + r.token, "--hold"};
  for (const auto& p : r.masked) argv.push_back("--masked=" + p);
  for (const auto& p : r.readonly) argv.push_back("--readonly=" + p);
  for (const auto& k : r.sysctls) argv.push_back("--sysctl=" + k);
  return argv;
}

}  // namespace nsc::runtime
