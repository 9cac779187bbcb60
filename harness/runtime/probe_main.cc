// `nsconform-static __runtime-probe`: the hidden in-container side of runtime mode.
//
// Runs as the container's process, reports what it sees as ONE JSON line on stdout (the only
// channel every runtime passes through unchanged, and one that works with a read-only root),
// then, with --hold, blocks until stdin reaches EOF so that the harness can inspect it from
// outside (/proc/PID/ns/*, uid_map) while it is alive. It only reports facts: every verdict is
// made by the harness. Nothing here assumes anything of the root file system: a missing /proc
// gives per-field errors, never a failure.
//
// Flow:
//   1. Identity: pid, ppid, ids, groups, uname, /proc/self/ns/* (stat: dev + ino).
//   2. /proc view: readlink /proc/self, number of processes listed.
//   3. User ns maps, setgroups; /proc/self/status capability sets, NoNewPrivs, Seccomp.
//   4. Root mount: propagation tags of "/" in mountinfo, read-only flag, a write attempt.
//   5. Requested paths (--masked/--readonly), sysctls (--sysctl), timens offsets, clocks,
//      /proc/self/cgroup.
//   6. Print the line; with --hold wait for EOF on stdin.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../subcommands.h"
#include "../text.h"
#include "nsconform/expect.h"
#include "probe_protocol.h"

namespace nsc {
namespace {

using nlohmann::json;

// The file's content, or {"errno": NAME} when it cannot be read.
json FileOrErrno(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {{"errno", ErrnoName(errno)}};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  int err = errno;
  close(fd);
  if (n < 0) return {{"errno", ErrnoName(err)}};
  return out;
}

json NsIdentityAt(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {{"errno", ErrnoName(errno)}};
  return {{"dev", static_cast<uint64_t>(st.st_dev)}, {"ino", static_cast<uint64_t>(st.st_ino)}};
}

json ProcView() {
  json v;
  char link[64] = {};
  ssize_t n = readlink("/proc/self", link, sizeof link - 1);
  if (n < 0) {
    v["self"] = {{"errno", ErrnoName(errno)}};
  } else {
    v["self"] = std::string(link, static_cast<size_t>(n));
  }
  DIR* d = opendir("/proc");
  if (d == nullptr) {
    v["visible"] = {{"errno", ErrnoName(errno)}};
    return v;
  }
  int count = 0;
  while (dirent* e = readdir(d)) {
    count += std::isdigit(static_cast<unsigned char>(e->d_name[0])) ? 1 : 0;
  }
  closedir(d);
  v["visible"] = count;
  return v;
}

// The optional fields (shared:N, master:N, propagate_from:N, unbindable) of the mount at "/".
json RootPropagation() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return {{"errno", ErrnoName(errno)}};
  std::string line, tags = "?";
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, point, opts, field;
    f >> id >> parent >> devno >> root >> point >> opts;
    if (point != "/") continue;
    tags.clear();  // the last "/" entry is the one on top
    while (f >> field && field != "-") tags += (tags.empty() ? "" : " ") + field;
  }
  return tags;
}

json RootWritability() {
  json r;
  struct statvfs sv;
  if (statvfs("/", &sv) == 0) {
    r["statvfs_readonly"] = (sv.f_flag & ST_RDONLY) != 0;
  } else {
    r["statvfs_readonly"] = {{"errno", ErrnoName(errno)}};
  }
  const char* probe = "/.nsconform-write-probe";
  int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    unlink(probe);
    r["create_file"] = "ok";
  } else {
    r["create_file"] = ErrnoName(errno);
  }
  return r;
}

json PathFacts(const std::string& path) {
  json p;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    p["errno"] = ErrnoName(errno);
    return p;
  }
  if (S_ISCHR(st.st_mode)) {
    p["type"] = "chr " + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  } else if (S_ISDIR(st.st_mode)) {
    p["type"] = "dir";
    DIR* d = opendir(path.c_str());
    if (d != nullptr) {
      int entries = 0;
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        entries += (n != "." && n != "..") ? 1 : 0;
      }
      closedir(d);
      p["entries"] = entries;
    } else {
      p["entries"] = {{"errno", ErrnoName(errno)}};
    }
  } else if (S_ISREG(st.st_mode)) {
    p["type"] = "reg";
  } else {
    p["type"] = "other";
  }
  struct statvfs sv;
  if (statvfs(path.c_str(), &sv) == 0) p["readonly"] = (sv.f_flag & ST_RDONLY) != 0;
  return p;
}

json Clocks() {
  json c;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  c["monotonic_s"] = static_cast<int64_t>(ts.tv_sec);
  clock_gettime(CLOCK_BOOTTIME, &ts);
  c["boottime_s"] = static_cast<int64_t>(ts.tv_sec);
  return c;
}

}  // namespace

int RuntimeProbeMain(const std::vector<std::string>& args) {
  bool hold = false;
  std::vector<std::string> masked, readonly, sysctls;
  for (const auto& a : args) {
    if (a == "--hold") {
      hold = true;
    } else if (a.starts_with("--token=")) {
      // Only there to be found in /proc/PID/cmdline by the harness.
    } else if (a.starts_with("--masked=")) {
      masked.push_back(a.substr(9));
    } else if (a.starts_with("--readonly=")) {
      readonly.push_back(a.substr(11));
    } else if (a.starts_with("--sysctl=")) {
      sysctls.push_back(a.substr(9));
    } else {
      throw UsageError{std::string(runtime::kProbeCommand) + ": unknown option '" + a + "'"};
    }
  }

  json r;
  r["schema"] = runtime::kProbeSchema;
  r["pid"] = getpid();
  r["ppid"] = getppid();
  r["uid"] = getuid();
  r["euid"] = geteuid();
  r["gid"] = getgid();
  r["egid"] = getegid();
  gid_t groups[256];
  int ngroups = getgroups(256, groups);
  r["groups"] = json::array();
  for (int i = 0; i < ngroups; ++i) r["groups"].push_back(groups[i]);
  utsname u{};
  uname(&u);
  r["nodename"] = u.nodename;
  r["domainname"] = u.domainname;
  for (const char* t : {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
                        "time_for_children", "user", "uts"}) {
    r["ns"][t] = NsIdentityAt(std::string("/proc/self/ns/") + t);
  }
  r["proc"] = ProcView();
  r["uid_map"] = FileOrErrno("/proc/self/uid_map");
  r["gid_map"] = FileOrErrno("/proc/self/gid_map");
  r["setgroups"] = FileOrErrno("/proc/self/setgroups");
  r["status"] = FileOrErrno("/proc/self/status");
  r["root"] = RootWritability();
  r["root"]["propagation"] = RootPropagation();
  for (const auto& p : masked) r["paths"][p] = PathFacts(p);
  for (const auto& p : readonly) r["paths"][p] = PathFacts(p);
  for (const auto& k : sysctls) {
    std::string file = "/proc/sys/" + k;
    for (size_t i = 10; i < file.size(); ++i) file[i] = file[i] == '.' ? '/' : file[i];
    json v = FileOrErrno(file);
    r["sysctl"][k] = v.is_string() ? json(Trim(v.get<std::string>())) : v;
  }
  r["timens_offsets"] = FileOrErrno("/proc/self/timens_offsets");
  r["clock"] = Clocks();
  r["cgroup"] = FileOrErrno("/proc/self/cgroup");

  std::cout << r.dump() << "\n" << std::flush;
  if (hold) {
    // Held until EOF. A "recheck" line asks whether /mnt became a mount point since: the
    // harness mounted a tmpfs on it outside, and only propagation can bring it in here.
    std::string pending;
    char buf[256];
    while (true) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
        if (pending.substr(0, nl) != "recheck") continue;
        struct stat root_st, mnt_st;
        json again = {{"schema", runtime::kProbeSchema}};
        if (stat("/", &root_st) == 0 && stat("/mnt", &mnt_st) == 0) {
          again["recheck"]["mnt_is_mountpoint"] = root_st.st_dev != mnt_st.st_dev;
        } else {
          again["recheck"]["errno"] = ErrnoName(errno);
        }
        std::cout << again.dump() << "\n" << std::flush;
      }
    }
  }
  return 0;
}

}  // namespace nsc
