// The guest's initramfs: nsconform-static as /init (it becomes `nsconform guest-init` through
// the kernel command line), the empty mount points, and the kernel's own config as
// /boot/config-<release> so the report records it. newc cpio, gzip, written in-process.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace nsc::matrix {

namespace fs = std::filesystem;

struct CpioEntry {
  std::string name;  // without leading "/", e.g. "boot/config-6.1.0-57-amd64"
  unsigned mode = 0;  // S_IFDIR | 0755, S_IFREG | 0755 ...
  std::string data;
};

// A newc ("070701") archive of the entries, with the trailer.
std::string CpioNewc(const std::vector<CpioEntry>& entries);
// gzip-compresses `data` into `path` (atomically: a temp file renamed into place).
void WriteGzip(const fs::path& path, const std::string& data);

// Where the guest finds the modules to load: <name>.ko files and "order" (one name a line).
inline constexpr const char* kGuestModuleDir = "lib/modules/nsconform";

// The initramfs for one kernel, cached under `dir` keyed by the static binary's hash and the
// hash of the kernel's part (config, modules): <dir>/<binary sha>/base.cpio.gz, and
// kernel-<sha>.img = base + a second archive with /boot/config-<release> and the modules
// (`modules`: .ko files in load order). Returns its path.
fs::path BuildInitramfs(const fs::path& dir, const fs::path& static_binary, const std::string& release,
                        const fs::path& config, const std::vector<fs::path>& modules = {});

}  // namespace nsc::matrix
