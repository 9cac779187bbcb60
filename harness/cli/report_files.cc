#include "report_files.h"

#include <climits>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "../text.h"
#include "write.h"

namespace nsc {
namespace {

namespace fs = std::filesystem;

fs::path DirectoryOf(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

// A short temporary name in the report's directory, so that its length never depends on the
// report's own (a 250-character report name still has a valid temporary name).
std::string TemporaryNameIn(const fs::path& dir) {
  return (dir / (".nsconform-" + RandomHex() + ".tmp")).string();
}

// The file a path names, for comparing two report paths ("-" is stdout).
std::string Identity(const std::string& path) {
  if (path == "-") return path;
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? path : p.string();
}

}  // namespace

std::vector<ReportFile> PlanReportFiles(const Options& o, const std::string& kernel_release,
                                        const std::string& machine) {
  std::vector<ReportFile> files;
  if (o.default_reports) {
    const std::string tag = o.control ? "-control" : "";
    const std::string base = o.report_dir + "/" + kernel_release + "/nsconform-" + kernel_release +
                             "-" + machine + tag;
    files.push_back({base + ".json", "json", "--report-dir"});
    files.push_back({base + ".junit.xml", "junit", "--report-dir"});
    files.push_back({base + ".ktap", "ktap", "--report-dir"});
  }
  if (!o.json_path.empty()) files.push_back({o.json_path, "json", "--json"});
  if (!o.junit_path.empty()) files.push_back({o.junit_path, "junit", "--junit"});
  if (!o.ktap_path.empty()) files.push_back({o.ktap_path, "ktap", "--ktap"});
  if (!o.kcidb_path.empty()) files.push_back({o.kcidb_path, "kcidb", "--kcidb"});
  for (size_t i = 0; i < files.size(); ++i) {
    for (size_t j = i + 1; j < files.size(); ++j) {
      if (Identity(files[i].path) == Identity(files[j].path)) {
        throw UsageError{files[i].flag + " and " + files[j].flag + " both write " +
                         (files[i].path == "-" ? "to stdout" : files[j].path) +
                         "; give each report its own path"};
      }
    }
  }
  return files;
}

std::string CheckWritable(const std::string& path, size_t reserve_bytes) {
  if (path == "-") return {};
  if (path.size() >= PATH_MAX) return "the path is longer than PATH_MAX (" + std::to_string(PATH_MAX - 1) + ")";
  const std::string name = fs::path(path).filename().string();
  if (name.empty() || name == "." || name == "..") return "names a directory, not a file";
  if (name.size() > NAME_MAX) {
    return "the file name is " + std::to_string(name.size()) + " bytes, longer than NAME_MAX (" +
           std::to_string(NAME_MAX) + ")";
  }
  const fs::path dir = DirectoryOf(path);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "cannot create directory " + dir.string() + ": " + ec.message();
  if (fs::is_directory(path, ec)) return path + " is a directory";
  // A trial file of the expected size: no permission, a read-only or a full file system
  // show here, before the run, instead of after it.
  const std::string probe = TemporaryNameIn(dir);
  int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write in " + dir.string() + ": " + ErrnoText(errno);
  int err = reserve_bytes > 0 ? posix_fallocate(fd, 0, static_cast<off_t>(reserve_bytes)) : 0;
  close(fd);
  unlink(probe.c_str());
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
    return "no room for the report in " + dir.string() + " (" + std::to_string(reserve_bytes / 1024) +
           " KiB needed): " + ErrnoText(err);
  }
  return {};
}

std::string WriteAtomically(const std::string& path, std::string_view content) {
  if (path == "-") {
    if (int err = WriteAll(STDOUT_FILENO, content); err != 0) {
      return "cannot write the report to stdout: " + ErrnoText(err);
    }
    return {};
  }
  const std::string tmp = TemporaryNameIn(DirectoryOf(path));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return "cannot write " + path + ": " + ErrnoText(errno);
  int err = WriteAll(fd, content);
  if (close(fd) != 0 && err == 0) err = errno;  // NFS and quotas report late
  if (err == 0 && rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    unlink(tmp.c_str());
    return "cannot write " + path + ": " + ErrnoText(err);
  }
  return {};
}

std::string Render(const ReportFile& f, const nlohmann::json& report, JunitProfile junit_profile,
                   bool ktap_nested) {
  if (f.kind == "json") return report.dump(2) + "\n";
  if (f.kind == "junit") return RenderJunit(report, junit_profile);
  if (f.kind == "junit-strict") return RenderJunit(report, JunitProfile::kStrict);
  if (f.kind == "ktap") return RenderKtap(report, ktap_nested);
  return RenderKcidb(report).dump(2) + "\n";
}

}  // namespace nsc
