// Small text and time utilities for the harness process (never used after fork).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace nsc {

// A bad command line or input file: main() prints "nsconform: <message>" and exits 64.
struct UsageError {
  std::string message;
};

// The file, or `fallback` if it cannot be read. At most `max_bytes` are read, so that a
// device or an endless file given as a path (KCONFIG_PATH=/dev/zero) cannot hang the probe.
inline constexpr size_t kMaxReadFileBytes = 16 * 1024 * 1024;
std::string ReadFileOr(const std::string& path, const std::string& fallback,
                       size_t max_bytes = kMaxReadFileBytes);
std::string Trim(std::string_view s);
std::string Sha256Hex(std::string_view data);
// RFC 3339 UTC with milliseconds and "Z", e.g. 2025-05-01T12:00:01.000Z.
std::string Rfc3339Utc(std::chrono::system_clock::time_point t);
// UTC without zone for JUnit timestamps, e.g. 2025-05-01T12:00:01.
std::string JunitTimestamp(std::chrono::system_clock::time_point t);
// Seconds with a '.' separator whatever the locale, e.g. "0.004". Values that do not fit a
// fixed-point rendering (huge, inf, nan) come out in the shortest general form ("1e+300", "inf").
std::string FormatSeconds(double seconds, int decimals = 3);
// `s` with every byte sequence that is not valid UTF-8 (overlong forms, surrogates, code points
// above U+10FFFF, truncated sequences) replaced by U+FFFD. Valid input comes back unchanged.
std::string SanitizeUtf8(std::string_view s);
// 16 random hex digits from getrandom(2).
std::string RandomHex();
// Glob with '*' and '?', as GoogleTest filters.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace nsc
