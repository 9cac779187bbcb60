// Booting one guest (see qemu.h).
#include "qemu.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include "../text.h"
#include "guest_channel.h"
#include "tools.h"

namespace nsc::matrix {
namespace bp = boost::process;
namespace {

std::string ReadBinary(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The last `n` lines of the console, without carriage returns.
std::string Tail(const std::string& text, size_t n) {
  std::string clean;
  for (char c : text) {
    if (c != '\r') clean.push_back(c);
  }
  size_t pos = clean.size();
  for (size_t i = 0; i <= n && pos != std::string::npos && pos > 0; ++i) pos = clean.rfind('\n', pos - 1);
  return pos == std::string::npos ? clean : clean.substr(pos + 1);
}

// The newest "[n/N]" progress line of the suite on the console.
std::string LatestProgress(const std::string& console) {
  static const std::regex kLine(R"(\[(\d+)/(\d+)\])");
  size_t pos = console.rfind("\n[");
  if (pos == std::string::npos) {
    if (console.find("@@NSCONFORM-GUEST@@ running") != std::string::npos) return "starting the suite";
    return console.empty() ? "booting" : "booting (kernel up)";
  }
  std::smatch m;
  std::string line = console.substr(pos + 1, 24);
  if (std::regex_search(line, m, kLine)) return "running [" + m[1].str() + "/" + m[2].str() + "]";
  return "running";
}

}  // namespace

std::string KernelCommandLine(const std::vector<std::string>& guest_args) {
  // quiet: less console to emulate; panic=-1 reboot=t: a panic ends QEMU (-no-reboot) at once;
  // noirqdebug: PREEMPT_RT kernels otherwise disable the serial IRQ ("nobody cared") mid-report.
  // no_timer_check: under TCG on a busy host the IO-APIC timer check can hang early boot
  // (seen: "MP-BIOS bug: 8254 timer not connected to IO-APIC", then nothing for 900 s).
  std::string line = "console=ttyS0 quiet panic=-1 reboot=t noirqdebug no_timer_check -- guest-init";
  for (const auto& a : guest_args) line += " " + a;
  return line;
}

std::string ProbeAccelerator(std::string* why) {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = "/dev/kvm cannot be opened";
    return "tcg";
  }
  close(fd);
  const std::string cpuinfo = ReadFileOr("/proc/cpuinfo", "");
  const bool vmx = std::regex_search(cpuinfo, std::regex(R"(\bflags\b.*\b(vmx|svm)\b)"));
  if (!vmx) {
    *why = "/dev/kvm exists but the CPU has no vmx/svm flag (a paravirtual KVM backend cannot boot stock kernels)";
    return "tcg";
  }
  *why = "/dev/kvm and vmx/svm present";
  return "kvm";
}

BootResult Boot(const BootRequest& rq, const BootProgress& progress) {
  BootResult result;
  fs::create_directories(rq.dir);
  const fs::path console = rq.dir / "console.log", channel = rq.dir / "channel.bin",
                 qemu_log = rq.dir / "qemu.log";
  for (const auto& f : {console, channel, qemu_log}) fs::remove(f);
  std::vector<std::string> args = {
      "-nodefaults", "-no-reboot", "-display", "none",
      "-accel", rq.accel,
      "-m", std::to_string(rq.memory_mb), "-smp", "1",
      "-serial", "file:" + console.string(),
      "-serial", "file:" + channel.string(),
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
      "-kernel", rq.kernel.string(),
      "-initrd", rq.initrd.string(),
      "-append", KernelCommandLine(rq.guest_args),
  };
  if (rq.accel == "kvm") args.insert(args.end(), {"-cpu", "host"});
  result.command = {rq.qemu};
  result.command.insert(result.command.end(), args.begin(), args.end());
  std::string exe = rq.qemu.find('/') == std::string::npos ? FindProgram(rq.qemu) : rq.qemu;
  if (exe.empty()) throw std::runtime_error(rq.qemu + " is not installed (apt-get install qemu-system-x86)");

  const auto started = std::chrono::steady_clock::now();
  // QEMU dies with the thread that started it (nsconform killed, or Ctrl-C): no orphan guests.
  bp::child qemu(exe, bp::args(args), bp::std_in < bp::null, (bp::std_out & bp::std_err) > qemu_log.string(),
                 bp::extend::on_exec_setup([](auto&) { prctl(PR_SET_PDEATHSIG, SIGKILL); }));
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, qemu.id(), 0));
  std::string last;
  bool booted = false;
  for (;;) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (elapsed > rq.timeout_s || (!booted && elapsed > rq.boot_timeout_s)) {
      result.timed_out = true;
      result.hung_in_boot = !booted;
      qemu.terminate();
      break;
    }
    pollfd p{pidfd, POLLIN, 0};
    // Wakes when QEMU exits, or every half second to report the guest's progress.
    if (pidfd >= 0 && poll(&p, 1, 500) > 0) break;
    if (pidfd < 0 && !qemu.running()) break;
    const std::string text = ReadBinary(console);
    booted = booted || text.find("@@NSCONFORM-GUEST@@ booted") != std::string::npos;
    std::string now = LatestProgress(text);
    if (now != last && progress) progress(now);
    last = now;
  }
  if (pidfd >= 0) close(pidfd);
  qemu.wait();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.qemu_exit = result.timed_out ? 124 : qemu.exit_code();

  std::string why;
  result.have_report = DecodeReportFrame(ReadBinary(channel), &result.report, &why);
  if (!result.have_report) {
    std::ostringstream w;
    if (result.timed_out) {
      if (result.hung_in_boot) {
        w << "the guest did not reach its init within " << FormatSeconds(rq.boot_timeout_s, 0) << " s (hung in boot)";
      } else {
        w << "no report within " << FormatSeconds(rq.timeout_s, 0) << " s (guest hung)";
      }
    } else {
      w << "QEMU exited " << result.qemu_exit
        << (result.qemu_exit == 0 ? " (guest panicked or powered off without a report)"
            : result.qemu_exit == 3 ? " (guest init had no report)" : "")
        << ": " << why;
    }
    const std::string qlog = Trim(ReadBinary(qemu_log));
    if (!qlog.empty()) w << "; qemu: " << Tail(qlog, 2);
    w << "; console tail: " << Tail(ReadBinary(console), 3);
    result.why = w.str();
    std::replace(result.why.begin(), result.why.end(), '\n', ' ');
  }
  return result;
}

}  // namespace nsc::matrix
