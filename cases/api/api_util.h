// Small helpers shared by the namespace-API cases (cases/api/*.cc): namespace identity sets,
// nsfs/pidfd openers, a raw-clone helper thread and the user-namespace write guard of the limit
// cases. Async-signal-safe: raw syscalls, stack buffers and nsconform/child.h only.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases::api {

// The namespace types that every kernel since 3.8 shows in /proc/PID/ns/. Cases that compare
// "every other type" compare these and declare kBaseNsFlags in `.needs.namespaces`.
inline constexpr const char* kBaseNsTypes[] = {"ipc", "mnt", "net", "pid", "user", "uts"};
inline constexpr unsigned long kBaseNsFlags =
    CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWUTS;

// Records "<prefix>.<type>" = identity of /proc/self/ns/<type> for every base type.
inline void RecordBaseNsSet(const Probe& p, const char* prefix) {
  for (const char* type : kBaseNsTypes) {
    PathBuf key(prefix);
    key.Add(".").Add(type);
    PathBuf path("/proc/self/ns/");
    path.Add(type);
    p.NsId(key.c_str(), path.c_str());
  }
}

inline int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// A child cloned with `flags` that runs `setup` (which may call p.SetupFailed) and then waits
// until Release(); a member that keeps namespaces alive while the body looks at them. The
// constructor returns once `setup` is done; set-up failures end the body with SetupFailed.
class ParkedChild {
 public:
  ParkedChild(const Probe& p, unsigned long flags, FunctionRef<void()> setup) {
    Barrier ready, release;
    if (!ready.ok() || !release.ok()) p.SetupFailed("pipe2");
    child_ = Spawn(flags, [&] {
      ready.CloseReadEnd();
      release.CloseWriteEnd();
      setup();
      ready.Signal();
      release.Wait();
      return 0;
    });
    ready.CloseWriteEnd();
    release.CloseReadEnd();
    if (!child_.ok()) SetupStepRefused(p, "clone of a parked child", errno);
    if (!ready.Wait()) p.SetupFailed("a parked child died before it was ready");
    release_ = std::move(release);
  }
  pid_t pid() const { return child_.pid(); }
  // Lets the child exit and reaps it; returns the wait status.
  int Release() {
    release_.Signal();
    return child_.Wait();
  }

 private:
  Barrier release_;
  ChildProcess child_;
};

// 1 if /proc/self/uid_map is the initial user namespace's identity map "0 0 4294967295",
// 0 if it is another map, -1 if it cannot be read.
inline int UidMapIsIdentity() {
  char map[512];
  if (ReadSmallFile("/proc/self/uid_map", map, sizeof map) <= 0) return -1;
  int64_t fields[3] = {-1, -1, -1};
  int count = 0, lines = 0;
  for (const char* s = map; *s != '\0';) {
    if (*s == '\n') {
      ++lines;
      ++s;
      continue;
    }
    if (*s < '0' || *s > '9') {
      ++s;
      continue;
    }
    int64_t v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    if (count < 3) fields[count] = v;
    ++count;
  }
  return lines <= 1 && count == 3 && fields[0] == 0 && fields[1] == 0 && fields[2] == 4294967295LL
             ? 1
             : 0;
}

// Write guard for /proc/sys/user/max_*_namespaces (per user namespace): true only when the
// caller's /proc/self/uid_map is positively not the initial namespace's identity map and its
// user namespace differs from `start_user` (NsFileIdOf("/proc/self/ns/user"), taken by the body
// before it created any). Any failure to tell refuses.
inline bool InCaseCreatedUserNs(const NsFileId& start_user) {
  return InOtherNamespace("/proc/self/ns/user", start_user) && UidMapIsIdentity() == 0;
}

// Reads a decimal integer file such as /proc/sys/user/max_uts_namespaces; -1 on failure.
inline int64_t ReadIntFile(const char* path) {
  char buf[64];
  if (ReadSmallFile(path, buf, sizeof buf) <= 0) return -1;
  int64_t v = 0;
  const char* s = buf;
  if (*s < '0' || *s > '9') return -1;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

}  // namespace nsc::cases::api
