// The adapter registry and the helpers adapters share.
#include <unistd.h>

#include <cstdlib>

#include <boost/process.hpp>

#include "../text.h"
#include "adapter.h"

namespace nsc::runtime {

namespace bp = boost::process;

std::unique_ptr<Adapter> MakeOciAdapter(const std::string& name, const AdapterOptions& o);
std::unique_ptr<Adapter> MakeBwrapAdapter(const AdapterOptions& o);
std::unique_ptr<Adapter> MakeUnshareAdapter(const AdapterOptions& o);

const std::vector<std::string>& AdapterNames() {
  static const std::vector<std::string> names = {"runc", "crun", "bwrap", "unshare"};
  return names;
}

std::unique_ptr<Adapter> MakeAdapter(const std::string& name, const AdapterOptions& o) {
  if (name == "runc" || name == "crun") return MakeOciAdapter(name, o);
  if (!o.bundle.empty()) throw UsageError{"--bundle is for the OCI adapters (runc, crun), not " + name};
  if (name == "bwrap") return MakeBwrapAdapter(o);
  if (name == "unshare") return MakeUnshareAdapter(o);
  throw UsageError{"unknown runtime adapter '" + name + "' (runc, crun, bwrap, unshare)"};
}

std::string FindInPath(const std::string& name) {
  // $PATH first, then the sbin directories a non-login root shell may lack (runc is in /usr/sbin).
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string FirstLineOf(const std::vector<std::string>& argv) {
  bp::ipstream out;
  std::error_code ec;
  bp::child c(bp::exe = argv[0], bp::args = std::vector<std::string>(argv.begin() + 1, argv.end()),
              bp::std_in < bp::null, bp::std_out > out, bp::std_err > bp::null, ec);
  if (ec) return "unknown";
  std::string line, first;
  while (std::getline(out, line)) {
    if (first.empty()) first = Trim(line);
  }
  c.wait();
  return first.empty() ? "unknown" : first;
}

}  // namespace nsc::runtime
