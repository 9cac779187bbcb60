// Starts one container through its runtime (Boost.Process), receives the probe's report,
// looks at the held container from outside, releases it, and checks what is left afterwards.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapter.h"

namespace nsc::runtime {

struct ContainerRun {
  bool reported = false;   // the probe's JSON line arrived
  bool timed_out = false;
  std::string failure;     // why there is no report: the runtime's exit and stderr tail
  int runtime_exit = -1;   // exit code, 128 + signal, -1 unknown
  nlohmann::json inside = nlohmann::json::object();   // the probe's line (+ "recheck")
  nlohmann::json outside = nlohmann::json::object();  // the harness's view while it was held
  std::vector<std::string> leftovers;  // processes, mounts, cgroups, state after the run
  std::string stderr_tail;
  double seconds = 0;
  nlohmann::json argv = nlohmann::json::array();
};

struct LaunchSettings {
  fs::path work_dir;      // workspaces are created under it
  fs::path rootfs;        // the shared minimal root file system
  double timeout_s = 20;  // for the whole container life
};

// Builds the minimal root file system: the probe binary (hard link, else copy) at
// kProbeInContainer and the empty mount points every runtime expects. Throws on failure.
void BuildRootfs(const fs::path& rootfs, const fs::path& probe_binary);

ContainerRun RunContainer(Adapter& adapter, const ProbeRequest& request,
                          const LaunchSettings& settings);

}  // namespace nsc::runtime
