// The report's way out of a guest: zlib-compressed and framed on the second serial port
// (ttyS1, raw mode), which QEMU writes straight into a host file.
//   "NSCONFORM-REPORT v1 zlib <compressed bytes> <plain bytes> <crc32 hex>\n" <data> "\nNSCONFORM-END\n"
#pragma once

#include <string>

namespace nsc::matrix {

std::string EncodeReportFrame(const std::string& report);
// The report inside `channel` (the whole ttyS1 capture). False with `why` when there is no
// complete, intact frame.
bool DecodeReportFrame(const std::string& channel, std::string* report, std::string* why);

}  // namespace nsc::matrix
