// Async-signal-safe building blocks for case bodies: processes, barriers, /proc readers,
// capabilities, id maps and mounts. Safe to use after fork/clone: no allocation, no locks.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "nsconform/probe.h"

namespace nsc {

// A non-owning, non-allocating callable reference (usable after fork, unlike std::function).
template <typename Signature>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
             !std::is_function_v<std::remove_reference_t<F>>)
  FunctionRef(F&& f)  // NOLINT: implicit by design, like std::function_ref
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
        }) {}
  // A plain function: FunctionRef<int()> f = MyFunction;
  FunctionRef(R (*fn)(Args...))  // NOLINT
      : object_(reinterpret_cast<void*>(fn)),
        call_([](void* o, Args... args) -> R {
          return reinterpret_cast<R (*)(Args...)>(o)(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

// ---------------------------------------------------------------------------------------------
// File descriptors

// Move-only owner of an fd. Closing preserves errno, so it never hides the error being reported.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  bool operator!() const = delete;  // write `!fd.valid()`; `!fd` is ambiguous for fd 0
  [[nodiscard]] int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC; invalid UniqueFd with errno set on failure.
UniqueFd OpenFile(const char* path, int flags);

// A one-direction event channel between processes of a case (a pipe): one side Signal()s or
// Send()s, the other Wait()s or Receive()s — as many times as needed. Create it before
// forking; each side closes the end it does not use. Closing the write end is an EOF that
// wakes a waiter with false — but only once every process holding that end has closed it, so
// to release several children prefer one Signal() per child.
class Barrier {
 public:
  Barrier();  // SetupFailed is the caller's job: check ok()
  bool ok() const { return read_.valid() && write_.valid(); }
  // Writer side.
  void Signal(char byte = 1);
  // Reader side: blocks until Signal() (true) or until every writer has gone (false).
  bool Wait(char* byte = nullptr);
  // Sends/receives a 64-bit integer (a PID, a count...). Receive returns false on EOF.
  void Send(int64_t value);
  bool Receive(int64_t* value);
  void CloseReadEnd() { read_.Reset(); }
  void CloseWriteEnd() { write_.Reset(); }
  int read_fd() const { return read_.get(); }
  int write_fd() const { return write_.get(); }

 private:
  UniqueFd read_, write_;
};

// ---------------------------------------------------------------------------------------------
// Processes

// Raw clone(2) with fork semantics (no CLONE_VM, no new stack): returns 0 in the child, the
// child's PID in the parent, -1 with errno on failure. SIGCHLD is added as the exit signal.
pid_t CloneProcess(unsigned long flags);

// A child process of the calling process. The destructor SIGKILLs and reaps it unless it was
// waited for or released, so an early return can never leak a process.
class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(ChildProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { KillAndReap(); }

  bool ok() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // waitpid(pid, &status, options); returns the wait status, or -1 with errno.
  // After a terminal status (exit/signal) the process is no longer owned.
  int Wait(int options = 0);
  void KillAndReap();
  [[nodiscard]] pid_t Release() { return std::exchange(pid_, -1); }

 private:
  pid_t pid_ = -1;
};

// Clones a child with `flags` that runs `fn` and _exit()s with its return value. `fn` never
// returns into the caller's code. On failure the returned ChildProcess is !ok() and errno is set.
ChildProcess Spawn(unsigned long flags, FunctionRef<int()> fn);

// Makes the caller multithreaded without pthreads (several rules are about multithreaded
// callers): a raw clone(2) thread with CLONE_VM|CLONE_THREAD|CLONE_SIGHAND plus `extra_flags`
// (e.g. CLONE_FS|CLONE_FILES), on an mmap'ed stack. It blocks reading `read_fd` and exits when a
// byte arrives or every writer has gone; with read_fd < 0 it parks in pause(2). Either way it
// dies with the process. It has no TLS of its own and makes raw syscalls only.
// Returns the thread's TID, or -1 with errno.
long StartBlockedThread(unsigned long extra_flags, int read_fd = -1);

// syscall(SYS_getpid): never a cached value after raw clone.
pid_t RawGetpid();

// Status helpers, e.g. p.Value("init.exit", ExitCodeOf(status)).
inline bool ExitedWith(int status, int code) { return (status & 0x7f) == 0 && ((status >> 8) & 0xff) == code; }
int64_t TermSignalOf(int status);  // signal number if killed, else 0

// ---------------------------------------------------------------------------------------------
// /proc readers (stack buffers only)

// Reads up to size-1 bytes of a file into buf and NUL-terminates; returns bytes or -1/errno.
ssize_t ReadSmallFile(const char* path, char* buf, size_t size);
// Writes a whole string to a file (e.g. "/proc/self/uid_map"); returns 0 or -1/errno.
int WriteSmallFile(const char* path, const char* text);
// Parses a whitespace-separated numeric line "Name:\t1 2 3" from /proc/<pid>/status.
// pid 0 means "self". Returns the number of values stored (up to max), or -1/errno.
int ReadStatusIds(pid_t pid, const char* field, int64_t* values, int max);
// The parent PID field (4th field) of /proc/<pid>/stat, or -1.
pid_t ReadPpid(pid_t pid);
// The state letter (3rd field) of /proc/<pid>/stat, or 0 if unreadable.
char ReadProcState(pid_t pid);

// ---------------------------------------------------------------------------------------------
// Namespace identity and the host guard

// Identity of a namespace file: (st_dev, st_ino) of e.g. /proc/self/ns/net, from stat(2).
struct NsFileId {
  bool known = false;  // stat succeeded
  int64_t dev = 0;
  int64_t ino = 0;
  // Same namespace, positively known: false when either side could not be identified.
  bool SameAs(const NsFileId& o) const { return known && o.known && dev == o.dev && ino == o.ino; }
  // Different namespace, positively known: false when either side could not be identified.
  bool DiffersFrom(const NsFileId& o) const { return known && o.known && !SameAs(o); }
};
NsFileId NsFileIdOf(const char* path);
NsFileId NsFileIdOfFd(int fd);

// The guard before anything that would change the host if the caller were still in the
// harness's namespace (sethostname, creating IPC objects or links, writing per-namespace
// sysctls...): true only if `ns_path` (e.g. "/proc/self/ns/uts") now names a namespace
// positively different from `start`, which the body took with NsFileIdOf before creating any
// namespace. Any doubt answers false.
bool InOtherNamespace(const char* ns_path, const NsFileId& start);

// ---------------------------------------------------------------------------------------------
// A small fixed-capacity string builder: PathBuf p("/proc/"); p.Add(pid).Add("/ns/pid");
class PathBuf {
 public:
  PathBuf() { buf_[0] = 0; }
  explicit PathBuf(const char* s) { buf_[0] = 0; Add(s); }
  PathBuf& Add(const char* s);
  PathBuf& Add(int64_t v);
  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }

 private:
  char buf_[256];
  size_t len_ = 0;
};

// "/proc/<pid>/<file>", with pid 0 meaning "self": ProcPath(0, "ns/pid"), ProcPath(pid, "uid_map").
PathBuf ProcPath(pid_t pid, const char* file);
// open("/proc/<pid>/ns/<type>", O_RDONLY|O_CLOEXEC), pid 0 = self; invalid with errno on failure.
UniqueFd OpenNs(pid_t pid, const char* type);

// ---------------------------------------------------------------------------------------------
// Privilege

// 1 if `cap` is in the caller's effective set, 0 if not, -1 (errno) if capget(2) failed.
int HasEffectiveCapability(int cap);
// Removes one capability from the effective, permitted and inheritable sets (capset(2)).
int DropCapability(int cap);
// Removes every capability from the effective, permitted and inheritable sets.
int DropAllCapabilities();
// Writes "deny" to /proc/<pid>/setgroups (if present) and one-line maps "inside outside 1"
// to uid_map and gid_map of `pid` (0 = self). Returns 0 or -1/errno.
int WriteIdMaps(pid_t pid, int64_t inside_uid, int64_t outside_uid, int64_t inside_gid,
                int64_t outside_gid);
// unshare(CLONE_NEWUSER | extra_flags) and map root in it to the caller's euid/egid, with
// setgroups denied. As euid 0 without CAP_SETFCAP (a container's root: mapping uid 0 of the
// parent namespace needs CAP_SETFCAP since Linux 5.12), root inside is mapped instead to another
// id mapped here, written by a short-lived helper child still outside, which needs CAP_SETUID and
// CAP_SETGID (without them: EPERM); the caller then becomes that root (setresuid/setresgid 0,
// dumpable again) and setgroups stays allowed. Returns 0 or -1/errno.
int EnterUserNamespace(unsigned long extra_flags = 0);
// Whether a process unsharing a user namespace now could map its own euid as root there:
// 1 yes, 0 no (euid 0 without CAP_SETFCAP), -1 (errno) if capget failed.
int RootMappableHere();

// ---------------------------------------------------------------------------------------------
// Mounts

// unshare(CLONE_NEWNS) (plus `extra_flags`), then make every mount private so nothing this
// process mounts can propagate to the host. Returns 0 or -1/errno.
int EnterPrivateMountNamespace(unsigned long extra_flags = 0);

// ---------------------------------------------------------------------------------------------
// Tree cleanup (used by the case supervisor and by the harness)

// Calls fn(pid) for every process whose parent is `parent` (scan of /proc). Returns the count.
int ForEachChild(pid_t parent, FunctionRef<void(pid_t)> fn);

}  // namespace nsc
