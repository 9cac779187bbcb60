// Kernels for the matrix: what the user asked for (a KernelSpec), and what a resolver turned
// it into (a Kernel: an image on disk, its config, and where it came from).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nsc::matrix {

namespace fs = std::filesystem;

// One requested kernel. `source` picks the resolver: "debian" (suite, flavour), "image"
// (--kernel: a bzImage the user built) or "package" (--kernel-package: a .deb or .rpm).
struct KernelSpec {
  std::string source;
  std::string suite;    // debian: bullseye, bookworm, bookworm-backports, trixie, sid
  std::string flavour;  // debian: amd64, cloud, rt
  fs::path path;        // image / package
  fs::path config;      // image: optional .config
  std::string Label() const;  // "debian-bookworm-cloud", "image-bzImage", "package-<file>"
};

// A resolved kernel, ready to boot.
struct Kernel {
  KernelSpec spec;
  std::string label;
  fs::path image;    // bzImage (vmlinuz)
  fs::path vmlinux;  // uncompressed ELF with a PVH entry, when one could be extracted
  fs::path config;   // /boot/config-<release>, may be empty
  std::string release;  // uname -r, from the image header
  // Modules of the same package that rules need (GuestModules()) with their dependencies,
  // uncompressed, in load order: <modules>/<name>.ko; empty when built in or absent.
  fs::path modules;
  std::vector<std::string> module_order;
  // Where it came from, recorded in the report as system.kernel.package and system.distro.
  nlohmann::json package = nlohmann::json::object();  // {name, version, source, file?}
  nlohmann::json distro = nlohmann::json::object();   // {id, suite, flavour}
};

// Where downloads, extracted kernels and initramfs images live (--cache-dir).
struct Cache {
  fs::path root;
  fs::path Kernels() const { return root / "kernels"; }
  fs::path Apt() const { return root / "apt"; }
  fs::path Debs() const { return root / "debs"; }
  fs::path Initramfs() const { return root / "initramfs"; }
};

// Status lines while resolving ("downloading linux-image-... 6.1.192-3").
using Say = std::function<void(const std::string& label, const std::string& what)>;

// Turns specs into kernels. Resolvers are pluggable: a mirror of another distribution is one
// more implementation. Resolve() throws std::runtime_error with a one-line message.
class KernelResolver {
 public:
  virtual ~KernelResolver() = default;
  virtual bool Handles(const KernelSpec& spec) const = 0;
  // Called once with every spec this resolver handles, before Resolve() (e.g. to refresh
  // package indexes once per suite).
  virtual void Prepare(const std::vector<KernelSpec>& specs, const Say& say) { (void)specs; (void)say; }
  virtual Kernel Resolve(const KernelSpec& spec, const Say& say) = 0;
};

std::vector<std::unique_ptr<KernelResolver>> MakeResolvers(const Cache& cache, bool refresh);

// Modules the rules need when a kernel builds them as modules (CONFIG_VETH=m on Debian):
// the guest loads them before the suite runs.
const std::vector<std::string>& GuestModules();
// Copies GuestModules() and their dependencies (the .modinfo "depends=" list) from an
// unpacked package tree into `out` as <name>.ko (decompressing .ko.xz/.ko.zst/.ko.gz);
// returns the load order.
std::vector<std::string> CollectModules(const fs::path& tree, const fs::path& out);

// --- the Debian archive ----------------------------------------------------------------------

const std::vector<std::string>& DebianSuites();    // bullseye ... sid
const std::vector<std::string>& DebianFlavours();  // amd64 cloud rt
// The meta-package of a flavour: amd64 -> linux-image-amd64, cloud -> linux-image-cloud-amd64.
std::string DebianMetaPackage(const std::string& flavour);
// The sources.list lines of a suite (main and, where it exists, the security archive).
std::vector<std::string> DebianSourcesList(const std::string& suite);

// --kernels: "debian-all", "debian-stable", or "debian:SUITE:FLAVOUR,..." (SUITE or FLAVOUR
// may be "*"). Throws UsageError on anything else.
std::vector<KernelSpec> ParseKernelList(const std::string& text);

// --- images -----------------------------------------------------------------------------------

// The release string of a bzImage ("6.1.0-57-cloud-amd64"), from the setup header's
// kernel_version field; "" when the file is not a bzImage.
std::string BzImageRelease(const fs::path& image);
// Writes the ELF vmlinux inside a bzImage to `out` (trying each compressed payload it finds:
// gzip, xz, zstd, lz4, bzip2, lzma). False when none decompresses to an ELF file.
bool ExtractVmlinux(const fs::path& image, const fs::path& out, std::string* why);
// The ELF file carries a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): QEMU can boot it directly
// with -kernel, which is much faster than letting the bzImage decompress itself under TCG.
bool HasPvhEntry(const fs::path& vmlinux);
// "Linux version X ..." inside an uncompressed kernel -> X.
std::string ElfRelease(const fs::path& vmlinux);
bool IsElf(const fs::path& file);
// Fills image/vmlinux/release of a kernel whose bzImage (or ELF vmlinux) is `image`, caching
// the extracted vmlinux in `dir`.
void PrepareImage(Kernel& k, const fs::path& image, const fs::path& dir);

}  // namespace nsc::matrix
