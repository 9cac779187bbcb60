// One container's life, seen from the harness.
//
// Flow:
//   1. A workspace (bundle, state) under the work dir; the adapter writes its files there.
//   2. Start the runtime with Boost.Process. After fork, before exec, only syscalls: the
//      stdio pipes, PR_SET_PDEATHSIG, and (root) a private mount namespace in which the rootfs
//      is a shared mount, plus crun's hybrid-cgroup blanking.
//   3. Wait (poll, deadline) for the probe's JSON line on the runtime's stdout.
//   4. Find the probe on the host by its token in /proc/PID/cmdline; read its /proc/PID/ns/*,
//      uid_map, gid_map, setgroups, timens_offsets, and the runtime's own namespaces.
//   5. Propagation by behaviour: mount a tmpfs on ROOTFS/mnt in the runtime's mount namespace
//      (nsenter), ask the probe ("recheck") whether /mnt became a mount point inside.
//   6. Close the probe's stdin: it exits, the runtime exits; reap it (pidfd, deadline).
//   7. Teardown and leftover scan: processes carrying the token, mounts of the workspace,
//      cgroups named after the container, the runtime's state.
#include "launch.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include "../text.h"
#include "nsconform/expect.h"

namespace nsc::runtime {

namespace bp = boost::process;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// An fd closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// After fork, before exec: async-signal-safe calls only (all strings prepared before fork).
[[noreturn]] void DieInChild(const char* what) {
  const char prefix[] = "nsconform runtime launcher: ";
  (void)!write(STDERR_FILENO, prefix, sizeof prefix - 1);
  size_t n = 0;
  while (what[n] != '\0') ++n;
  (void)!write(STDERR_FILENO, what, n);
  (void)!write(STDERR_FILENO, " failed\n", 8);
  _exit(125);
}

// Sends fd over a unix socket (SCM_RIGHTS); a stack buffer, one syscall.
void SendFd(int sock, int fd) {
  char byte = 'm';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  __builtin_memcpy(CMSG_DATA(c), &fd, sizeof fd);
  (void)!sendmsg(sock, &msg, 0);
}

int ReceiveFd(int sock) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  __builtin_memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

struct ChildSetup : bp::extend::handler {
  int in_fd = -1, out_fd = -1, err_fd = -1;
  int ns_sock = -1;  // the private mount namespace goes back to the harness over it
  bool private_mount_ns = false;
  const char* rootfs = nullptr;
  const char* blank_file = nullptr;

  template <class Executor>
  void on_exec_setup(Executor&) const {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(125);
    if (private_mount_ns) {
      if (unshare(CLONE_NEWNS) != 0) DieInChild("unshare(CLONE_NEWNS)");
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) DieInChild("making / private");
      if (mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0) DieInChild("binding the rootfs");
      if (mount(nullptr, rootfs, nullptr, MS_SHARED, nullptr) != 0) DieInChild("making the rootfs shared");
      // The namespace the runtime starts in: the reference for "shared" and "new", and where
      // the propagation marker is mounted (the runtime itself may move to the container's).
      int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
      if (ns < 0) DieInChild("opening /proc/self/ns/mnt");
      SendFd(ns_sock, ns);
      close(ns);
    }
    if (blank_file != nullptr && mount("/dev/null", blank_file, nullptr, MS_BIND, nullptr) != 0) {
      DieInChild("bind-mounting /dev/null over the hybrid cgroup2 controller list");
    }
  }
};

double Left(Clock::time_point deadline) {
  return std::chrono::duration<double>(deadline - Clock::now()).count();
}

// Reads from fd into buf until a full line is there or the deadline passes.
// Returns the line (without '\n'), or nullopt on EOF/deadline.
std::optional<std::string> ReadLine(int fd, std::string& buf, Clock::time_point deadline, bool* eof) {
  while (true) {
    if (auto nl = buf.find('\n'); nl != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      return line;
    }
    double left = Left(deadline);
    if (left <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *eof = true;
      return std::nullopt;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
}

std::vector<std::string> SplitNul(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == '\0') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// Live processes whose command line is the probe's with this token.
std::vector<pid_t> FindProbeProcesses(const std::string& token) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  const std::string want = "--token=" + token;
  while (dirent* e = readdir(d)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    std::string dir = std::string("/proc/") + e->d_name;
    auto argv = SplitNul(ReadFileOr(dir + "/cmdline", ""));
    if (argv.size() < 3 || argv[1] != kProbeCommand || argv[2] != want) continue;
    std::string stat = ReadFileOr(dir + "/stat", "");
    auto close_paren = stat.rfind(')');
    if (close_paren != std::string::npos && stat.size() > close_paren + 2 && stat[close_paren + 2] == 'Z') {
      continue;  // a zombie is not left behind by the runtime but by its reaper
    }
    out.push_back(static_cast<pid_t>(std::stol(e->d_name)));
  }
  closedir(d);
  return out;
}

json NsOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {{"errno", ErrnoName(errno)}};
  return {{"dev", static_cast<uint64_t>(st.st_dev)}, {"ino", static_cast<uint64_t>(st.st_ino)}};
}

json TextOr(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {{"errno", ErrnoName(errno)}};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The last NSpid field of /proc/PID/status (the PID inside its own namespace).
long InnermostPid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("NSpid:")) continue;
    std::istringstream f(line.substr(6));
    long v = -1, last = -1;
    while (f >> v) last = v;
    return last;
  }
  return -1;
}

json NsOfFd(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return {{"errno", ErrnoName(errno)}};
  return {{"dev", static_cast<uint64_t>(st.st_dev)}, {"ino", static_cast<uint64_t>(st.st_ino)}};
}

// runtime_ns: the namespaces the runtime was started in (runtime-tools compares with the
// runtime's own): the harness's, but the private mount namespace made for it when there is one.
json OutsideView(pid_t host_pid, pid_t runtime_pid, int start_mnt_fd, const Expectation& exp) {
  json o;
  const std::string p = "/proc/" + std::to_string(host_pid);
  const std::string r = "/proc/" + std::to_string(runtime_pid);
  o["host_pid"] = host_pid;
  o["runtime_pid"] = runtime_pid;
  for (const auto& t : kNsTypes) {
    o["ns"][t] = NsOf(p + "/ns/" + t);
    o["harness_ns"][t] = NsOf("/proc/self/ns/" + t);
    o["runtime_ns"][t] = t == "mnt" && start_mnt_fd >= 0 ? NsOfFd(start_mnt_fd) : o["harness_ns"][t];
    o["runtime_process_ns"][t] = NsOf(r + "/ns/" + t);
  }
  for (const auto& [t, s] : exp.ns) {
    if (s.mode == NsSetting::Mode::kJoin) o["join_ns"][t] = NsOf(s.path);
  }
  o["uid_map"] = TextOr(p + "/uid_map");
  o["gid_map"] = TextOr(p + "/gid_map");
  o["setgroups"] = TextOr(p + "/setgroups");
  o["timens_offsets"] = TextOr(p + "/timens_offsets");
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  o["clock"]["monotonic_s"] = static_cast<int64_t>(ts.tv_sec);
  clock_gettime(CLOCK_BOOTTIME, &ts);
  o["clock"]["boottime_s"] = static_cast<int64_t>(ts.tv_sec);
  return o;
}

void MountedUnder(const std::string& prefix, std::vector<std::string>* out) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, point;
    f >> id >> parent >> devno >> root >> point;
    if (point.starts_with(prefix)) out->push_back("mount left at " + point);
  }
}

void CgroupsNamed(const fs::path& dir, const std::string& needle, int depth, std::vector<std::string>* out) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    if (it->path().filename().string().find(needle) != std::string::npos) {
      out->push_back("cgroup left: " + it->path().string());
    } else if (depth > 0) {
      CgroupsNamed(it->path(), needle, depth - 1, out);
    }
  }
}

std::string Tail(const std::string& s, size_t max_lines) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) {
    if (!Trim(l).empty()) lines.push_back(l);
  }
  std::string out;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i) {
    out += (out.empty() ? "" : " | ") + lines[i];
  }
  return out;
}

// Mounts a tmpfs on ROOTFS/mnt inside the runtime's mount namespace.
bool MountMarker(int start_mnt_fd, const fs::path& rootfs, std::string* error) {
  std::string nsenter = FindInPath("nsenter");
  if (nsenter.empty()) {
    *error = "nsenter not found";
    return false;
  }
  bp::ipstream err;
  int rc = bp::system(bp::exe = nsenter,
                      bp::args = {"--mount=/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(start_mnt_fd),
                                  "--", "mount", "-t", "tmpfs",
                                  "-o", "size=4k", "nsconform-propagation", (rootfs / "mnt").string()},
                      bp::std_in < bp::null, bp::std_out > bp::null, bp::std_err > err);
  if (rc != 0) {
    std::string line, all;
    while (std::getline(err, line)) all += line + " ";
    *error = "nsenter mount failed: " + all;
    return false;
  }
  return true;
}

}  // namespace

void BuildRootfs(const fs::path& rootfs, const fs::path& probe_binary) {
  for (const char* d : {"proc", "dev", "sys", "tmp", "mnt", "etc"}) fs::create_directories(rootfs / d);
  fs::permissions(rootfs, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  const fs::path target = rootfs / fs::path(kProbeInContainer).relative_path();
  std::error_code ec;
  fs::create_hard_link(probe_binary, target, ec);
  if (ec) fs::copy_file(probe_binary, target, fs::copy_options::overwrite_existing);
  fs::permissions(target, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
}

ContainerRun RunContainer(Adapter& adapter, const ProbeRequest& request_in, const LaunchSettings& settings) {
  ContainerRun run;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(settings.timeout_s));
  Workspace ws;
  ws.token = RandomHex();
  ws.id = "nsconform-" + ws.token;
  ws.dir = settings.work_dir / ws.id;
  ws.rootfs = settings.rootfs;
  fs::create_directories(ws.dir);
  ProbeRequest request = request_in;
  request.token = ws.token;
  const Expectation exp = adapter.Expect();

  Launch launch = adapter.Prepare(ws, request);
  run.argv = launch.argv;
  int in_pipe[2], out_pipe[2], socks[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, socks) != 0) {
    throw std::runtime_error("pipe2/socketpair: " + ErrnoName(errno));
  }
  Fd in_r(in_pipe[0]), in_w(in_pipe[1]), out_r(out_pipe[0]), out_w(out_pipe[1]);
  Fd ns_r(socks[0]), ns_w(socks[1]);
  const std::string err_path = (ws.dir / "runtime.stderr").string();
  Fd err_fd(open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  signal(SIGPIPE, SIG_IGN);

  const std::string rootfs_str = ws.rootfs.string();
  ChildSetup setup;
  setup.in_fd = in_r.get();
  setup.out_fd = out_w.get();
  setup.err_fd = err_fd.get();
  setup.ns_sock = ns_w.get();
  setup.private_mount_ns = launch.private_mount_ns;
  setup.rootfs = rootfs_str.c_str();
  setup.blank_file = launch.blank_file.empty() ? nullptr : launch.blank_file.c_str();

  std::error_code spawn_error;
  bp::child child(bp::exe = launch.argv[0],
                  bp::args = std::vector<std::string>(launch.argv.begin() + 1, launch.argv.end()),
                  bp::start_dir = ws.dir.string(), setup, spawn_error);
  in_r.reset();
  out_w.reset();
  err_fd.reset();
  if (spawn_error) {
    run.failure = "cannot start " + launch.argv[0] + ": " + spawn_error.message();
    run.leftovers = adapter.Teardown(ws);
    fs::remove_all(ws.dir);
    return run;
  }
  const pid_t runtime_pid = child.id();
  ns_w.reset();
  Fd start_mnt(launch.private_mount_ns ? ReceiveFd(ns_r.get()) : -1);
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, runtime_pid, 0)));

  std::string buf;
  bool eof = false;
  std::vector<pid_t> probes;
  while (!eof) {
    auto line = ReadLine(out_r.get(), buf, deadline, &eof);
    if (!line) break;
    try {
      json j = json::parse(*line);
      if (j.is_object() && j.value("schema", "") == kProbeSchema) {
        run.inside = std::move(j);
        run.reported = true;
        break;
      }
    } catch (const json::exception&) {
      // runtime noise on stdout: not the probe's line
    }
  }
  if (run.reported) {
    probes = FindProbeProcesses(ws.token);
    pid_t host_pid = 0;
    for (pid_t p : probes) {
      if (InnermostPid(p) == run.inside.value("pid", -2)) host_pid = p;
    }
    if (host_pid == 0) {
      run.outside["error"] = "the probe reported, but no live process carries its token (" +
                             std::to_string(probes.size()) + " candidates)";
    } else {
      run.outside = OutsideView(host_pid, runtime_pid, start_mnt.get(), exp);
    }
    if (start_mnt.get() >= 0) {
      std::string error;
      if (MountMarker(start_mnt.get(), ws.rootfs, &error)) {
        (void)!write(in_w.get(), "recheck\n", 8);
        auto again = ReadLine(out_r.get(), buf, deadline, &eof);
        try {
          if (again) run.inside["recheck"] = json::parse(*again).value("recheck", json::object());
        } catch (const json::exception&) {
        }
      } else {
        run.outside["propagation_error"] = error;
      }
    }
  }
  in_w.reset();  // EOF on the probe's stdin: it exits, and so does the runtime

  // Drain stdout to EOF and reap, both within the deadline.
  while (!eof && ReadLine(out_r.get(), buf, deadline, &eof)) {
  }
  pollfd p{pidfd.get(), POLLIN, 0};
  double left = Left(deadline);
  if (pidfd.get() < 0 || poll(&p, 1, left > 0 ? static_cast<int>(left * 1000) + 1 : 0) != 1) {
    run.timed_out = true;
    for (pid_t probe : FindProbeProcesses(ws.token)) kill(probe, SIGKILL);
    kill(runtime_pid, SIGKILL);
  }
  child.wait();
  const int status = child.native_exit_code();
  run.runtime_exit = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  run.stderr_tail = Tail(ReadFileOr(err_path, ""), 3);
  if (!run.reported) {
    run.failure = run.timed_out ? "no report from the probe within " + FormatSeconds(settings.timeout_s, 0) + " s"
                                : adapter.Name() + " exited with " + std::to_string(run.runtime_exit) +
                                      " before the probe reported";
    if (!run.stderr_tail.empty()) run.failure += ": " + run.stderr_tail;
  }

  // What is left once the runtime is gone (after its own delete, for the OCI adapters).
  run.leftovers = adapter.Teardown(ws);
  for (pid_t left_pid : FindProbeProcesses(ws.token)) {
    run.leftovers.push_back("process left: pid " + std::to_string(left_pid));
    kill(left_pid, SIGKILL);
  }
  MountedUnder(ws.dir.string(), &run.leftovers);
  MountedUnder(ws.rootfs.string(), &run.leftovers);
  CgroupsNamed("/sys/fs/cgroup", ws.token, 3, &run.leftovers);
  std::error_code ec;
  fs::remove_all(ws.dir, ec);
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return run;
}

}  // namespace nsc::runtime
