// Two facts about the platform that rules silently rely on: namespace identity is stable
// (the same nsfs file stats the same twice; NS_GET_ID agrees where the kernel has it), and
// whether /proc/sys is writable here (see environment.h).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "environment.h"
#include "text.h"

#ifndef NS_GET_ID
#define NS_GET_ID _IOR(NSIO, 0xd, uint64_t)  // Linux 6.18: a namespace's unique 64-bit id
#endif

namespace nsc {
namespace {

using nlohmann::json;

struct Identity {
  bool ok = false;
  dev_t dev = 0;
  ino_t ino = 0;
  int id_errno = -1;  // errno of NS_GET_ID, 0 when it answered
  uint64_t id = 0;
};

Identity IdentityOf(const std::string& path) {
  Identity out;
  UniqueFd fd = OpenFile(path.c_str(), O_RDONLY);
  struct stat st{};
  if (!fd.valid() || fstat(fd.get(), &st) != 0) return out;
  out.ok = true;
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.id_errno = ioctl(fd.get(), NS_GET_ID, &out.id) == 0 ? 0 : errno;
  return out;
}

}  // namespace

void ProbeNsIdentity(Environment& env) {
  std::string problem;
  bool ns_get_id = false;
  std::map<std::pair<dev_t, ino_t>, std::string> seen;
  for (const std::string& type : env.ns_entries) {
    if (type.ends_with("_for_children")) continue;  // same namespace as its base type here
    const std::string path = "/proc/self/ns/" + type;
    Identity a = IdentityOf(path);
    Identity b = IdentityOf(path);
    if (!a.ok || !b.ok) {
      problem = "cannot stat " + path;
      break;
    }
    if (a.dev != b.dev || a.ino != b.ino) {
      problem = "two stat(2) calls of " + path + " gave different (st_dev, st_ino)";
      break;
    }
    if (a.id_errno == 0 && b.id_errno == 0) {
      ns_get_id = true;
      if (a.id != b.id) {
        problem = "NS_GET_ID of " + path + " changed between two calls";
        break;
      }
    }
    auto [it, fresh] = seen.emplace(std::make_pair(a.dev, a.ino), type);
    if (!fresh) {
      problem = "/proc/self/ns/" + it->second + " and " + path + " have the same (st_dev, st_ino)";
      break;
    }
  }
  env.ns_identity_stable = problem.empty();
  env.ns_identity_why = problem;
  json out = {{"stable", env.ns_identity_stable}, {"ns_get_id", ns_get_id}};
  if (!problem.empty()) out["why"] = problem;
  env.exec["ns_identity"] = out;
}

void ProbeProcSys(Environment& env) {
  struct statvfs vfs{};
  const bool known = statvfs("/proc/sys/kernel", &vfs) == 0;
  env.proc_sys_read_only = known && (vfs.f_flag & ST_RDONLY) != 0;
  env.exec["proc_sys"] = !known ? "absent" : env.proc_sys_read_only ? "read-only" : "read-write";
}

}  // namespace nsc
