// Reading a saved JSON report for `convert` and `compare`: bounded in size, parsed, checked
// for its schema version, then validated against the report's own JSON Schema (embedded in
// the binary) before anything uses it. Every problem is a UsageError (exit 64) naming the
// file and the JSON pointer of the offending field.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace nsc {

inline constexpr size_t kMaxReportBytes = 64 * 1024 * 1024;

nlohmann::json LoadReport(const std::string& path);

// The first problem of `report` against the schema, as "/json/pointer: message"; "" when valid.
// The namespace enum is widened with this binary's own rule groups (a self-test binary reads
// its own reports).
std::string ReportSchemaProblem(const nlohmann::json& report);

}  // namespace nsc
