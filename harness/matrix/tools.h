// Running the host programs the matrix needs (apt-get, dpkg-deb, rpm2cpio, cpio, tar, the
// decompressors, qemu-system-x86_64) with Boost.Process: argv vectors, never a shell.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace nsc::matrix {

namespace fs = std::filesystem;

struct ToolResult {
  int exit_code = -1;  // exit status, or 128 + signal
  std::string output;  // stdout and stderr together (for error messages)
};

// The absolute path of `program` in PATH, or "" when it is not installed.
std::string FindProgram(const std::string& program);

// Runs argv (argv[0] searched in PATH) in `cwd`, stdin from /dev/null, stdout and stderr
// captured. Throws std::runtime_error naming the Debian package when argv[0] is missing.
ToolResult RunTool(const std::vector<std::string>& argv, const fs::path& cwd = {});

// Runs `producer | consumer` (e.g. dpkg-deb --fsys-tarfile X | tar -x) in `cwd`. The result
// is the consumer's; a failing producer makes the exit code nonzero too.
ToolResult RunPipeline(const std::vector<std::string>& producer,
                       const std::vector<std::string>& consumer, const fs::path& cwd = {});

// Runs argv with stdout written to `out_file` (stderr captured into the result).
ToolResult RunToFile(const std::vector<std::string>& argv, const fs::path& out_file);

// "apt-get" -> "apt": the Debian package that ships a program (for "install X" messages).
std::string PackageOf(const std::string& program);

}  // namespace nsc::matrix
