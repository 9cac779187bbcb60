// Helpers shared by the mount-namespace cases (cases/mnt/*.cc): the scratch tree every case
// builds inside its own private mount namespace, a stack-buffer /proc/PID/mountinfo parser,
// and a two-way barrier between a body and one helper process.
//
// Never touch the host: every case first calls EnterScratch(), which leaves the harness's mount
// namespace (unshare(CLONE_NEWNS), then MS_REC|MS_PRIVATE on /) and mounts a tmpfs on /tmp in
// that private namespace. Everything else a case mounts lives inside that tmpfs, in namespaces
// the case created. Async-signal-safe: no allocation, stack buffers only.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "nsconform/case.h"
#include "../common/namespace_setup.h"

namespace nsc::cases::mnt {

// The scratch tmpfs (mounted over /tmp in the case's private mount namespace only).
inline constexpr const char* kScratch = "/tmp";

// ---------------------------------------------------------------------------------------------
// Environment refusals (SKIP, never FAIL)

// The set-up attribution helpers, shared by every group (cases/common/namespace_setup.h).
using ::nsc::cases::NamespaceSetupFailed;
using ::nsc::cases::RecordCloneForSetup;
using ::nsc::cases::SeccompFiltered;

// ---------------------------------------------------------------------------------------------
// Set-up

// Leaves the harness's mount namespace for a new, recursively private one, and mounts the
// scratch tmpfs (explicitly private: record list item 26, never rely on the host's default).
inline void EnterScratch(const Probe& p) {
  if (EnterPrivateMountNamespace() == -1) {
    NamespaceSetupFailed(p, errno,
                         "unshare(CLONE_NEWNS) and mount(MS_REC|MS_PRIVATE) on / for a private "
                         "mount namespace");
  }
  NSC_SETUP(p, mount("nsc-scratch", kScratch, "tmpfs", 0, "mode=0755,size=4m"),
            "mounting the scratch tmpfs on /tmp inside the private mount namespace");
  NSC_SETUP(p, mount(nullptr, kScratch, nullptr, MS_PRIVATE, nullptr),
            "making the scratch tmpfs private");
}

inline void MakeDir(const Probe& p, const char* path) {
  if (mkdir(path, 0755) == -1 && errno != EEXIST) p.SetupFailed("mkdir of a scratch directory");
}

inline void MakeFile(const Probe& p, const char* path) {
  int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd == -1) p.SetupFailed("creating a scratch file");
  close(fd);
}

// mkdir + a fresh tmpfs on it; then, if `propagation` is not 0, mount(NULL, path, NULL,
// propagation, NULL) (MS_SHARED, MS_PRIVATE, MS_SLAVE or MS_UNBINDABLE).
inline void MakeTmpfs(const Probe& p, const char* path, unsigned long propagation = 0) {
  MakeDir(p, path);
  NSC_SETUP(p, mount("nsc-scratch", path, "tmpfs", 0, "size=1m"), "mounting a scratch tmpfs");
  if (propagation != 0) {
    NSC_SETUP(p, mount(nullptr, path, nullptr, propagation, nullptr),
              "setting the propagation type of a scratch tmpfs");
  }
}

inline void SetPropagation(const Probe& p, const char* path, unsigned long propagation) {
  NSC_SETUP(p, mount(nullptr, path, nullptr, propagation, nullptr),
            "setting the propagation type of a scratch mount");
}

// unshare(CLONE_NEWUSER | CLONE_NEWNS) with root mapped to the caller: the new mount namespace is
// owned by a new user namespace, i.e. "less privileged" (mount_namespaces(7), Restrictions [1]).
// With `less_privileged` false (a control) only CLONE_NEWNS is unshared: same owner.
// An environment that forbids nested user namespaces makes the case skip.
inline void EnterInnerMountNamespace(const Probe& p, bool less_privileged) {
  if (!less_privileged) {
    NSC_SETUP(p, unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS) for the inner mount namespace");
    return;
  }
  if (EnterUserNamespace(CLONE_NEWNS) == -1) {
    if (SeccompFiltered() == 1) {
      p.Skip(ReasonCode::kBlockedBySeccomp,
             "a seccomp filter refuses the nested unshare(CLONE_NEWUSER|CLONE_NEWNS)");
    }
    if (errno == EPERM || errno == ENOSPC || errno == EUSERS) {
      p.Skip(ReasonCode::kDisabledBySysctl,
             "a nested unshare(CLONE_NEWUSER|CLONE_NEWNS) was refused by the environment");
    }
    p.SetupFailed("unshare(CLONE_NEWUSER|CLONE_NEWNS) and id maps for the inner namespaces");
  }
}

// ---------------------------------------------------------------------------------------------
// Two one-way barriers between the body and one helper child. Create before Spawn; each side
// calls BecomeParent()/BecomeChild() first so that a dead peer is seen as EOF, not a hang.
class TwoWay {
 public:
  bool ok() const { return down_.ok() && up_.ok(); }
  void BecomeParent() {
    down_.CloseReadEnd();
    up_.CloseWriteEnd();
  }
  void BecomeChild() {
    down_.CloseWriteEnd();
    up_.CloseReadEnd();
  }
  // For a grandchild that must not take part in the exchange.
  void CloseAll() {
    down_.CloseReadEnd();
    down_.CloseWriteEnd();
    up_.CloseReadEnd();
    up_.CloseWriteEnd();
  }
  void ToChild() { down_.Signal(); }
  bool FromParent() { return down_.Wait(); }
  void ToParent() { up_.Signal(); }
  bool FromChild() { return up_.Wait(); }

 private:
  Barrier down_, up_;
};

// The helper child ended before its next signal. If it exited 0 it recorded a skip (see
// EnterInnerMountNamespace) and the body ends too; otherwise set-up failed.
[[noreturn]] inline void HelperGone(const Probe& p, ChildProcess& child) {
  const int status = child.Wait();
  if (status != -1 && ExitedWith(status, 0)) _exit(0);
  p.SetupFailed("a helper process of the case ended before reaching its next step");
}

// Checks the Spawn result (call it right after Spawn: errno is still clone's) and switches the
// TwoWay to the parent side.
inline void StartedHelper(const Probe& p, ChildProcess& child, TwoWay& chan) {
  if (!child.ok()) NamespaceSetupFailed(p, errno, "clone of a helper process");
  chan.BecomeParent();
}

// A helper process in a second mount namespace B, cloned from the case's namespace A (or
// sharing A in a control). It runs `in_b` once, then stays there until Release().
class NamespaceB {
 public:
  NamespaceB(const Probe& p, unsigned long clone_flags, FunctionRef<void()> in_b) {
    if (!chan_.ok()) p.SetupFailed("pipe2 for barriers");
    child_ = Spawn(clone_flags, [&] {
      chan_.BecomeChild();
      in_b();
      chan_.ToParent();
      chan_.FromParent();
      return 0;
    });
    StartedHelper(p, child_, chan_);
    if (!chan_.FromChild()) HelperGone(p, child_);
  }
  pid_t pid() const { return child_.pid(); }
  PathBuf mountinfo() const;
  void Release() {
    chan_.ToChild();
    child_.Wait();
  }

 private:
  TwoWay chan_;
  ChildProcess child_;
};

// ---------------------------------------------------------------------------------------------
// /proc/PID/mountinfo, parsed in place.
//   id parent major:minor root mountpoint options [optional fields...] - fstype source superopts

// One parsed line. Peer-group IDs are only ever compared with each other (record list item 27).
struct MountLine {
  int64_t id = -1;
  int64_t parent = -1;
  const char* mountpoint = nullptr;
  size_t mountpoint_len = 0;
  int64_t shared = 0;          // shared:X, 0 when absent
  int64_t master = 0;          // master:X, 0 when absent
  int64_t propagate_from = 0;  // propagate_from:X, 0 when absent
  bool unbindable = false;
  int optional_fields = 0;     // number of tags between the options and " - "
};

namespace detail {

inline bool NextToken(const char** p, const char* end, const char** tok, size_t* len) {
  const char* s = *p;
  while (s < end && *s == ' ') ++s;
  if (s >= end) return false;
  const char* e = s;
  while (e < end && *e != ' ') ++e;
  *tok = s;
  *len = static_cast<size_t>(e - s);
  *p = e;
  return true;
}

inline bool TokenIs(const char* tok, size_t len, const char* s) {
  size_t i = 0;
  for (; i < len; ++i) {
    if (s[i] == '\0' || s[i] != tok[i]) return false;
  }
  return s[i] == '\0';
}

// If the token is "<prefix>N", stores N and returns true.
inline bool TokenNumber(const char* tok, size_t len, const char* prefix, int64_t* out) {
  size_t i = 0;
  for (; prefix[i] != '\0'; ++i) {
    if (i >= len || tok[i] != prefix[i]) return false;
  }
  if (i >= len) return false;
  int64_t v = 0;
  for (; i < len; ++i) {
    if (tok[i] < '0' || tok[i] > '9') return false;
    v = v * 10 + (tok[i] - '0');
  }
  *out = v;
  return true;
}

inline bool ParseLine(const char* begin, const char* end, MountLine* out) {
  *out = MountLine{};
  const char* p = begin;
  const char* tok;
  size_t len;
  if (!NextToken(&p, end, &tok, &len) || !TokenNumber(tok, len, "", &out->id)) return false;
  if (!NextToken(&p, end, &tok, &len) || !TokenNumber(tok, len, "", &out->parent)) return false;
  if (!NextToken(&p, end, &tok, &len)) return false;  // major:minor
  if (!NextToken(&p, end, &tok, &len)) return false;  // root
  if (!NextToken(&p, end, &tok, &len)) return false;  // mount point
  out->mountpoint = tok;
  out->mountpoint_len = len;
  if (!NextToken(&p, end, &tok, &len)) return false;  // per-mount options
  while (NextToken(&p, end, &tok, &len)) {
    if (TokenIs(tok, len, "-")) return true;
    ++out->optional_fields;
    int64_t v;
    if (TokenNumber(tok, len, "shared:", &v)) {
      out->shared = v;
    } else if (TokenNumber(tok, len, "master:", &v)) {
      out->master = v;
    } else if (TokenNumber(tok, len, "propagate_from:", &v)) {
      out->propagate_from = v;
    } else if (TokenIs(tok, len, "unbindable")) {
      out->unbindable = true;
    }
  }
  return false;  // no " - " separator
}

}  // namespace detail

// A snapshot of one mountinfo file in a 64 KiB buffer (keep it on the stack of a body only).
class Mountinfo {
 public:
  // Reads `path`; false (errno set) if unreadable or if it does not fit the buffer.
  bool Load(const char* path) {
    len_ = ReadSmallFile(path, buf_, sizeof buf_);
    if (len_ < 0) return false;
    if (static_cast<size_t>(len_) + 1 >= sizeof buf_) {
      errno = EFBIG;
      return false;
    }
    return true;
  }
  void LoadOrFail(const Probe& p, const char* path) {
    if (!Load(path)) p.SetupFailed("reading a mountinfo file");
  }

  // Calls fn(const MountLine&) for every well-formed line.
  template <typename F>
  void ForEach(F&& fn) const {
    const char* s = buf_;
    const char* end = buf_ + len_;
    while (s < end) {
      const char* e = s;
      while (e < end && *e != '\n') ++e;
      MountLine line;
      if (detail::ParseLine(s, e, &line)) fn(line);
      s = e + 1;
    }
  }

  // Mounts whose mount point is exactly `mountpoint`.
  int Count(const char* mountpoint) const {
    int n = 0;
    ForEach([&](const MountLine& l) {
      if (detail::TokenIs(l.mountpoint, l.mountpoint_len, mountpoint)) ++n;
    });
    return n;
  }

  // The last (topmost) mount at `mountpoint`; false if there is none.
  bool Find(const char* mountpoint, MountLine* out) const {
    bool found = false;
    ForEach([&](const MountLine& l) {
      if (detail::TokenIs(l.mountpoint, l.mountpoint_len, mountpoint)) {
        *out = l;
        found = true;
      }
    });
    return found;
  }

  // Does a line with this mount ID exist?
  bool HasId(int64_t id) const {
    bool found = false;
    ForEach([&](const MountLine& l) {
      if (l.id == id) found = true;
    });
    return found;
  }

  // Occurrences of a mount point given as (pointer, length), e.g. from another snapshot.
  int CountSpan(const char* mountpoint, size_t len) const {
    int n = 0;
    ForEach([&](const MountLine& l) {
      if (l.mountpoint_len != len) return;
      for (size_t i = 0; i < len; ++i) {
        if (l.mountpoint[i] != mountpoint[i]) return;
      }
      ++n;
    });
    return n;
  }

  int Lines() const {
    int n = 0;
    ForEach([&](const MountLine&) { ++n; });
    return n;
  }

 private:
  char buf_[64 * 1024];
  ssize_t len_ = 0;
};

// Number of mounts at `mountpoint` in the mountinfo file `mountinfo_path`.
inline int64_t MountsAt(const Probe& p, const char* mountinfo_path, const char* mountpoint) {
  Mountinfo mi;
  mi.LoadOrFail(p, mountinfo_path);
  return mi.Count(mountpoint);
}

// The topmost mount at `mountpoint` (none: MountLine{} with id -1). Its `mountpoint` pointer is
// cleared: the snapshot it pointed into is gone.
inline MountLine MountAt(const Probe& p, const char* mountinfo_path, const char* mountpoint) {
  Mountinfo mi;
  mi.LoadOrFail(p, mountinfo_path);
  MountLine line;
  if (!mi.Find(mountpoint, &line)) line = MountLine{};
  line.mountpoint = nullptr;
  line.mountpoint_len = 0;
  return line;
}

// "/proc/<pid>/mountinfo"
inline PathBuf MountinfoOf(pid_t pid) { return ProcPath(pid, "mountinfo"); }

inline constexpr const char* kSelfMountinfo = "/proc/self/mountinfo";

inline PathBuf NamespaceB::mountinfo() const { return MountinfoOf(child_.pid()); }

}  // namespace nsc::cases::mnt
