// Report framing for the guest's second serial port (see guest_channel.h).
#include "guest_channel.h"

#include <zlib.h>

#include <cstdio>
#include <sstream>

namespace nsc::matrix {
namespace {
constexpr const char* kHeader = "NSCONFORM-REPORT v1 zlib ";
constexpr const char* kTrailer = "\nNSCONFORM-END\n";
}  // namespace

std::string EncodeReportFrame(const std::string& report) {
  uLongf size = compressBound(report.size());
  std::string packed(size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &size,
            reinterpret_cast<const Bytef*>(report.data()), report.size(), 9);
  packed.resize(size);
  const unsigned long crc = crc32(0, reinterpret_cast<const Bytef*>(report.data()), report.size());
  char header[128];
  std::snprintf(header, sizeof header, "%s%zu %zu %08lx\n", kHeader, packed.size(), report.size(), crc);
  return header + packed + kTrailer;
}

bool DecodeReportFrame(const std::string& channel, std::string* report, std::string* why) {
  const size_t start = channel.find(kHeader);
  if (start == std::string::npos) {
    *why = channel.empty() ? "nothing arrived on the report channel (ttyS1)"
                           : "no report header on the report channel (ttyS1)";
    return false;
  }
  const size_t eol = channel.find('\n', start);
  if (eol == std::string::npos) {
    *why = "the report header is cut off";
    return false;
  }
  std::istringstream fields(channel.substr(start + std::string(kHeader).size(), eol - start));
  size_t packed_size = 0, plain_size = 0;
  std::string crc_hex;
  if (!(fields >> packed_size >> plain_size >> crc_hex)) {
    *why = "malformed report header";
    return false;
  }
  if (channel.size() < eol + 1 + packed_size) {
    *why = "the report is cut off: " + std::to_string(channel.size() - eol - 1) + " of " +
           std::to_string(packed_size) + " bytes arrived";
    return false;
  }
  std::string plain(plain_size, '\0');
  uLongf size = plain_size;
  if (uncompress(reinterpret_cast<Bytef*>(plain.data()), &size,
                 reinterpret_cast<const Bytef*>(channel.data() + eol + 1), packed_size) != Z_OK ||
      size != plain_size) {
    *why = "the report does not decompress";
    return false;
  }
  const unsigned long crc = crc32(0, reinterpret_cast<const Bytef*>(plain.data()), plain.size());
  if (std::stoul(crc_hex, nullptr, 16) != crc) {
    *why = "the report's checksum does not match";
    return false;
  }
  *report = std::move(plain);
  return true;
}

}  // namespace nsc::matrix
