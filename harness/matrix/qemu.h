// One guest boot under QEMU: the kernel, the initramfs, the suite's arguments on the kernel
// command line; the console and the report channel captured into files; a hard timeout.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace nsc::matrix {

namespace fs = std::filesystem;

struct BootRequest {
  fs::path kernel;   // ELF vmlinux with a PVH entry, or a bzImage
  fs::path initrd;
  std::vector<std::string> guest_args;  // after "-- guest-init" on the kernel command line
  std::string accel = "tcg";            // tcg | kvm
  int memory_mb = 512;
  double timeout_s = 900;       // the whole boot
  double boot_timeout_s = 180;  // until the guest init announces itself on the console
  fs::path dir;      // console.log, channel.bin, qemu.log are written here
  std::string qemu = "qemu-system-x86_64";
};

struct BootResult {
  int qemu_exit = -1;     // 1: the guest sent its report; 3: it had none; 0: panic/power-off
  bool timed_out = false;
  bool hung_in_boot = false;
  double seconds = 0;
  bool have_report = false;
  std::string report;     // the guest's JSON report
  std::string why;        // when there is no report: what went wrong, with the console's tail
  std::vector<std::string> command;  // the QEMU command line (kept in the matrix JSON)
};

// Progress from the console while the guest runs: "[n/N]" of the suite, or a boot phase.
using BootProgress = std::function<void(const std::string& what)>;

std::string KernelCommandLine(const std::vector<std::string>& guest_args);
BootResult Boot(const BootRequest& request, const BootProgress& progress);

// "kvm" when /dev/kvm can be opened and the CPU has VT-x/AMD-V (a PVM-only host has neither
// flag: there stock kernels cannot boot under KVM), else "tcg".
std::string ProbeAccelerator(std::string* why);

}  // namespace nsc::matrix
