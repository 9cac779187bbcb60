// Async-signal-safe helpers for case bodies (see include/nsconform/child.h).
#include "nsconform/child.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace nsc {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses a signed decimal at *s, advancing it; returns false if there is no number.
bool ParseInt(const char** s, int64_t* out) {
  const char* p = *s;
  bool negative = false;
  if (*p == '-') {
    negative = true;
    ++p;
  }
  if (!IsDigit(*p)) return false;
  int64_t v = 0;
  while (IsDigit(*p)) v = v * 10 + (*p++ - '0');
  *out = negative ? -v : v;
  *s = p;
  return true;
}

int WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

bool ReadAll(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) {
    const int saved = errno;
    close(fd_);
    errno = saved;
  }
  fd_ = fd;
}

UniqueFd OpenFile(const char* path, int flags) { return UniqueFd(open(path, flags | O_CLOEXEC)); }

Barrier::Barrier() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) == 0) {
    read_.Reset(fds[0]);
    write_.Reset(fds[1]);
  }
}

void Barrier::Signal(char byte) { WriteAll(write_.get(), &byte, 1); }

bool Barrier::Wait(char* byte) {
  char b;
  bool got = ReadAll(read_.get(), &b, 1);
  if (got && byte != nullptr) *byte = b;
  return got;
}

void Barrier::Send(int64_t value) { WriteAll(write_.get(), &value, sizeof value); }

bool Barrier::Receive(int64_t* value) { return ReadAll(read_.get(), value, sizeof *value); }

pid_t CloneProcess(unsigned long flags) {
  return static_cast<pid_t>(syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  KillAndReap();
  pid_ = std::exchange(other.pid_, -1);
  return *this;
}

int ChildProcess::Wait(int options) {
  if (pid_ <= 0) {
    errno = ECHILD;
    return -1;
  }
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, options | __WALL);
  } while (r == -1 && errno == EINTR);
  if (r == -1) return -1;
  if (r == 0) return -1;  // WNOHANG and still running: errno untouched
  if (WIFEXITED(status) || WIFSIGNALED(status)) pid_ = -1;
  return status;
}

void ChildProcess::KillAndReap() {
  if (pid_ <= 0) return;
  const int saved = errno;
  kill(pid_, SIGKILL);
  int status;
  while (waitpid(pid_, &status, __WALL) == -1 && errno == EINTR) {
  }
  pid_ = -1;
  errno = saved;
}

ChildProcess Spawn(unsigned long flags, FunctionRef<int()> fn) {
  pid_t pid = CloneProcess(flags);
  if (pid == 0) _exit(fn());
  return ChildProcess(pid);  // -1 with errno on failure
}

namespace {
int BlockedThreadMain(void* arg) {
  const long fd = reinterpret_cast<intptr_t>(arg);
  if (fd < 0) {
    for (;;) syscall(SYS_pause);
  }
  char byte;
  syscall(SYS_read, fd, &byte, 1);
  syscall(SYS_exit, 0);
  return 0;
}
}  // namespace

long StartBlockedThread(unsigned long extra_flags, int read_fd) {
  constexpr size_t kStackSize = 64 * 1024;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  const unsigned long flags = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | extra_flags;
  const int tid = clone(BlockedThreadMain, static_cast<char*>(stack) + kStackSize,
                        static_cast<int>(flags), reinterpret_cast<void*>(static_cast<intptr_t>(read_fd)));
  if (tid == -1) {
    const int saved = errno;
    munmap(stack, kStackSize);
    errno = saved;
  }
  return tid;
}

pid_t RawGetpid() { return static_cast<pid_t>(syscall(SYS_getpid)); }

int64_t TermSignalOf(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }

ssize_t ReadSmallFile(const char* path, char* buf, size_t size) {
  if (size == 0) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t total = 0;
  while (total + 1 < size) {
    ssize_t n = read(fd, buf + total, size - 1 - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close(fd);
      errno = saved;
      return -1;
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  buf[total] = '\0';
  close(fd);
  return static_cast<ssize_t>(total);
}

int WriteSmallFile(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  while (text[len] != '\0') ++len;
  // One write(2): procfs files such as uid_map must be written in a single call.
  ssize_t n = write(fd, text, len);
  const int saved = errno;
  close(fd);
  errno = saved;
  if (n < 0) return -1;
  if (static_cast<size_t>(n) != len) {
    errno = EIO;
    return -1;
  }
  return 0;
}

int ReadStatusIds(pid_t pid, const char* field, int64_t* values, int max) {
  PathBuf path = ProcPath(pid, "status");
  char buf[4096];
  if (ReadSmallFile(path.c_str(), buf, sizeof buf) < 0) return -1;
  size_t flen = 0;
  while (field[flen] != '\0') ++flen;
  const char* line = buf;
  while (*line != '\0') {
    bool match = true;
    for (size_t i = 0; i < flen; ++i) {
      if (line[i] != field[i]) {
        match = false;
        break;
      }
    }
    if (match && line[flen] == ':') {
      const char* p = line + flen + 1;
      int count = 0;
      while (*p != '\n' && *p != '\0' && count < max) {
        while (*p == ' ' || *p == '\t') ++p;
        int64_t v;
        if (!ParseInt(&p, &v)) break;
        values[count++] = v;
      }
      return count;
    }
    while (*line != '\0' && *line != '\n') ++line;
    if (*line == '\n') ++line;
  }
  errno = ENOENT;
  return -1;
}

namespace {
// Returns a pointer just after the ')' that ends the comm field of /proc/<pid>/stat.
const char* AfterComm(const char* buf) {
  const char* close_paren = nullptr;
  for (const char* p = buf; *p != '\0'; ++p) {
    if (*p == ')') close_paren = p;
  }
  return close_paren == nullptr ? nullptr : close_paren + 1;
}
}  // namespace

pid_t ReadPpid(pid_t pid) {
  char buf[1024];
  PathBuf path("/proc/");
  path.Add(pid).Add("/stat");
  if (ReadSmallFile(path.c_str(), buf, sizeof buf) < 0) return -1;
  const char* p = AfterComm(buf);
  if (p == nullptr || p[0] != ' ' || p[1] == '\0' || p[2] != ' ') return -1;
  p += 3;  // " S "
  int64_t ppid;
  if (!ParseInt(&p, &ppid)) return -1;
  return static_cast<pid_t>(ppid);
}

char ReadProcState(pid_t pid) {
  char buf[1024];
  PathBuf path("/proc/");
  path.Add(pid).Add("/stat");
  if (ReadSmallFile(path.c_str(), buf, sizeof buf) < 0) return 0;
  const char* p = AfterComm(buf);
  return (p != nullptr && p[0] == ' ') ? p[1] : 0;
}

PathBuf& PathBuf::Add(const char* s) {
  while (*s != '\0' && len_ + 1 < sizeof buf_) buf_[len_++] = *s++;
  buf_[len_] = '\0';
  return *this;
}

PathBuf& PathBuf::Add(int64_t v) {
  char digits[24];
  int n = 0;
  uint64_t u = v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0 && len_ + 1 < sizeof buf_) buf_[len_++] = '-';
  while (n > 0 && len_ + 1 < sizeof buf_) buf_[len_++] = digits[--n];
  buf_[len_] = '\0';
  return *this;
}

PathBuf ProcPath(pid_t pid, const char* file) {
  PathBuf path("/proc/");
  if (pid == 0) {
    path.Add("self");
  } else {
    path.Add(pid);
  }
  path.Add("/").Add(file);
  return path;
}

UniqueFd OpenNs(pid_t pid, const char* type) {
  PathBuf file("ns/");
  file.Add(type);
  return OpenFile(ProcPath(pid, file.c_str()).c_str(), O_RDONLY);
}

namespace {
NsFileId FromStat(int rc, const struct stat& st) {
  NsFileId id;
  if (rc == 0) {
    id.known = true;
    id.dev = static_cast<int64_t>(st.st_dev);
    id.ino = static_cast<int64_t>(st.st_ino);
  }
  return id;
}
}  // namespace

NsFileId NsFileIdOf(const char* path) {
  struct stat st{};
  return FromStat(stat(path, &st), st);
}

NsFileId NsFileIdOfFd(int fd) {
  struct stat st{};
  return FromStat(fstat(fd, &st), st);
}

bool InOtherNamespace(const char* ns_path, const NsFileId& start) {
  return NsFileIdOf(ns_path).DiffersFrom(start);
}

namespace {
int UpdateCaps(bool all, int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) == -1) return -1;
  for (auto& d : data) {
    if (all) {
      d.effective = d.permitted = d.inheritable = 0;
    }
  }
  if (!all) {
    const uint32_t bit = 1u << (cap % 32);
    auto& d = data[cap / 32];
    d.effective &= ~bit;
    d.permitted &= ~bit;
    d.inheritable &= ~bit;
  }
  return static_cast<int>(syscall(SYS_capset, &header, data));
}
}  // namespace

int HasEffectiveCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) == -1) return -1;
  return static_cast<int>((data[cap / 32].effective >> (cap % 32)) & 1u);
}

int DropCapability(int cap) { return UpdateCaps(false, cap); }
int DropAllCapabilities() { return UpdateCaps(true, 0); }

int WriteIdMaps(pid_t pid, int64_t inside_uid, int64_t outside_uid, int64_t inside_gid,
                int64_t outside_gid) {
  PathBuf dir("/proc/");
  if (pid == 0) {
    dir.Add("self");
  } else {
    dir.Add(pid);
  }
  PathBuf setgroups(dir.c_str());
  setgroups.Add("/setgroups");
  if (WriteSmallFile(setgroups.c_str(), "deny") == -1 && errno != ENOENT) return -1;
  PathBuf uid_map(dir.c_str());
  uid_map.Add("/uid_map");
  PathBuf uid_line;
  uid_line.Add(inside_uid).Add(" ").Add(outside_uid).Add(" 1\n");
  if (WriteSmallFile(uid_map.c_str(), uid_line.c_str()) == -1) return -1;
  PathBuf gid_map(dir.c_str());
  gid_map.Add("/gid_map");
  PathBuf gid_line;
  gid_line.Add(inside_gid).Add(" ").Add(outside_gid).Add(" 1\n");
  return WriteSmallFile(gid_map.c_str(), gid_line.c_str());
}

namespace {

// Largest id of /proc/self/{uid,gid}_map ("inside outside count" lines) that is mapped here and
// is neither 0 nor the overflow id 65534: an id a helper with CAP_SETUID/CAP_SETGID can map.
// kPreferredOutsideId when it is mapped. -1 (errno EPERM) when there is none.
constexpr int64_t kPreferredOutsideId = 1 << 20;
int64_t PickOutsideId(const char* map_path) {
  char buf[4096];
  if (ReadSmallFile(map_path, buf, sizeof buf) < 0) return -1;
  int64_t best = -1;
  const char* p = buf;
  for (;;) {
    int64_t inside, outside, count;
    while (*p == ' ' || *p == '\t' || *p == '\n') ++p;
    if (!ParseInt(&p, &inside)) break;
    while (*p == ' ' || *p == '\t') ++p;
    if (!ParseInt(&p, &outside)) break;
    while (*p == ' ' || *p == '\t') ++p;
    if (!ParseInt(&p, &count) || count <= 0) break;
    if (inside <= kPreferredOutsideId && kPreferredOutsideId < inside + count) {
      return kPreferredOutsideId;
    }
    for (int64_t id = inside + count - 1; id >= inside && id > best; --id) {
      if (id != 0 && id != 65534 && id < 4294967295LL) {
        best = id;
        break;
      }
    }
  }
  if (best < 0) errno = EPERM;
  return best;
}

}  // namespace

int RootMappableHere() {
  if (geteuid() != 0) return 1;  // "0 <euid> 1" maps a non-zero outside id: always allowed
  return HasEffectiveCapability(CAP_SETFCAP);
}

int EnterUserNamespace(unsigned long extra_flags) {
  const uid_t euid = geteuid();
  const gid_t egid = getegid();
  if (RootMappableHere() == 1) {
    if (unshare(CLONE_NEWUSER | extra_flags) == -1) return -1;
    return WriteIdMaps(0, 0, euid, 0, egid);
  }
  // euid 0 without CAP_SETFCAP: since Linux 5.12 nobody may map uid 0 of the parent namespace
  // into a namespace whose creator lacked CAP_SETFCAP, so root inside maps to another id, which
  // only a process still outside, with CAP_SETUID and CAP_SETGID there, can write.
  if (HasEffectiveCapability(CAP_SETUID) != 1 || HasEffectiveCapability(CAP_SETGID) != 1) {
    errno = EPERM;
    return -1;
  }
  const int64_t outside_uid = PickOutsideId("/proc/self/uid_map");
  const int64_t outside_gid = PickOutsideId("/proc/self/gid_map");
  if (outside_uid < 0 || outside_gid < 0) return -1;
  Barrier unshared;  // parent -> helper: 1 = in the new namespace, 0 = unshare failed
  Barrier mapped;    // helper -> parent: 0 = maps written, else the errno
  if (!unshared.ok() || !mapped.ok()) return -1;
  const pid_t parent = RawGetpid();
  const pid_t helper_pid = CloneProcess(0);
  if (helper_pid == -1) return -1;
  if (helper_pid == 0) {
    unshared.CloseWriteEnd();
    mapped.CloseReadEnd();
    char go = 0;
    if (!unshared.Wait(&go) || go != 1) _exit(0);
    PathBuf uid_map = ProcPath(parent, "uid_map");
    PathBuf gid_map = ProcPath(parent, "gid_map");
    PathBuf uid_line, gid_line;
    uid_line.Add("0 ").Add(outside_uid).Add(" 1\n");
    gid_line.Add("0 ").Add(outside_gid).Add(" 1\n");
    int err = 0;
    if (WriteSmallFile(uid_map.c_str(), uid_line.c_str()) == -1 ||
        WriteSmallFile(gid_map.c_str(), gid_line.c_str()) == -1) {
      err = errno;
    }
    // Project ids as on the host (identity), so that rules may map them again inside, as they
    // could as root there; a kernel without projid_map simply has none.
    (void)WriteSmallFile(ProcPath(parent, "projid_map").c_str(), "0 0 4294967295\n");
    mapped.Send(err);
    _exit(0);
  }
  ChildProcess helper(helper_pid);  // killed and reaped on every path
  unshared.CloseReadEnd();
  mapped.CloseWriteEnd();
  if (unshare(CLONE_NEWUSER | extra_flags) == -1) {
    const int saved = errno;
    unshared.Signal(0);
    helper.Wait();
    errno = saved;
    return -1;
  }
  // setgroups stays "allow": the helper holds CAP_SETGID outside, so gid_map needs no "deny",
  // and root inside may call setgroups(2) as root on the host could.
  unshared.Signal(1);
  int64_t err = EIO;
  if (!mapped.Receive(&err)) err = EIO;
  helper.Wait();
  if (err != 0) {
    errno = static_cast<int>(err);
    return -1;
  }
  // Our credentials still hold the old ids (kuid 0), which the new maps leave unmapped here:
  // become the mapped root, as a newuidmap user does, or nothing could create files or nested
  // user namespaces (EOVERFLOW, EPERM). Full capabilities in the namespace allow it.
  if (syscall(SYS_setresgid, 0, 0, 0) == -1 || syscall(SYS_setresuid, 0, 0, 0) == -1) return -1;
  // The id change made us non-dumpable, which hands /proc/self/* (ns links, uid_map...) to the
  // unmapped kuid 0; an ordinary process is dumpable.
  return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

int EnterPrivateMountNamespace(unsigned long extra_flags) {
  if (unshare(CLONE_NEWNS | extra_flags) == -1) return -1;
  return mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
}

int ForEachChild(pid_t parent, FunctionRef<void(pid_t)> fn) {
  int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  char buf[4096];
  int count = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      const char* name = d->d_name;
      int64_t pid;
      if (!ParseInt(&name, &pid) || *name != '\0') continue;
      if (ReadPpid(static_cast<pid_t>(pid)) == parent) {
        fn(static_cast<pid_t>(pid));
        ++count;
      }
    }
  }
  close(dir);
  return count;
}

}  // namespace nsc
