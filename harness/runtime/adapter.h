// One adapter per runtime: it owns the runtime's configuration (an OCI config.json, a bwrap
// or unshare command line), derives the one expectation model from it, plants a single
// misconfiguration for a control, and says how to start the runtime around the probe.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "expectation.h"
#include "probe_protocol.h"

namespace nsc::runtime {

namespace fs = std::filesystem;

// One container run's private directory: rootfs, bundle, state; removed afterwards.
struct Workspace {
  fs::path dir;
  fs::path rootfs;     // holds only the probe at kProbeInContainer and empty mount points
  std::string token;   // unique per container, in the probe's argv
  std::string id;      // container name for runtimes that want one ("nsconform-<token>")
};

// How to start the runtime. The launcher wraps the exec in a private mount namespace when
// asked (root only): the rootfs becomes a shared mount there, so the container's root
// propagation can be observed by behaviour; `blank_file` (crun on hybrid cgroups, see
// shared/guide/runtimes.md) gets /dev/null bind-mounted over it.
struct Launch {
  std::vector<std::string> argv;  // argv[0] is an absolute path
  bool private_mount_ns = false;
  std::string blank_file;
};

struct AdapterOptions {
  std::string runtime_path;  // --runtime-path: the binary (or an OCI shim) to run
  std::string bundle;        // --bundle: an OCI bundle whose config.json is the configuration
  std::vector<std::string> extra;  // arguments after "--"
  bool rootless = false;     // the harness is not root
  bool add_userns = false;   // OCI, generated spec as root: add a user namespace (0 -> 100000)
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::unique_ptr<Adapter> Clone() const = 0;
  virtual std::string Name() const = 0;
  // Why the runtime cannot run here (missing binary, no user namespaces, ...), or "".
  virtual std::string Unavailable() const = 0;
  virtual std::string Version() const = 0;
  // Where each property's expectation comes from: the document (OCI runtime-spec, the
  // runtime's manual page) and, per property, its section or option.
  virtual std::string SourceDoc() const = 0;
  virtual std::string SourceOf(const std::string& property) const = 0;
  virtual Expectation Expect() const = 0;
  // Changes the configuration the runtime will get so that `property` no longer holds as
  // configured; the expectation of a control stays the original one. Returns what was done,
  // or throws PlantRefused when the runtime has no such setting to remove.
  virtual std::string Plant(const std::string& property) = 0;
  // Writes what the launch needs under ws.dir and returns the command line.
  virtual Launch Prepare(const Workspace& ws, const ProbeRequest& probe) = 0;
  // After the run: removes whatever the runtime may have kept (a state entry, ...) and
  // returns what it found still there, for runtime.lifecycle.nothing_left.
  virtual std::vector<std::string> Teardown(const Workspace& ws) = 0;
  // The configuration in the report's runtime section.
  virtual nlohmann::json Describe() const = 0;
};

struct PlantRefused {
  std::string why;
};

// "runc", "crun", "bwrap", "unshare"; throws UsageError for other names.
std::unique_ptr<Adapter> MakeAdapter(const std::string& name, const AdapterOptions& options);
const std::vector<std::string>& AdapterNames();

// Helpers shared by adapters.
std::string FindInPath(const std::string& name);  // "" when not found
std::string FirstLineOf(const std::vector<std::string>& argv);  // e.g. `runc --version`

}  // namespace nsc::runtime
