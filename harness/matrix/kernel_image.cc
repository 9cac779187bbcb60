// What a bzImage carries: its release string and the compressed ELF vmlinux (see kernel.h).
#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <fstream>
#include <iterator>

#include "../text.h"
#include "kernel.h"
#include "tools.h"

namespace nsc::matrix {
namespace {

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Codec {
  std::string magic;
  std::vector<std::string> decompress;  // reads the file given as last argument, writes stdout
};

const std::vector<Codec>& Codecs() {
  static const std::vector<Codec> kCodecs = {
      {std::string("\x1f\x8b\x08", 3), {"gzip", "-dc"}},
      {std::string("\xfd\x37\x7a\x58\x5a\x00", 6), {"xz", "-dc"}},
      {std::string("\x28\xb5\x2f\xfd", 4), {"zstd", "-dcq"}},
      {std::string("\x02\x21\x4c\x18", 4), {"lz4", "-dc"}},
      {std::string("BZh", 3), {"bzip2", "-dc"}},
      {std::string("\x5d\x00\x00\x00", 4), {"xz", "--format=lzma", "-dc"}},
  };
  return kCodecs;
}

}  // namespace

std::string BzImageRelease(const fs::path& image) {
  std::ifstream in(image, std::ios::binary);
  char hdr[0x210] = {};
  if (!in.read(hdr, sizeof hdr)) return {};
  if (std::string(hdr + 0x202, 4) != "HdrS") return {};
  // setup header: kernel_version (u16 at 0x20e) points to a string at offset value + 0x200.
  const unsigned offset = static_cast<unsigned char>(hdr[0x20e]) |
                          (static_cast<unsigned char>(hdr[0x20f]) << 8);
  in.seekg(offset + 0x200);
  char text[256] = {};
  in.read(text, sizeof text - 1);
  std::string version(text);
  return version.substr(0, version.find(' '));
}

bool ExtractVmlinux(const fs::path& image, const fs::path& out, std::string* why) {
  const std::string data = ReadAll(image);
  if (data.empty()) {
    *why = "cannot read " + image.string();
    return false;
  }
  const fs::path tail = out.string() + ".payload";
  std::vector<std::string> tried;
  auto attempt = [&](size_t pos, size_t length, const Codec& codec) {
    if (FindProgram(codec.decompress[0]).empty()) {
      tried.push_back(codec.decompress[0] + " (not installed: apt-get install " +
                      PackageOf(codec.decompress[0]) + ")");
      return false;
    }
    {
      std::ofstream t(tail, std::ios::binary | std::ios::trunc);
      t.write(data.data() + pos, static_cast<std::streamsize>(std::min(length, data.size() - pos)));
    }
    std::vector<std::string> argv = codec.decompress;
    argv.push_back(tail.string());
    RunToFile(argv, out);  // trailing data after the payload makes some tools exit nonzero
    std::ifstream check(out, std::ios::binary);
    char elf[4] = {};
    check.read(elf, 4);
    if (std::string(elf, 4) == "\x7f" "ELF") return true;
    tried.push_back(codec.decompress[0] + " at offset " + std::to_string(pos));
    return false;
  };
  auto u32 = [&](size_t at) {
    return static_cast<size_t>(static_cast<unsigned char>(data[at])) |
           static_cast<size_t>(static_cast<unsigned char>(data[at + 1])) << 8 |
           static_cast<size_t>(static_cast<unsigned char>(data[at + 2])) << 16 |
           static_cast<size_t>(static_cast<unsigned char>(data[at + 3])) << 24;
  };
  // Boot protocol >= 2.08: payload_offset/payload_length (0x248/0x24c) locate the compressed
  // vmlinux after the real-mode setup sectors.
  if (data.size() > 0x250 && data.compare(0x202, 4, "HdrS") == 0) {
    size_t setup_sects = static_cast<unsigned char>(data[0x1f1]);
    if (setup_sects == 0) setup_sects = 4;
    const size_t pos = (setup_sects + 1) * 512 + u32(0x248);
    const size_t length = u32(0x24c);
    for (const Codec& codec : Codecs()) {
      if (pos < data.size() && data.compare(pos, codec.magic.size(), codec.magic) == 0 &&
          attempt(pos, length, codec)) {
        fs::remove(tail);
        return true;
      }
    }
  }
  // Otherwise scan for the unambiguous magics (gzip, xz, zstd, lz4), as extract-vmlinux does.
  for (size_t pos = 0; pos + 8 < data.size(); ++pos) {
    for (size_t i = 0; i < 4; ++i) {
      const Codec& codec = Codecs()[i];
      if (data.compare(pos, codec.magic.size(), codec.magic) == 0 &&
          attempt(pos, data.size() - pos, codec)) {
        fs::remove(tail);
        return true;
      }
    }
    if (tried.size() > 8) break;
  }
  fs::remove(tail);
  fs::remove(out);
  *why = "no compressed ELF payload found in " + image.string();
  if (!tried.empty()) {
    *why += " (tried";
    for (const auto& t : tried) *why += " " + t;
    *why += ")";
  }
  return false;
}

bool IsElf(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return std::string(magic, 4) == "\x7f" "ELF";
}

bool HasPvhEntry(const fs::path& vmlinux) {
  // Elf note: namesz=4, descsz, type=18 (XEN_ELFNOTE_PHYS32_ENTRY), name "Xen\0".
  const std::string data = ReadAll(vmlinux);
  const std::string tail("\x12\0\0\0Xen\0", 8);
  for (size_t pos = data.find(tail); pos != std::string::npos; pos = data.find(tail, pos + 1)) {
    if (pos >= 8 && data.compare(pos - 8, 4, std::string("\x04\0\0\0", 4)) == 0) return true;
  }
  return false;
}

std::string ElfRelease(const fs::path& vmlinux) {
  const std::string data = ReadAll(vmlinux);
  const std::string marker = "Linux version ";
  for (size_t pos = data.find(marker); pos != std::string::npos; pos = data.find(marker, pos + 1)) {
    size_t end = data.find(' ', pos + marker.size());
    std::string release = data.substr(pos + marker.size(), end - pos - marker.size());
    if (!release.empty() && std::isdigit(static_cast<unsigned char>(release[0])) &&
        release.find('%') == std::string::npos) {
      return release;
    }
  }
  return {};
}

void PrepareImage(Kernel& k, const fs::path& image, const fs::path& dir) {
  if (IsElf(image)) {
    k.image = image;
    k.vmlinux = HasPvhEntry(image) ? image : fs::path();
    k.release = ElfRelease(image);
    if (k.vmlinux.empty()) {
      throw std::runtime_error(image.string() + " is an ELF vmlinux without a PVH entry (CONFIG_PVH): "
                               "give the bzImage instead");
    }
    return;
  }
  k.image = image;
  k.release = BzImageRelease(image);
  if (k.release.empty()) throw std::runtime_error(image.string() + " is neither a bzImage nor an ELF vmlinux");
  const fs::path vmlinux = dir / "vmlinux";
  const fs::path no_pvh = dir / "vmlinux.none";
  if (fs::exists(vmlinux)) {
    k.vmlinux = vmlinux;
    return;
  }
  if (fs::exists(no_pvh)) return;  // known: boot the bzImage
  fs::create_directories(dir);
  const fs::path tmp = dir / ("vmlinux.tmp-" + RandomHex());
  std::string why;
  if (ExtractVmlinux(image, tmp, &why) && HasPvhEntry(tmp)) {
    fs::rename(tmp, vmlinux);
    k.vmlinux = vmlinux;
  } else {
    fs::remove(tmp);
    std::ofstream(no_pvh) << (why.empty() ? "no PVH entry note" : why) << "\n";
  }
}


}  // namespace nsc::matrix
