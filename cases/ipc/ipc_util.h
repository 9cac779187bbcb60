// Helpers shared by the IPC-namespace cases (cases/ipc/*.cc): a run-time guard that a process is
// in an IPC namespace the case created, raw POSIX message-queue calls, and /proc readers.
//
// Never touch the host: a case creates SysV or POSIX IPC objects only after
// RequireCaseIpcNs(start) said that the caller's IPC namespace differs from the one the body
// started in (the harness's). Controls keep to that too: they share one case-created namespace between two
// case processes instead of dropping CLONE_NEWIPC. Async-signal-safe: raw syscalls and stack
// buffers only.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "nsconform/case.h"
#include "../common/namespace_setup.h"

namespace nsc::cases::ipc {

// The set-up attribution helpers, shared by every group (cases/common/namespace_setup.h).
using ::nsc::cases::NamespaceSetupFailed;
using ::nsc::cases::RecordCloneForSetup;
using ::nsc::cases::SeccompFiltered;

// The SysV key the cases use. Any key will do: objects live only in case-created namespaces.
inline constexpr int kKey = 0x6e736331;  // "nsc1"

// Refuses (SetupFailed) to go on unless the caller is positively in another IPC namespace than
// `start` (NsFileIdOf("/proc/self/ns/ipc"), taken by the body before it created any namespace).
inline void RequireCaseIpcNs(const Probe& p, const NsFileId& start, const char* who) {
  if (!InOtherNamespace("/proc/self/ns/ipc", start)) {
    PathBuf why(who);
    why.Add(" is not in an IPC namespace the case created; refusing to create IPC objects");
    p.SetupFailed(why.c_str());
  }
}

// mq_open(3)/mq_unlink(3) as raw system calls. The kernel takes the name without the leading
// '/' that the library functions strip.
inline int MqOpen(const char* name, int flags, mode_t mode = 0600) {
  return static_cast<int>(syscall(SYS_mq_open, name, flags, mode, nullptr));
}
inline int MqUnlink(const char* name) { return static_cast<int>(syscall(SYS_mq_unlink, name)); }

// A queue name unique per run: "nsc-<tag>-<pid of the body>".
inline PathBuf QueueName(const char* tag, pid_t body) {
  PathBuf name("nsc-");
  name.Add(tag).Add("-").Add(body);
  return name;
}

// Reads a decimal integer from a one-value file such as /proc/sys/kernel/msgmax; -1 on error.
inline int64_t ReadNumberFile(const char* path) {
  char buf[64];
  if (ReadSmallFile(path, buf, sizeof buf) < 0) return -1;
  int64_t v = 0;
  const char* s = buf;
  while (*s == ' ' || *s == '\t') ++s;
  if (*s < '0' || *s > '9') return -1;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

// Writes `value` to the sysctl file `path` and records the result under `key` (a set-up step).
// A /proc/sys mounted read-only (containers: EROFS) or files this user namespace may not write
// (EACCES/EPERM: kernels before per-namespace ownership of the IPC sysctls) make the case SKIP.
inline void RecordSysctlWrite(const Probe& p, const char* key, const char* path, const char* value) {
  const int r = WriteSmallFile(path, value);
  const int err = errno;
  p.Call(key, r);
  if (r == -1 && err == EROFS) {
    p.Skip(ReasonCode::kPreconditionUnmet, "/proc/sys is mounted read-only here (EROFS)");
  }
  if (r == -1 && (err == EACCES || err == EPERM)) {
    p.Skip(ReasonCode::kInsufficientPrivilege,
           "this user namespace may not write the IPC sysctls of its own IPC namespace");
  }
}

// Number of entries (lines after the header) in a /proc/sysvipc/* table; -1 on error.
inline int64_t CountSysvipcEntries(const char* path) {
  char buf[8192];
  if (ReadSmallFile(path, buf, sizeof buf) < 0) return -1;
  int64_t lines = 0;
  for (const char* s = buf; *s != '\0'; ++s) {
    if (*s == '\n') ++lines;
  }
  return lines > 0 ? lines - 1 : 0;
}

}  // namespace nsc::cases::ipc
