// nsconform-matrix-bench: how long does the kernel matrix take, and what does emulation cost?
//
// 1. Runs the suite natively (`nsconform -q --json`, one job: the guests have one CPU) and
//    takes its suite time from the report.
// 2. Runs `nsconform matrix ARGS` (the kernels to measure) and reads matrix.json.
// 3. Prints, per kernel: the kernel's wall time (resolve + boot + suite + report), the QEMU
//    time of each boot, the suite time inside the guest and its ratio to the native suite
//    time measured in the same run; then the matrix wall time. Run it twice: the first run
//    fills the cache (cold), the second shows the warm figures.
//
// Usage: nsconform-matrix-bench [--nsconform PATH] [--native-jobs N] -- MATRIX-ARGS...
//   e.g. nsconform-matrix-bench -- --kernels debian-stable -j 2
#include <boost/process.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace bp = boost::process;
namespace fs = std::filesystem;
using nlohmann::json;

int main(int argc, char** argv) {
  std::string nsconform = NSCONFORM_BINARY;
  std::string native_jobs = "1";
  std::vector<std::string> matrix_args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--nsconform" && i + 1 < argc) {
      nsconform = argv[++i];
    } else if (a == "--native-jobs" && i + 1 < argc) {
      native_jobs = argv[++i];
    } else if (a == "--") {
      matrix_args.assign(argv + i + 1, argv + argc);
      break;
    } else {
      std::cerr << "usage: nsconform-matrix-bench [--nsconform PATH] [--native-jobs N] -- MATRIX-ARGS...\n";
      return 64;
    }
  }
  if (matrix_args.empty()) matrix_args = {"--kernels", "debian-stable"};
  const fs::path dir = fs::temp_directory_path() / ("nsconform-matrix-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);

  bp::system(nsconform, "-q", "--no-default-reports", "--json", (dir / "native.json").string(), "-j", native_jobs,
             bp::std_out > bp::null);
  std::ifstream native_in(dir / "native.json");
  const json native = json::parse(native_in);
  const double native_s = native["run"]["duration_s"];

  std::vector<std::string> args = {"matrix", "-q", "--report-dir", (dir / "matrix").string()};
  args.insert(args.end(), matrix_args.begin(), matrix_args.end());
  const auto t0 = std::chrono::steady_clock::now();
  bp::system(nsconform, bp::args(args), bp::std_out > bp::null);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ifstream matrix_in(dir / "matrix" / "matrix.json");
  const json m = json::parse(matrix_in);

  std::printf("native suite (host %s, -j %s): %.1f s\n\n", native["system"]["kernel"]["release"].get<std::string>().c_str(),
              native_jobs.c_str(), native_s);
  std::printf("%-32s %-28s %8s %14s %8s %8s  %s\n", "kernel", "release", "wall s", "qemu s", "suite s",
              "x native", "pass/fail/skip/error");
  for (const auto& k : m["kernels"]) {
    std::string boots;
    for (const auto& a : k["attempts"]) {
      char b[32];
      std::snprintf(b, sizeof b, "%s%.1f", boots.empty() ? "" : "+", a["seconds"].get<double>());
      boots += b;
    }
    const double suite = k.value("suite_s", 0.0);
    std::string counts = "GUEST ERROR";
    if (k["outcome"] == "reported") {
      const json& s = k["summary"];
      counts = std::to_string(s.value("pass", 0)) + "/" + std::to_string(s.value("fail", 0)) + "/" +
               std::to_string(s.value("skip", 0)) + "/" + std::to_string(s.value("error", 0));
    }
    std::printf("%-32s %-28s %8.1f %14s %8.1f %8.1f  %s\n", k["label"].get<std::string>().c_str(),
                k.value("release", "").c_str(), k["wall_s"].get<double>(), boots.c_str(), suite,
                native_s > 0 ? suite / native_s : 0.0, counts.c_str());
  }
  std::printf("\nmatrix wall time: %.1f s for %zu kernels (reports in %s)\n", wall, m["kernels"].size(),
              (dir / "matrix").c_str());
  return 0;
}
