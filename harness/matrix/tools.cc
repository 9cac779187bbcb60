// Host programs through Boost.Process (see tools.h).
#include "tools.h"

#include <map>
#include <stdexcept>

#include <boost/process.hpp>

namespace nsc::matrix {
namespace bp = boost::process;

namespace {

std::string Resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  std::string path = FindProgram(program);
  if (path.empty()) {
    throw std::runtime_error(program + " is not installed (apt-get install " + PackageOf(program) + ")");
  }
  return path;
}

int ExitCodeOf(const bp::child& c) {
  int native = c.native_exit_code();
  if (WIFSIGNALED(native)) return 128 + WTERMSIG(native);
  return c.exit_code();
}

}  // namespace

std::string FindProgram(const std::string& program) {
  boost::filesystem::path p = bp::search_path(program);
  return p.empty() ? std::string() : p.string();
}

std::string PackageOf(const std::string& program) {
  static const std::map<std::string, std::string> kPackages = {
      {"apt-get", "apt"},         {"apt-cache", "apt"},      {"dpkg-deb", "dpkg"},
      {"rpm2cpio", "rpm2cpio"},   {"cpio", "cpio"},          {"tar", "tar"},
      {"xz", "xz-utils"},         {"zstd", "zstd"},          {"lz4", "lz4"},
      {"gzip", "gzip"},           {"bzip2", "bzip2"},        {"lzop", "lzop"},
      {"qemu-system-x86_64", "qemu-system-x86"},
  };
  auto it = kPackages.find(program);
  return it == kPackages.end() ? program : it->second;
}

ToolResult RunTool(const std::vector<std::string>& argv, const fs::path& cwd) {
  std::string exe = Resolve(argv.at(0));
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  bp::ipstream out;
  bp::child c(exe, bp::args(args), bp::std_in < bp::null, (bp::std_out & bp::std_err) > out,
              bp::start_dir(cwd.empty() ? fs::current_path().string() : cwd.string()));
  ToolResult r;
  std::string line;
  while (std::getline(out, line)) r.output += line + "\n";
  c.wait();
  r.exit_code = ExitCodeOf(c);
  return r;
}

ToolResult RunPipeline(const std::vector<std::string>& producer,
                       const std::vector<std::string>& consumer, const fs::path& cwd) {
  std::string exe1 = Resolve(producer.at(0)), exe2 = Resolve(consumer.at(0));
  const std::string dir = cwd.empty() ? fs::current_path().string() : cwd.string();
  bp::pipe data;
  bp::ipstream err1, err2;
  bp::child first(exe1, bp::args(std::vector<std::string>(producer.begin() + 1, producer.end())),
                  bp::std_in < bp::null, bp::std_out > data, bp::std_err > err1, bp::start_dir(dir));
  bp::child second(exe2, bp::args(std::vector<std::string>(consumer.begin() + 1, consumer.end())),
                   bp::std_in < data, bp::std_out > bp::null, bp::std_err > err2, bp::start_dir(dir));
  data.close();  // the children hold their ends; EOF reaches the consumer when the producer ends
  ToolResult r;
  std::string line;
  while (std::getline(err2, line)) r.output += line + "\n";
  while (std::getline(err1, line)) r.output += line + "\n";
  first.wait();
  second.wait();
  r.exit_code = ExitCodeOf(second);
  if (r.exit_code == 0 && ExitCodeOf(first) != 0) r.exit_code = ExitCodeOf(first);
  return r;
}

ToolResult RunToFile(const std::vector<std::string>& argv, const fs::path& out_file) {
  std::string exe = Resolve(argv.at(0));
  bp::ipstream err;
  bp::child c(exe, bp::args(std::vector<std::string>(argv.begin() + 1, argv.end())),
              bp::std_in < bp::null, bp::std_out > out_file.string(), bp::std_err > err);
  ToolResult r;
  std::string line;
  while (std::getline(err, line)) r.output += line + "\n";
  c.wait();
  r.exit_code = ExitCodeOf(c);
  return r;
}

}  // namespace nsc::matrix
