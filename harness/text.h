// Small text and time utilities for the harness process (never used after fork).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace nsc {

// A bad command line or input file: main() prints "nsconform: <message>" and exits 64.
struct UsageError {
  std::string message;
};

// The whole file, or `fallback` if it cannot be read.
std::string ReadFileOr(const std::string& path, const std::string& fallback);
std::string Trim(std::string_view s);
std::string Sha256Hex(std::string_view data);
// RFC 3339 UTC with milliseconds and "Z", e.g. 2025-05-01T12:00:01.000Z.
std::string Rfc3339Utc(std::chrono::system_clock::time_point t);
// UTC without zone for JUnit timestamps, e.g. 2025-05-01T12:00:01.
std::string JunitTimestamp(std::chrono::system_clock::time_point t);
// Seconds with a '.' separator whatever the locale, e.g. "0.004".
std::string FormatSeconds(double seconds, int decimals = 3);
// 16 random hex digits from getrandom(2).
std::string RandomHex();
// Glob with '*' and '?', as GoogleTest filters.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace nsc
