// nsconform-bench: how fast is the suite, compared with what the kernel itself needs?
//
// 1. Runs the whole suite (`nsconform -q --json`) several times and takes the median wall time.
// 2. In the same process and the same minute, measures the raw kernel cost of what the suite
//    cannot avoid: for every case that ran, one clone3(<the case's namespace flags>) + _exit +
//    waitpid, timed in a tight loop.
// 3. Prints the wall time, the per-case overhead, and the ratio wall / raw. Ratios from one run
//    are comparable across machines; absolute times on a shared machine are not.
//
// Usage: nsconform-bench [--runs N] [--jobs J] [--raw-iterations K] [--nsconform PATH] [-- ARGS]
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nsconform/compat.h"

namespace bp = boost::process;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

unsigned long FlagOf(const std::string& ns) {
  static const std::map<std::string, unsigned long> flags = {
      {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC},   {"mnt", CLONE_NEWNS},
      {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID},   {"time", CLONE_NEWTIME},
      {"user", CLONE_NEWUSER},     {"uts", CLONE_NEWUTS}};
  auto it = flags.find(ns);
  return it == flags.end() ? 0 : it->second;
}

// Mean seconds of one clone3(flags) + child _exit(0) + waitpid, or -1 if the kernel refuses.
double RawCloneCost(unsigned long flags, int iterations) {
  clone_args args{};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) {
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) _exit(0);
    if (pid < 0) return -1;
    int status;
    waitpid(static_cast<pid_t>(pid), &status, 0);
  }
  return std::chrono::duration<double>(Clock::now() - start).count() / iterations;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5, jobs = 0, raw_iterations = 200;
  std::string nsconform = NSCONFORM_BINARY;
  std::vector<std::string> extra;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--runs") {
      runs = std::max(1, std::stoi(value()));
    } else if (a == "--jobs") {
      jobs = std::stoi(value());
    } else if (a == "--raw-iterations") {
      raw_iterations = std::max(1, std::stoi(value()));
    } else if (a == "--nsconform") {
      nsconform = value();
    } else if (a == "--") {
      extra.assign(argv + i + 1, argv + argc);
      break;
    } else {
      std::cerr << "usage: nsconform-bench [--runs N] [--jobs J] [--raw-iterations K] "
                   "[--nsconform PATH] [-- NSCONFORM-ARGS]\n";
      return a == "--help" ? 0 : 64;
    }
  }

  auto dir = std::filesystem::temp_directory_path() / ("nsconform-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string report_path = (dir / "report.json").string();

  std::vector<double> walls;
  json report;
  for (int r = 0; r < runs; ++r) {
    std::vector<std::string> args = {"-q", "--no-default-reports", "--json", report_path};
    if (jobs > 0) args.push_back("-j" + std::to_string(jobs));
    args.insert(args.end(), extra.begin(), extra.end());
    auto start = Clock::now();
    bp::child c(nsconform, bp::args(args), bp::std_out > bp::null, bp::std_err > bp::null);
    c.wait();
    walls.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    if (c.exit_code() != 0 && c.exit_code() != 1 && c.exit_code() != 4) {
      std::cerr << "nsconform exited with " << c.exit_code() << "\n";
      return 70;
    }
    std::ifstream in(report_path);
    report = json::parse(in);
  }
  struct rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  std::filesystem::remove_all(dir);

  // Raw kernel cost of the same namespace creations, measured now, in this process.
  std::map<unsigned long, double> cost_by_flags;
  double raw_total = 0, case_time_total = 0;
  int ran = 0;
  for (const auto& res : report["results"]) {
    if (res["status"] == "skip") continue;
    ++ran;
    case_time_total += res.value("duration_s", 0.0);
    unsigned long flags = 0;
    for (const auto& ns : res["requires"]["namespaces"]) flags |= FlagOf(ns);
    if (!cost_by_flags.contains(flags)) cost_by_flags[flags] = RawCloneCost(flags, raw_iterations);
    if (cost_by_flags[flags] > 0) raw_total += cost_by_flags[flags];
  }
  const double wall = Median(walls);
  const int total = report["summary"]["total"];
  std::printf("nsconform-bench (%s)\n", report["system"]["kernel"]["release"].get<std::string>().c_str());
  std::printf("  rules                      %d (%d ran, %d skipped)\n", total, ran, total - ran);
  std::printf("  full-suite wall time        %.3f s  (median of %d runs; min %.3f, max %.3f)\n", wall,
              runs, *std::min_element(walls.begin(), walls.end()),
              *std::max_element(walls.begin(), walls.end()));
  std::printf("  wall time per rule          %.3f ms\n", ran ? wall / ran * 1e3 : 0.0);
  std::printf("  mean case duration          %.3f ms  (fork to verdict, as the harness measured it)\n",
              ran ? case_time_total / ran * 1e3 : 0.0);
  std::printf("  raw kernel cost, all rules  %.3f ms  (one clone3+exit+wait per rule with its "
              "namespace flags)\n",
              raw_total * 1e3);
  std::printf("  per-rule overhead           %.3f ms  ((wall - raw) / rules ran)\n",
              ran ? (wall - raw_total) / ran * 1e3 : 0.0);
  std::printf("  ratio wall / raw            %.1f\n", raw_total > 0 ? wall / raw_total : 0.0);
  std::printf("  peak RSS of nsconform       %.1f MiB\n", ru.ru_maxrss / 1024.0);
  std::printf("  target: whole catalogue <= 1 s on 2 cores: %s\n", wall <= 1.0 ? "met" : "not met");
  return 0;
}
