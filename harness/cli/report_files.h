// Report files of a run: planned and checked before the run (paths, lengths, writability,
// space), rendered from the canonical JSON report, and written atomically after it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "options.h"

namespace nsc {

struct ReportFile {
  std::string path;  // "-" = stdout
  std::string kind;  // json | junit | junit-strict | ktap | kcidb
  std::string flag;  // where the path came from, for messages ("--json", "--report-dir")
};

// The files a run writes: the defaults under --report-dir (unless --no-default-reports) and
// the ones named explicitly. Throws UsageError when two of them would be the same file.
std::vector<ReportFile> PlanReportFiles(const Options& o, const std::string& kernel_release,
                                        const std::string& machine);

// Before the run: "" when `path` can be written, else the problem (a name longer than
// NAME_MAX or PATH_MAX, a directory that cannot be made, no permission, no room for
// `reserve_bytes`). Creates the directories it needs; leaves no file behind.
std::string CheckWritable(const std::string& path, size_t reserve_bytes);

// Replaces `path` atomically (a temporary name in the same directory, then rename); "-"
// writes to stdout. Returns "" or the error, naming the errno (ENOSPC, EPIPE...). No
// temporary file is left behind on failure.
std::string WriteAtomically(const std::string& path, std::string_view content);

// The text of one report file.
std::string Render(const ReportFile& file, const nlohmann::json& report,
                   JunitProfile junit_profile, bool ktap_nested);

}  // namespace nsc
