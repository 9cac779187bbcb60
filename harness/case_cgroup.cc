// Case trees tracked by cgroup v2 (see case_cgroup.h).
#include "case_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "nsconform/compat.h"
#include "nsconform/expect.h"
#include "text.h"

namespace nsc {
namespace {

// The mount point of the cgroup2 hierarchy, from /proc/self/mountinfo ("" if none).
std::string UnifiedMountPoint() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream after(line.substr(dash + 3));
    std::string fstype;
    after >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream before(line.substr(0, dash));
    std::string id, parent, devno, root, mount_point;
    before >> id >> parent >> devno >> root >> mount_point;
    if (root == "/") return mount_point;
  }
  return "";
}

// The harness's own cgroup in the unified hierarchy ("0::/path" in /proc/self/cgroup).
std::string OwnUnifiedCgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "";
}

bool WriteString(int dir_fd, const char* file, const char* text) {
  int fd = openat(dir_fd, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = write(fd, text, std::strlen(text));
  const int saved = errno;
  close(fd);
  errno = saved;
  return n == static_cast<ssize_t>(std::strlen(text));
}

bool Populated(int dir_fd) {
  int fd = openat(dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  return std::strstr(buf, "populated 1") != nullptr;
}

// Polls cgroup.events until "populated 0" or the timeout (the kernel signals every change of
// the file with POLLPRI).
bool WaitUnpopulated(const std::string& path, int timeout_ms) {
  int dir = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return errno == ENOENT;
  int events = openat(dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
  bool empty = false;
  for (int waited = 0; events >= 0;) {
    if (!Populated(dir)) {
      empty = true;
      break;
    }
    if (waited >= timeout_ms) break;
    pollfd p{events, POLLPRI, 0};
    const int step = 100;
    poll(&p, 1, step);  // wakes on the next change of cgroup.events
    waited += step;
    char buf[256];
    pread(events, buf, sizeof buf, 0);  // re-arm
  }
  if (events >= 0) close(events);
  close(dir);
  return empty;
}

// Removes `path` and every cgroup below it, deepest first; counts the ones below in *below.
bool RemoveTree(const std::string& path, std::string* why, int* below = nullptr) {
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        if (below != nullptr) ++*below;
        RemoveTree(path + "/" + e->d_name, why, below);
      }
    }
    closedir(d);
  }
  if (rmdir(path.c_str()) == 0 || errno == ENOENT) return true;
  if (why != nullptr && why->empty()) *why = "rmdir " + path + ": " + ErrnoName(errno);
  return false;
}

}  // namespace

int MoveSelfIntoCgroup(int dir_fd) { return WriteString(dir_fd, "cgroup.procs", "0") ? 0 : -1; }

int KillCgroup(int dir_fd) { return WriteString(dir_fd, "cgroup.kill", "1") ? 0 : -1; }

long CloneIntoCgroup(int dir_fd) {
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(dir_fd);
  return syscall(SYS_clone3, &args, sizeof args);
}

// ---------------------------------------------------------------------------------------------

CaseCgroup::CaseCgroup(CaseCgroup&& other) noexcept
    : path_(std::move(other.path_)),
      case_fd_(std::exchange(other.case_fd_, -1)),
      body_fd_(std::exchange(other.body_fd_, -1)) {
  other.path_.clear();
}

CaseCgroup& CaseCgroup::operator=(CaseCgroup&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, std::string());
    case_fd_ = std::exchange(other.case_fd_, -1);
    body_fd_ = std::exchange(other.body_fd_, -1);
  }
  return *this;
}

CaseCgroup::~CaseCgroup() { Remove(); }

bool CaseCgroup::Kill() const { return case_fd_ >= 0 && KillCgroup(case_fd_) == 0; }

bool CaseCgroup::Remove(std::string* why, int timeout_ms) {
  if (path_.empty()) return true;
  if (!WaitUnpopulated(path_, timeout_ms)) {
    // Something outlived its tree: kill it, then wait once more.
    Kill();
    WaitUnpopulated(path_, timeout_ms);
  }
  if (body_fd_ >= 0) close(body_fd_);
  if (case_fd_ >= 0) close(case_fd_);
  body_fd_ = case_fd_ = -1;
  const bool removed = RemoveTree(path_ + "/body", why, &leftover_cgroups_) && RemoveTree(path_, why);
  path_.clear();
  return removed;
}

std::optional<RunCgroup> RunCgroup::Create(std::string* why_not) {
  const std::string mount = UnifiedMountPoint();
  if (mount.empty()) {
    *why_not = "no cgroup2 hierarchy is mounted";
    return std::nullopt;
  }
  const std::string own = OwnUnifiedCgroup();
  if (own.empty()) {
    *why_not = "the harness is in no cgroup2 cgroup (/proc/self/cgroup has no 0:: line)";
    return std::nullopt;
  }
  std::string path = mount + (own == "/" ? "" : own) + "/nsconform-" + std::to_string(getpid()) +
                     "-" + RandomHex().substr(0, 8);
  if (mkdir(path.c_str(), 0755) == -1) {
    *why_not = "mkdir " + path + ": " + ErrnoName(errno);
    return std::nullopt;
  }
  int probe = open((path + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC);
  if (probe < 0) {
    *why_not = "cgroup.kill is missing (Linux < 5.14)";
    rmdir(path.c_str());
    return std::nullopt;
  }
  close(probe);
  return RunCgroup(std::move(path));
}

RunCgroup::RunCgroup(RunCgroup&& other) noexcept
    : path_(std::move(other.path_)), watchdog_(std::exchange(other.watchdog_, -1)) {
  other.path_.clear();
}

bool RunCgroup::StartWatchdog() {
  const pid_t harness = getpid();
  sigset_t death, old;
  sigemptyset(&death);
  sigaddset(&death, SIGUSR1);
  sigprocmask(SIG_BLOCK, &death, &old);  // inherited: the watchdog waits for it
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    // The harness is single-threaded, so the C++ library is usable here.
    setpgid(0, 0);  // a kill of the harness's process group spares the watchdog
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
    if (getppid() == harness) {
      int sig = 0;
      sigwait(&death, &sig);  // the harness died: no other signal reaches this point
    }
    { RunCgroup orphaned(path_); }  // ~RunCgroup: kill, wait until empty, remove
    _exit(0);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid == -1) return false;
  watchdog_ = pid;
  return true;
}

RunCgroup::~RunCgroup() {
  if (path_.empty()) return;
  if (watchdog_ > 0) {
    kill(watchdog_, SIGKILL);
    waitpid(watchdog_, nullptr, 0);
  }
  int dir = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    KillCgroup(dir);
    close(dir);
  }
  WaitUnpopulated(path_, 5000);
  RemoveTree(path_, nullptr);
}

std::optional<CaseCgroup> RunCgroup::NewCase(size_t index, std::string* why_not) const {
  const std::string path = path_ + "/case-" + std::to_string(index);
  if (mkdir(path.c_str(), 0755) == -1 || mkdir((path + "/body").c_str(), 0755) == -1) {
    *why_not = "mkdir " + path + ": " + ErrnoName(errno);
    RemoveTree(path, nullptr);
    return std::nullopt;
  }
  const int case_fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int body_fd = open((path + "/body").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (case_fd < 0 || body_fd < 0) {
    *why_not = "open " + path + ": " + ErrnoName(errno);
    if (case_fd >= 0) close(case_fd);
    if (body_fd >= 0) close(body_fd);
    RemoveTree(path, nullptr);
    return std::nullopt;
  }
  return CaseCgroup(path, case_fd, body_fd);
}

}  // namespace nsc
