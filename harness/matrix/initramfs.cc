// newc cpio + gzip for the guest initramfs (see initramfs.h).
#include "initramfs.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "../text.h"
#include "tools.h"

namespace nsc::matrix {
namespace {

void Pad4(std::string& out) {
  while (out.size() % 4 != 0) out.push_back('\0');
}

void AppendEntry(std::string& out, unsigned ino, const CpioEntry& e) {
  char header[111];
  std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                ino, e.mode, 0u, 0u, S_ISDIR(e.mode) ? 2u : 1u, 0u,
                static_cast<unsigned>(e.data.size()), 0u, 0u, 0u, 0u,
                static_cast<unsigned>(e.name.size() + 1), 0u);
  out.append(header, 110);
  out.append(e.name);
  out.push_back('\0');
  Pad4(out);
  out.append(e.data);
  Pad4(out);
}

std::string ReadBinary(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The binary without symbols and debug info (51 MB -> 5 MB for a RelWithDebInfo build: less
// to unpack in an emulated guest), when binutils' strip is installed.
std::string Stripped(const fs::path& binary_path, const std::string& binary, const fs::path& dir) {
  if (FindProgram("strip").empty()) return binary;
  fs::create_directories(dir);
  const fs::path out = dir / ("init.tmp-" + RandomHex());
  ToolResult r = RunTool({"strip", "-o", out.string(), binary_path.string()});
  std::string stripped = r.exit_code == 0 ? ReadBinary(out) : std::string();
  fs::remove(out);
  return stripped.empty() ? binary : stripped;
}

}  // namespace

std::string CpioNewc(const std::vector<CpioEntry>& entries) {
  std::string out;
  unsigned ino = 1;
  for (const auto& e : entries) AppendEntry(out, ino++, e);
  AppendEntry(out, 0, {.name = "TRAILER!!!", .mode = 0, .data = {}});
  return out;
}

void WriteGzip(const fs::path& path, const std::string& data) {
  fs::create_directories(path.parent_path());
  const std::string tmp = path.string() + ".tmp-" + RandomHex();
  gzFile f = gzopen(tmp.c_str(), "wb6");
  if (f == nullptr) throw std::runtime_error("cannot write " + tmp);
  size_t done = 0;
  while (done < data.size()) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(data.size() - done, 1u << 20));
    if (gzwrite(f, data.data() + done, chunk) != static_cast<int>(chunk)) {
      gzclose(f);
      fs::remove(tmp);
      throw std::runtime_error("cannot write " + tmp);
    }
    done += chunk;
  }
  if (gzclose(f) != Z_OK) throw std::runtime_error("cannot write " + tmp);
  fs::rename(tmp, path);
}

fs::path BuildInitramfs(const fs::path& dir, const fs::path& static_binary, const std::string& release,
                        const fs::path& config, const std::vector<fs::path>& modules) {
  const std::string binary = ReadBinary(static_binary);
  const fs::path key = dir / Sha256Hex(binary).substr(0, 16);
  const fs::path base = key / "base.cpio.gz";
  if (!fs::exists(base)) {
    std::vector<CpioEntry> entries;
    for (const char* d : {"proc", "sys", "dev", "tmp", "boot"}) entries.push_back({d, S_IFDIR | 0755, {}});
    entries.push_back({"init", S_IFREG | 0755, Stripped(static_binary, binary, key)});
    WriteGzip(base, CpioNewc(entries));
  }
  std::vector<CpioEntry> extra;
  if (!config.empty() && !release.empty()) {
    extra.push_back({"boot/config-" + release, S_IFREG | 0644, ReadBinary(config)});
  }
  if (!modules.empty()) {
    std::string order;
    for (const char* d : {"lib", "lib/modules", kGuestModuleDir}) extra.push_back({d, S_IFDIR | 0755, {}});
    for (const auto& m : modules) {
      extra.push_back({std::string(kGuestModuleDir) + "/" + m.filename().string(), S_IFREG | 0644, ReadBinary(m)});
      order += m.stem().string() + "\n";
    }
    extra.push_back({std::string(kGuestModuleDir) + "/order", S_IFREG | 0644, order});
  }
  if (extra.empty()) return base;
  const std::string cpio = CpioNewc(extra);
  const fs::path image = key / ("kernel-" + Sha256Hex(cpio).substr(0, 16) + ".img");
  if (!fs::exists(image)) {
    // The kernel unpacks concatenated archives in turn: the shared base, then this kernel's.
    const fs::path part = key / ("part-" + RandomHex() + ".gz");
    WriteGzip(part, cpio);
    const std::string compressed = ReadBinary(part);
    fs::remove(part);
    const std::string tmp = image.string() + ".tmp-" + RandomHex();
    {
      std::ofstream out(tmp, std::ios::binary);
      out << ReadBinary(base) << compressed;
      if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    fs::rename(tmp, image);
  }
  return image;
}

}  // namespace nsc::matrix
