// `nsconform guest-init`: PID 1 of an `nsconform matrix` guest (hidden; the kernel starts it
// from the initramfs with the arguments after "--" on its command line). It mounts what the
// suite needs, runs the suite as its child (a conformance suite must not run as PID 1), sends
// the JSON report over ttyS1 and powers the VM off. It refuses to run anywhere but as PID 1.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../subcommands.h"
#include "../text.h"
#include "guest_channel.h"
#include "initramfs.h"

namespace nsc {
namespace {

constexpr const char* kReportPath = "/tmp/nsconform-report.json";
constexpr unsigned short kDebugExitPort = 0xf4;  // QEMU -device isa-debug-exit,iobase=0xf4

void Say(const std::string& line) {
  std::string text = "@@NSCONFORM-GUEST@@ " + line + "\n";
  (void)!write(STDOUT_FILENO, text.data(), text.size());
}

void MountOrSay(const char* source, const char* target, const char* type, const char* options) {
  mkdir(target, 0755);
  if (mount(source, target, type, MS_NOSUID | MS_NOEXEC, options) != 0) {
    Say(std::string("mount ") + type + " on " + target + " failed: " + std::strerror(errno));
  }
}

// Raw mode: no \n -> \r\n translation of the binary frame.
bool SendOverSerial(const std::string& frame) {
  int fd = open("/dev/ttyS1", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return false;
  termios t{};
  if (tcgetattr(fd, &t) == 0) {
    cfmakeraw(&t);
    cfsetospeed(&t, B115200);
    tcsetattr(fd, TCSANOW, &t);
  }
  size_t done = 0;
  while (done < frame.size()) {
    ssize_t n = write(fd, frame.data() + done, frame.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  tcdrain(fd);
  close(fd);
  return done == frame.size();
}

[[noreturn]] void PowerOff(int verdict) {
  sync();
#if defined(__x86_64__) || defined(__i386__)
  if (ioperm(kDebugExitPort, 4, 1) == 0) outb(static_cast<unsigned char>(verdict), kDebugExitPort);
#endif
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

// The modules the host shipped (initramfs.h), in order. Returns "veth ok" style notes.
std::string LoadModules() {
  const std::string dir = std::string("/") + matrix::kGuestModuleDir;
  const std::string order = ReadFileOr(dir + "/order", "");
  std::string notes;
  size_t start = 0;
  while (start < order.size()) {
    size_t end = order.find('\n', start);
    if (end == std::string::npos) end = order.size();
    const std::string name = order.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    int fd = open((dir + "/" + name + ".ko").c_str(), O_RDONLY | O_CLOEXEC);
    const long rc = fd < 0 ? -1 : syscall(SYS_finit_module, fd, "", 0);
    const int err = errno;
    if (fd >= 0) close(fd);
    notes += " " + name + (rc == 0 || err == EEXIST ? " loaded" : std::string(" failed: ") + std::strerror(err));
  }
  return notes.empty() ? "" : "modules:" + notes;
}

}  // namespace

int GuestInitMain(const std::vector<std::string>& args) {
  if (getpid() != 1) {
    throw UsageError{"guest-init is the init of an `nsconform matrix` guest and runs only as PID 1"};
  }
  MountOrSay("proc", "/proc", "proc", nullptr);
  MountOrSay("sysfs", "/sys", "sysfs", nullptr);
  mkdir("/dev", 0755);
  if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, nullptr) != 0 && errno != EBUSY) {
    Say(std::string("mount devtmpfs failed: ") + std::strerror(errno));
  }
  MountOrSay("tmpfs", "/tmp", "tmpfs", "mode=1777");
  mkdir("/sys/fs/cgroup", 0755);
  std::string cgroup = "cgroup2 with nsdelegate";
  if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NOEXEC | MS_NODEV, "nsdelegate") != 0) {
    cgroup = mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NOEXEC | MS_NODEV, nullptr) == 0
                 ? "cgroup2"
                 : std::string("no cgroup2: ") + std::strerror(errno);
  }
  utsname u{};
  uname(&u);
  Say(std::string("booted ") + u.release + "; " + cgroup);
  if (std::string modules = LoadModules(); !modules.empty()) Say(modules);

  std::vector<std::string> argv = {"nsconform"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--no-default-reports", "--json", kReportPath});
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::string joined;
  for (const auto& a : argv) joined += " " + a;
  Say("running" + joined);

  pid_t suite = fork();
  if (suite == 0) {
    execv("/proc/self/exe", cargv.data());
    _exit(127);
  }
  int status = 0;
  for (;;) {  // PID 1 reaps every orphan; the suite's own exit ends the wait
    pid_t pid = waitpid(-1, &status, 0);
    if (pid == suite || (pid < 0 && errno == ECHILD)) break;
  }
  const int suite_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const std::string report = ReadFileOr(kReportPath, "");
  if (report.empty()) {
    Say("suite exited " + std::to_string(suite_exit) + " without a report");
    PowerOff(1);
  }
  const std::string frame = matrix::EncodeReportFrame(report);
  const bool sent = SendOverSerial(frame);
  Say("suite exited " + std::to_string(suite_exit) + "; report " + std::to_string(report.size()) +
      " bytes, " + std::to_string(frame.size()) + " sent" + (sent ? "" : " INCOMPLETE"));
  PowerOff(sent ? 0 : 1);
}

}  // namespace nsc
