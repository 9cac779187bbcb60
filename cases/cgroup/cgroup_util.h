// Helpers shared by the cgroup-namespace cases (cases/cgroup/*.cc): /proc/PID/cgroup and
// /proc/PID/mountinfo parsers, the hierarchy (v2 or v1) a case works in, and the case's own
// child cgroup.
//
// Hosts differ: cgroup v2 only, v1 only, or hybrid (v1 controllers under /sys/fs/cgroup plus a
// v2 "0::" line, as on the reference machine). FindHierarchy() handles both kinds, preferring
// the unified (v2) hierarchy.
//
// Touching the host: a case that needs a child cgroup creates it under the case's own cgroup
// (CaseCgroup), moves only case processes into it, moves them back while they are alive and
// removes the directory before the body ends, in the rule and in the control. Nothing here ever
// mounts or remounts a cgroup hierarchy of the host. Async-signal-safe: raw syscalls and stack
// buffers only.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nsconform/case.h"

namespace nsc::cases::cgroup {

// ---------------------------------------------------------------------------------------------
// Small string helpers (no allocation)

inline void CopyString(char* dst, size_t cap, const char* src, size_t len) {
  if (cap == 0) return;
  if (len >= cap) len = cap - 1;
  std::memcpy(dst, src, len);
  dst[len] = '\0';
}

inline bool HasPrefix(const char* s, const char* prefix) {
  return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// True if comma-separated list `list` (of length len) contains token `tok` (of length tlen).
inline bool ListHas(const char* list, size_t len, const char* tok, size_t tlen) {
  size_t i = 0;
  while (i <= len) {
    size_t j = i;
    while (j < len && list[j] != ',') ++j;
    if (j - i == tlen && std::strncmp(list + i, tok, tlen) == 0) return true;
    i = j + 1;
  }
  return false;
}

// Calls fn(line, length) for every line of text; stops when fn returns true.
template <typename Fn>
bool ForEachLine(const char* text, Fn&& fn) {
  const char* line = text;
  while (*line != '\0') {
    const char* end = line;
    while (*end != '\0' && *end != '\n') ++end;
    if (fn(line, static_cast<size_t>(end - line))) return true;
    if (*end == '\0') break;
    line = end + 1;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/cgroup

// Finds the line "ID:CONTROLLERS:PATH" of a /proc/PID/cgroup text whose "ID:CONTROLLERS:" is
// `prefix` and copies its PATH. Returns false if there is no such line.
inline bool CgroupLinePath(const char* text, const char* prefix, char* path, size_t cap) {
  const size_t plen = std::strlen(prefix);
  return ForEachLine(text, [&](const char* line, size_t len) {
    if (len < plen || std::strncmp(line, prefix, plen) != 0) return false;
    CopyString(path, cap, line + plen, len - plen);
    return true;
  });
}

// The path of hierarchy `prefix` in /proc/<pid>/cgroup (pid 0: self). Returns 0, or -1 with
// errno (ENOENT: no such line).
inline int CgroupPathOf(pid_t pid, const char* prefix, char* path, size_t cap) {
  const PathBuf file = ProcPath(pid, "cgroup");
  char text[4096];
  if (ReadSmallFile(file.c_str(), text, sizeof text) < 0) return -1;
  if (!CgroupLinePath(text, prefix, path, cap)) {
    CopyString(path, cap, "(no line)", 9);
    errno = ENOENT;
    return -1;
  }
  return 0;
}

// Number of lines of /proc/self/cgroup, and how many of them have a path other than "/".
struct CgroupLineCount {
  int lines = 0;
  int not_root = 0;
};
inline int CountSelfCgroupLines(CgroupLineCount* out) {
  char text[4096];
  if (ReadSmallFile("/proc/self/cgroup", text, sizeof text) < 0) return -1;
  *out = {};
  ForEachLine(text, [&](const char* line, size_t len) {
    if (len == 0) return false;
    const char* first = static_cast<const char*>(std::memchr(line, ':', len));
    if (first == nullptr) return false;
    const char* second = static_cast<const char*>(
        std::memchr(first + 1, ':', len - static_cast<size_t>(first + 1 - line)));
    if (second == nullptr) return false;
    ++out->lines;
    const size_t plen = len - static_cast<size_t>(second + 1 - line);
    if (!(plen == 1 && second[1] == '/')) ++out->not_root;
    return false;
  });
  return 0;
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/mountinfo

// The fields of one mountinfo line that the cases use.
struct MountEntry {
  char root[256];
  char mountpoint[256];
  char fstype[32];
  char super_options[256];
};

// Parses "id parent maj:min root mountpoint options [optional...] - fstype source superopts".
inline bool ParseMountLine(const char* line, size_t len, MountEntry* e) {
  const char* fields[5];
  size_t lens[5];
  size_t i = 0;
  int n = 0;
  while (n < 5 && i < len) {
    while (i < len && line[i] == ' ') ++i;
    const size_t start = i;
    while (i < len && line[i] != ' ') ++i;
    fields[n] = line + start;
    lens[n] = i - start;
    ++n;
  }
  if (n < 5) return false;
  const char* dash = nullptr;
  for (size_t k = i; k + 2 < len; ++k) {
    if (line[k] == ' ' && line[k + 1] == '-' && line[k + 2] == ' ') {
      dash = line + k + 3;
      break;
    }
  }
  if (dash == nullptr) return false;
  const char* end = line + len;
  const char* fs_end = dash;
  while (fs_end < end && *fs_end != ' ') ++fs_end;
  const char* src = fs_end < end ? fs_end + 1 : end;
  const char* src_end = src;
  while (src_end < end && *src_end != ' ') ++src_end;
  const char* opts = src_end < end ? src_end + 1 : end;
  CopyString(e->root, sizeof e->root, fields[3], lens[3]);
  CopyString(e->mountpoint, sizeof e->mountpoint, fields[4], lens[4]);
  CopyString(e->fstype, sizeof e->fstype, dash, static_cast<size_t>(fs_end - dash));
  CopyString(e->super_options, sizeof e->super_options, opts, static_cast<size_t>(end - opts));
  return true;
}

// Calls fn(entry) for each line of /proc/self/mountinfo (in mount order); stops when fn
// returns true. Returns -1 if the file cannot be read.
template <typename Fn>
int ForEachMount(Fn&& fn) {
  static constexpr size_t kSize = 64 * 1024;
  char text[kSize];
  if (ReadSmallFile("/proc/self/mountinfo", text, kSize) < 0) return -1;
  ForEachLine(text, [&](const char* line, size_t len) {
    MountEntry e;
    if (!ParseMountLine(line, len, &e)) return false;
    return fn(static_cast<const MountEntry&>(e));
  });
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Hierarchies

struct Hierarchy {
  bool v2 = false;
  char prefix[128] = {};      // "0::" or e.g. "4:memory:" — the line in /proc/PID/cgroup
  char controllers[96] = {};  // "" for v2, e.g. "memory" or "name=systemd" for v1
  char mountpoint[256] = {};  // where the host mounted it, e.g. /sys/fs/cgroup/unified
  char own_path[256] = {};    // the caller's cgroup in it, from /proc/self/cgroup
  char own_dir[256] = {};     // that cgroup's directory: mountpoint + own_path - mount root
};

// Completes `h` (prefix and controllers set) with a mount of that hierarchy through which the
// caller's own cgroup is reachable. Returns false if there is none.
inline bool FindMountOf(Hierarchy* h) {
  const size_t clen = std::strlen(h->controllers);
  bool found = false;
  ForEachMount([&](const MountEntry& e) {
    if (h->v2) {
      if (std::strcmp(e.fstype, "cgroup2") != 0) return false;
    } else {
      if (std::strcmp(e.fstype, "cgroup") != 0) return false;
      // every controller (or name=) of the line must be a super option of the mount
      const size_t olen = std::strlen(e.super_options);
      size_t i = 0;
      while (i < clen) {
        size_t j = i;
        while (j < clen && h->controllers[j] != ',') ++j;
        if (!ListHas(e.super_options, olen, h->controllers + i, j - i)) return false;
        i = j + 1;
      }
    }
    // The caller's cgroup must lie below the mount's root.
    const char* rest = h->own_path;
    if (std::strcmp(e.root, "/") != 0) {
      if (!HasPrefix(h->own_path, e.root)) return false;
      rest = h->own_path + std::strlen(e.root);
      if (*rest != '\0' && *rest != '/') return false;
    }
    PathBuf dir(e.mountpoint);
    if (std::strcmp(rest, "/") != 0) dir.Add(rest);
    CopyString(h->mountpoint, sizeof h->mountpoint, e.mountpoint, std::strlen(e.mountpoint));
    CopyString(h->own_dir, sizeof h->own_dir, dir.c_str(), dir.size());
    found = true;
    return true;
  });
  return found;
}

// Calls fn(hierarchy) for each hierarchy of /proc/self/cgroup that is mounted and reachable,
// the unified (v2) one first; stops when fn returns true. Returns true if fn did.
template <typename Fn>
bool ForEachHierarchy(Fn&& fn) {
  char text[4096];
  if (ReadSmallFile("/proc/self/cgroup", text, sizeof text) < 0) return false;
  for (int pass = 0; pass < 2; ++pass) {
    const bool want_v2 = pass == 0;
    if (ForEachLine(text, [&](const char* line, size_t len) {
          const char* first = static_cast<const char*>(std::memchr(line, ':', len));
          if (first == nullptr) return false;
          const char* second = static_cast<const char*>(
              std::memchr(first + 1, ':', len - static_cast<size_t>(first + 1 - line)));
          if (second == nullptr) return false;
          const bool v2 = (first - line == 1 && line[0] == '0' && second == first + 1);
          if (v2 != want_v2) return false;
          Hierarchy h;
          h.v2 = v2;
          CopyString(h.prefix, sizeof h.prefix, line, static_cast<size_t>(second + 1 - line));
          CopyString(h.controllers, sizeof h.controllers, first + 1,
                     static_cast<size_t>(second - first - 1));
          CopyString(h.own_path, sizeof h.own_path, second + 1,
                     len - static_cast<size_t>(second + 1 - line));
          if (!FindMountOf(&h)) return false;
          return fn(static_cast<const Hierarchy&>(h));
        })) {
      return true;
    }
  }
  return false;
}

// The unified (v2) hierarchy if the host has it mounted (and the caller's cgroup is reachable).
inline bool FindV2Hierarchy(Hierarchy* out) {
  return ForEachHierarchy([&](const Hierarchy& h) {
    if (!h.v2) return false;
    *out = h;
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// The case's own child cgroup

// A child cgroup "<own cgroup>/<name>" (plus up to four sub-cgroups) of one hierarchy.
// Processes are moved in and back by writing their PIDs to cgroup.procs; Remove() deletes the
// directories. The destructor removes them too, so early returns do not leak a directory, but
// bodies should move their processes back (alive) and call Remove() themselves.
class CaseCgroup {
 public:
  CaseCgroup() = default;
  CaseCgroup(const CaseCgroup&) = delete;
  CaseCgroup& operator=(const CaseCgroup&) = delete;
  ~CaseCgroup() { Remove(); }

  // Creates the child in the first hierarchy where mkdir works: v2 first, then v1 ones
  // (except cpuset, whose cgroups need cpus and mems before they can hold a process).
  // Returns 0, or -1 with the errno of the last mkdir (or ENOENT if no hierarchy is mounted).
  int Create(const char* name, bool v2_only) {
    int last_errno = ENOENT;
    const bool ok = ForEachHierarchy([&](const Hierarchy& h) {
      if (v2_only && !h.v2) return false;
      if (!h.v2 && ListHas(h.controllers, std::strlen(h.controllers), "cpuset", 6)) return false;
      PathBuf dir(h.own_dir);
      dir.Add("/").Add(name);
      if (mkdir(dir.c_str(), 0755) == -1) {
        last_errno = errno;
        return false;
      }
      hierarchy_ = h;
      dir_ = dir;
      created_ = true;
      return true;
    });
    if (!ok) {
      errno = last_errno;
      return -1;
    }
    return 0;
  }

  bool created() const { return created_; }
  const Hierarchy& hierarchy() const { return hierarchy_; }
  const char* dir() const { return dir_.c_str(); }

  // mkdir <dir>/<sub>.
  int MakeSub(const char* sub) {
    if (!created_ || subs_ == kMaxSubs) {
      errno = EINVAL;
      return -1;
    }
    PathBuf path(dir_.c_str());
    path.Add("/").Add(sub);
    if (mkdir(path.c_str(), 0755) == -1) return -1;
    CopyString(sub_names_[subs_], sizeof sub_names_[subs_], sub, std::strlen(sub));
    ++subs_;
    return 0;
  }

  // The directory of the child (sub == nullptr) or of one of its sub-cgroups.
  PathBuf DirOf(const char* sub) const {
    PathBuf path(dir_.c_str());
    if (sub != nullptr) path.Add("/").Add(sub);
    return path;
  }

  // Moves process `pid` into the child (sub == nullptr) or into a sub-cgroup.
  int Move(pid_t pid, const char* sub = nullptr) const {
    PathBuf procs = DirOf(sub);
    procs.Add("/cgroup.procs");
    PathBuf value;
    value.Add(pid);
    return WriteSmallFile(procs.c_str(), value.c_str());
  }

  // Moves process `pid` back into the case's own cgroup.
  int MoveBack(pid_t pid) const {
    PathBuf procs(hierarchy_.own_dir);
    procs.Add("/cgroup.procs");
    PathBuf value;
    value.Add(pid);
    return WriteSmallFile(procs.c_str(), value.c_str());
  }

  // Removes the sub-cgroups and the child. A process that has just died may stay accounted to
  // its cgroup for a moment after it was reaped (EBUSY): the removal is retried a bounded number
  // of times. Returns 0, or -1 with errno if a directory is left.
  int Remove() {
    if (!created_) return 0;
    int result = 0;
    while (subs_ > 0) {
      --subs_;
      if (RemoveDir(DirOf(sub_names_[subs_]).c_str()) == -1) result = -1;
    }
    if (RemoveDir(dir_.c_str()) == -1) result = -1;
    created_ = false;
    return result;
  }

 private:
  static int RemoveDir(const char* path) {
    for (int attempt = 0; attempt < 10000; ++attempt) {
      if (rmdir(path) == 0 || errno == ENOENT) return 0;
      if (errno != EBUSY) return -1;
      sched_yield();  // cleanup only: a dying task is leaving the cgroup
    }
    return -1;
  }

  static constexpr int kMaxSubs = 4;
  Hierarchy hierarchy_;
  PathBuf dir_;
  char sub_names_[kMaxSubs][32] = {};
  int subs_ = 0;
  bool created_ = false;
};

// Removes the case's cgroup (and its sub-cgroups); ends the body with an ERROR naming `what`
// and the cgroup's directory if anything is left.
inline void RemoveOrFail(const Probe& p, CaseCgroup& cg,
                         const char* what = "removing the case's child cgroup ") {
  PathBuf dir(cg.dir());
  if (cg.Remove() == -1) {
    PathBuf why(what);
    why.Add(dir.c_str());
    p.SetupFailed(why.c_str());
  }
}

// A unique name for a case's child cgroup: "nsc-<tag>-<pid of the body>-<random>". The PID
// alone is not unique: other runs (in other PID namespaces) may be creating cgroups beside ours,
// and a cgroup someone else made must never be mistaken for (or removed as) the case's own.
inline PathBuf CaseCgroupName(const char* tag) {
  uint32_t nonce = 0;
  if (syscall(SYS_getrandom, &nonce, sizeof nonce, 0) != sizeof nonce) nonce = 0;
  PathBuf name("nsc-");
  name.Add(tag).Add("-").Add(RawGetpid()).Add("-").Add(static_cast<int64_t>(nonce));
  return name;
}

}  // namespace nsc::cases::cgroup
