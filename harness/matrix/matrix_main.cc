// `nsconform matrix`: the suite on many real kernels under QEMU, and how they differ.
// Resolve each kernel (kernel.h), build the guest initramfs (initramfs.h), boot it
// (qemu.h), collect its report, then write per-kernel reports and the matrix
// (matrix_report.h). Kernels boot concurrently (-j); a guest that fails is retried once and
// becomes an ERROR column if it fails again; the matrix goes on.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "../report.h"
#include "../subcommands.h"
#include "../text.h"
#include "initramfs.h"
#include "kernel.h"
#include "matrix_report.h"
#include "qemu.h"

namespace nsc {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using matrix::Kernel;
using matrix::KernelRun;
using matrix::KernelSpec;

const char* const kHelp = R"(Usage: nsconform matrix [--kernels LIST] [--kernel IMAGE [--config FILE]]...
                        [--kernel-package FILE.deb|FILE.rpm]... [OPTIONS]

Runs the whole suite on many real kernels, each booted under QEMU with nothing but
nsconform-static in its initramfs, and shows where their namespace behaviour differs.
Nothing is installed on this machine: kernel packages are downloaded with a private apt
configuration under the cache directory (the host's /etc/apt is never used), unpacked
with dpkg-deb, and cached with the exact package name and version, which every report
records (system.kernel.package, system.distro).

Kernels (any mix, at least one)
  --kernels LIST         comma-separated:
                           debian-all      bullseye, bookworm, bookworm-backports, trixie and
                                           sid, each in the amd64, cloud and rt flavours (15)
                           debian-stable   bookworm amd64, cloud, rt
                           debian:SUITE:FLAVOUR   e.g. debian:trixie:rt,debian:sid:amd64
                                           (SUITE or FLAVOUR may be *)
                         Debian kernels are resolved through the meta-packages
                         (linux-image-amd64, linux-image-cloud-amd64, linux-image-rt-amd64).
  --kernel IMAGE         a kernel you built: arch/x86/boot/bzImage (or an ELF vmlinux with
                         a PVH entry). It must have the 8250 serial console, initramfs,
                         devtmpfs and ACPI built in.
  --config FILE          the .config of the preceding --kernel, shipped into the guest as
                         /boot/config-<release> so rule gating and the report see it
  --kernel-package FILE  a kernel package you downloaded (Ubuntu/Debian .deb, Fedora/SUSE
                         .rpm: rpm2cpio and cpio unpack it)

Guests
  -j, --jobs N           guests booted at once (default: number of CPUs). Each TCG guest
                         keeps one CPU busy; use -j 1 when other work shares the machine.
  --accel auto|tcg|kvm   auto (default) uses KVM only when /dev/kvm opens AND the CPU has
                         vmx/svm; otherwise TCG emulation (a KVM node alone proves nothing:
                         paravirtual backends cannot boot stock kernels). A guest that fails
                         under KVM is retried under TCG.
  --timeout-multiplier X scale every rule timeout inside the guest (default 5 under TCG,
                         1 under KVM: emulation is 8-20x slower for syscall-heavy code)
  --boot-timeout S       kill a guest whose init has not started after S seconds (default
                         180: a kernel hung in early boot)
  --timeout S            kill a guest after S seconds in all (default 900)
  --memory MB            guest RAM (default 512)
  --retries N            boots more per kernel after a failed one (default 1): a guest that
                         panics, hangs or never reports is ERROR only when every boot failed;
                         every attempt's console log is kept
  --filter GLOBS, --namespace LIST
                         passed to the suite in the guest (see nsconform --help)
  --static-binary PATH   the guest's /init (default: nsconform-static next to this program)

Files
  --cache-dir DIR        downloads, extracted kernels, initramfs images (keyed by the static
                         binary's hash); default $NSCONFORM_CACHE_DIR, $XDG_CACHE_HOME/nsconform,
                         ~/.cache/nsconform, or /var/cache/nsconform
  --refresh              apt-get update the private package lists now (otherwise once a day)
  --report-dir DIR       default reports/matrix. Per kernel: DIR/<label>/ with the JSON, JUnit,
                         KTAP and KCIDB reports of a native run, console.log (and the logs of
                         failed attempts). The matrix: DIR/matrix.json, matrix.html (one
                         self-contained page: colour per status, reason on hover, filters by
                         namespace and "differs only"), matrix.txt
  --baseline FILE        a matrix.json saved earlier: marks regressions (pass -> fail, or ->
                         a crash/timeout) and fixes per kernel label. A status that moved
                         because of a SKIP or a set-up error is "the environment differed",
                         never a regression
  -q, --quiet            no progress lines (the table is still printed)

Output: progress, one line per kernel (updated in place on a terminal); then the kernels
with their pass/fail/skip/error counts, and a table of only the rules whose status differs
between kernels, with the first kernel (in version order) at which it changes.

Exit codes: 0 every kernel reported and no rule failed or errored (with --baseline: no
regression), 1 otherwise, 64 usage error, 70 internal error.

Examples
  nsconform matrix --kernels debian-stable -j 2
  nsconform matrix --kernels debian:bookworm:cloud,debian:sid:amd64 --namespace user,pid
  nsconform matrix --kernel ~/linux/arch/x86/boot/bzImage --config ~/linux/.config
  nsconform matrix --kernels debian-all --baseline last/matrix.json
)";

struct Options {
  std::vector<KernelSpec> kernels;
  int jobs = 0;
  std::string accel = "auto";
  double timeout_multiplier = 0;
  double boot_timeout_s = 180;
  double timeout_s = 900;
  int memory_mb = 512;
  int retries = 1;
  std::vector<std::string> guest_args;
  fs::path static_binary;
  fs::path cache_dir;
  bool refresh = false;
  fs::path report_dir = "reports/matrix";
  fs::path baseline;
  bool quiet = false;
};

double Number(const std::string& flag, const std::string& value, double min) {
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(v >= min)) {
    throw UsageError{"matrix: " + flag + " needs a number >= " + FormatSeconds(min, 0) + ", got '" + value + "'"};
  }
  return v;
}

fs::path DefaultCacheDir() {
  if (const char* d = std::getenv("NSCONFORM_CACHE_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d != nullptr && *d != '\0') return fs::path(d) / "nsconform";
  if (const char* d = std::getenv("HOME"); d != nullptr && *d != '\0') return fs::path(d) / ".cache" / "nsconform";
  return "/var/cache/nsconform";
}

Options Parse(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], value;
    bool inline_value = false;
    if (a.starts_with("--") && a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      inline_value = true;
    }
    auto need = [&]() -> std::string {
      if (inline_value) return value;
      if (i + 1 >= args.size()) throw UsageError{"matrix: " + a + " needs a value"};
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      std::exit(0);
    } else if (a == "--kernels") {
      for (auto& k : matrix::ParseKernelList(need())) o.kernels.push_back(k);
    } else if (a == "--kernel") {
      fs::path p = need();
      if (!fs::is_regular_file(p)) throw UsageError{"matrix: --kernel " + p.string() + ": no such file"};
      o.kernels.push_back({.source = "image", .path = p});
    } else if (a == "--config") {
      fs::path p = need();
      if (o.kernels.empty() || o.kernels.back().source != "image") {
        throw UsageError{"matrix: --config belongs after the --kernel it describes"};
      }
      if (!fs::is_regular_file(p)) throw UsageError{"matrix: --config " + p.string() + ": no such file"};
      o.kernels.back().config = p;
    } else if (a == "--kernel-package") {
      fs::path p = need();
      if (!fs::is_regular_file(p)) throw UsageError{"matrix: --kernel-package " + p.string() + ": no such file"};
      if (p.extension() != ".deb" && p.extension() != ".rpm") {
        throw UsageError{"matrix: --kernel-package takes a .deb or .rpm file, not " + p.string()};
      }
      o.kernels.push_back({.source = "package", .path = p});
    } else if (a == "-j" || a == "--jobs") {
      o.jobs = static_cast<int>(Number(a, need(), 1));
    } else if (a.starts_with("-j") && a.size() > 2 && !a.starts_with("--")) {
      o.jobs = static_cast<int>(Number("-j", a.substr(2), 1));
    } else if (a == "--accel") {
      o.accel = need();
      if (o.accel != "auto" && o.accel != "tcg" && o.accel != "kvm") {
        throw UsageError{"matrix: --accel is auto, tcg or kvm, not '" + o.accel + "'"};
      }
    } else if (a == "--timeout-multiplier") {
      o.timeout_multiplier = Number(a, need(), 0.01);
    } else if (a == "--boot-timeout") {
      o.boot_timeout_s = Number(a, need(), 1);
    } else if (a == "--timeout") {
      o.timeout_s = Number(a, need(), 1);
    } else if (a == "--memory") {
      o.memory_mb = static_cast<int>(Number(a, need(), 128));
    } else if (a == "--retries") {
      o.retries = static_cast<int>(Number(a, need(), 0));
    } else if (a == "--filter" || a == "--namespace") {
      std::string v = need();
      if (v.find_first_of(" \t\n\"") != std::string::npos) {
        throw UsageError{"matrix: " + a + " '" + v + "' cannot contain spaces or quotes (it goes on the kernel command line)"};
      }
      o.guest_args.insert(o.guest_args.end(), {a, v});
    } else if (a == "--static-binary") {
      o.static_binary = need();
    } else if (a == "--cache-dir") {
      o.cache_dir = need();
    } else if (a == "--refresh") {
      o.refresh = true;
    } else if (a == "--report-dir") {
      o.report_dir = need();
    } else if (a == "--baseline") {
      o.baseline = need();
      if (!fs::is_regular_file(o.baseline)) throw UsageError{"matrix: --baseline " + o.baseline.string() + ": no such file"};
    } else if (a == "-q" || a == "--quiet") {
      o.quiet = true;
    } else {
      throw UsageError{"matrix: unknown option '" + args[i] + "' (see nsconform matrix --help)"};
    }
  }
  if (o.kernels.empty()) {
    throw UsageError{"matrix: no kernel given (--kernels debian-stable, --kernel IMAGE or --kernel-package FILE; see nsconform matrix --help)"};
  }
  std::map<std::string, int> seen;
  for (const auto& k : o.kernels) {
    if (++seen[k.Label()] > 1) throw UsageError{"matrix: kernel " + k.Label() + " is given twice"};
  }
  if (o.jobs <= 0) o.jobs = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  if (o.cache_dir.empty()) o.cache_dir = DefaultCacheDir();
  if (o.static_binary.empty()) {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    o.static_binary = self.filename() == "nsconform-static" ? self : self.parent_path() / "nsconform-static";
  }
  if (!fs::is_regular_file(o.static_binary)) {
    throw UsageError{"matrix: no static suite binary at " + o.static_binary.string() +
                     " (build the nsconform-static target, or give --static-binary PATH)"};
  }
  return o;
}

// One status line per kernel: redrawn in place on a terminal, plain lines otherwise.
class Progress {
 public:
  Progress(std::vector<std::string> labels, bool quiet)
      : labels_(std::move(labels)), lines_(labels_.size(), "waiting"),
        tty_(isatty(STDERR_FILENO) != 0), quiet_(quiet) {
    if (tty_ && !quiet_) Draw(false);
  }
  void Set(size_t i, const std::string& what) {
    std::lock_guard lock(mu_);
    if (lines_[i] == what) return;
    lines_[i] = what;
    if (quiet_) return;
    if (tty_) {
      Draw(true);
    } else if (!what.starts_with("running [") || what.find("0/") != std::string::npos) {
      std::cerr << labels_[i] << ": " << what << "\n";  // CI logs: every tenth rule at most
    }
  }
  void Note(const std::string& line) {
    std::lock_guard lock(mu_);
    if (quiet_) return;
    if (tty_) std::cerr << "\033[" << lines_.size() << "A\r\033[J";
    std::cerr << line << "\n";
    if (tty_) Draw(false);
  }

 private:
  void Draw(bool redraw) {
    if (redraw) std::cerr << "\033[" << lines_.size() << "A";
    size_t width = 0;
    for (const auto& l : labels_) width = std::max(width, l.size());
    for (size_t i = 0; i < lines_.size(); ++i) {
      std::string label = labels_[i];
      label.resize(width, ' ');
      std::cerr << "\r\033[K" << label << "  " << lines_[i] << "\n";
    }
    std::cerr << std::flush;
  }
  std::mutex mu_;
  std::vector<std::string> labels_, lines_;
  bool tty_, quiet_;
};

std::string WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp-" + RandomHex();
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) return "cannot write " + tmp.string();
  }
  fs::rename(tmp, path);
  return {};
}

std::string Counts(const json& summary) {
  return std::to_string(summary.value("pass", 0)) + " pass, " + std::to_string(summary.value("fail", 0)) +
         " fail, " + std::to_string(summary.value("skip", 0)) + " skip, " +
         std::to_string(summary.value("error", 0)) + " error";
}

struct Context {
  Options options;
  matrix::Cache cache;
  std::string accel;
  std::vector<std::unique_ptr<matrix::KernelResolver>> resolvers;
};

// Resolve, boot (with retries), write the per-kernel reports.
KernelRun RunKernel(Context& ctx, const KernelSpec& spec, const std::function<void(const std::string&)>& say) {
  const auto started = std::chrono::steady_clock::now();
  KernelRun run;
  run.label = spec.Label();
  const fs::path dir = ctx.options.report_dir / run.label;
  run.report_dir = dir.string();
  auto finish = [&](KernelRun& r) {
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
  };
  Kernel kernel;
  try {
    matrix::KernelResolver* resolver = nullptr;
    for (auto& r : ctx.resolvers) {
      if (r->Handles(spec)) resolver = r.get();
    }
    kernel = resolver->Resolve(spec, [&](const std::string&, const std::string& what) { say(what); });
  } catch (const std::exception& e) {
    run.error = std::string("cannot resolve the kernel: ") + e.what();
    return finish(run);
  }
  run.release = kernel.release;
  kernel.package["guest_modules"] = kernel.module_order;  // loaded by the guest init
  run.package = kernel.package;
  run.distro = kernel.distro;
  fs::path initrd;
  try {
    say("building the initramfs");
    std::vector<fs::path> modules;
    for (const auto& m : kernel.module_order) modules.push_back(kernel.modules / (m + ".ko"));
    initrd = matrix::BuildInitramfs(ctx.cache.Initramfs(), ctx.options.static_binary, kernel.release,
                                    kernel.config, modules);
  } catch (const std::exception& e) {
    run.error = std::string("cannot build the initramfs: ") + e.what();
    return finish(run);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const double multiplier = ctx.options.timeout_multiplier > 0 ? ctx.options.timeout_multiplier
                                                               : (ctx.accel == "kvm" ? 1.0 : 5.0);
  std::vector<std::string> guest_args = {"--timeout-multiplier", FormatSeconds(multiplier, 2)};
  guest_args.insert(guest_args.end(), ctx.options.guest_args.begin(), ctx.options.guest_args.end());
  std::string accel = ctx.accel;
  for (int attempt = 1; attempt <= 1 + ctx.options.retries; ++attempt) {
    matrix::BootRequest rq{.kernel = kernel.vmlinux.empty() ? kernel.image : kernel.vmlinux,
                           .initrd = initrd,
                           .guest_args = guest_args,
                           .accel = accel,
                           .memory_mb = ctx.options.memory_mb,
                           .timeout_s = ctx.options.timeout_s,
                           .boot_timeout_s = ctx.options.boot_timeout_s,
                           .dir = dir};
    say(std::string("booting ") + kernel.release + (attempt > 1 ? " (attempt " + std::to_string(attempt) + ")" : ""));
    matrix::BootResult boot = matrix::Boot(rq, [&](const std::string& what) { say(what); });
    json a = {{"attempt", attempt}, {"seconds", boot.seconds}, {"qemu_exit", boot.qemu_exit},
              {"accel", accel}, {"kernel_file", rq.kernel.filename().string()}};
    a["qemu_command"] = boot.command;
    fs::remove(dir / "channel.bin");
    if (fs::exists(dir / "qemu.log") && fs::file_size(dir / "qemu.log") == 0) fs::remove(dir / "qemu.log");
    if (boot.have_report) {
      json report = json::parse(boot.report, nullptr, false);
      if (report.is_discarded() || report.value("schema", "") != "nsconform-report") {
        boot.have_report = false;
        boot.why = "the guest's report is not an nsconform JSON report";
      } else {
        report["system"]["kernel"]["package"] = kernel.package;
        report["system"]["distro"] = kernel.distro;
        run.report = std::move(report);
        run.reported = true;
        run.attempts.push_back(a);
        break;
      }
    }
    a["why"] = boot.why;
    run.attempts.push_back(a);
    run.error = boot.why;
    // Keep this attempt's console; the next attempt writes a fresh console.log.
    fs::rename(dir / "console.log", dir / ("console-attempt" + std::to_string(attempt) + ".log"), ec);
    if (accel == "kvm") accel = "tcg";  // KVM that cannot run the guest: emulate instead
  }
  if (!run.reported) {
    WriteText(dir / "error.txt", run.error + "\n");
    return finish(run);
  }
  run.error.clear();
  const std::string base = (dir / ReportBaseName(run.report)).string();
  const json& report = run.report;
  std::string problem;
  for (const auto& [path, text] : std::vector<std::pair<std::string, std::string>>{
           {base + ".json", report.dump(2) + "\n"},
           {base + ".junit.xml", RenderJunit(report, JunitProfile::kCommon)},
           {base + ".ktap", RenderKtap(report, false)},
           {base + ".kcidb.json", RenderKcidb(report).dump(2) + "\n"}}) {
    if (std::string p = WriteText(path, text); !p.empty()) problem = p;
  }
  if (!problem.empty()) throw std::runtime_error(problem);
  return finish(run);
}

}  // namespace

int MatrixMain(const std::vector<std::string>& args) {
  Context ctx;
  ctx.options = Parse(args);
  const Options& o = ctx.options;
  ctx.cache.root = o.cache_dir;
  json baseline;
  if (!o.baseline.empty()) {
    std::ifstream in(o.baseline);
    baseline = json::parse(in, nullptr, false);
    if (baseline.is_discarded() || baseline.value("schema", "") != "nsconform-matrix") {
      throw UsageError{"matrix: --baseline " + o.baseline.string() + " is not a matrix.json of nsconform matrix"};
    }
  }
  std::error_code ec;
  fs::create_directories(o.cache_dir, ec);
  if (ec) throw UsageError{"matrix: cannot create the cache directory " + o.cache_dir.string() + ": " + ec.message()};
  fs::create_directories(o.report_dir, ec);
  if (ec) throw UsageError{"matrix: cannot create the report directory " + o.report_dir.string() + ": " + ec.message()};

  const auto started_wall = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  std::string accel_why = "chosen with --accel";
  ctx.accel = o.accel == "auto" ? matrix::ProbeAccelerator(&accel_why) : o.accel;
  std::vector<std::string> labels;
  for (const auto& k : o.kernels) labels.push_back(k.Label());
  Progress progress(labels, o.quiet);
  progress.Note("nsconform matrix: " + std::to_string(o.kernels.size()) + " kernels, " + std::to_string(o.jobs) +
                " at once, " + ctx.accel + " (" + accel_why + "), cache " + o.cache_dir.string());

  ctx.resolvers = matrix::MakeResolvers(ctx.cache, o.refresh);
  for (auto& r : ctx.resolvers) {
    std::vector<KernelSpec> mine;
    for (const auto& k : o.kernels) {
      if (r->Handles(k)) mine.push_back(k);
    }
    if (!mine.empty()) r->Prepare(mine, [&](const std::string& who, const std::string& what) {
      progress.Note(who + ": " + what);
    });
  }

  std::vector<KernelRun> runs(o.kernels.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  std::mutex error_mu;
  std::string internal_error;
  for (int w = 0; w < std::min<int>(o.jobs, static_cast<int>(o.kernels.size())); ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < o.kernels.size(); i = next++) {
        auto say = [&, i](const std::string& what) { progress.Set(i, what); };
        try {
          runs[i] = RunKernel(ctx, o.kernels[i], say);
        } catch (const std::exception& e) {
          std::lock_guard lock(error_mu);
          internal_error = e.what();
          runs[i].label = o.kernels[i].Label();
          runs[i].error = std::string("internal error: ") + e.what();
        }
        const KernelRun& r = runs[i];
        say(r.reported ? "done in " + FormatSeconds(r.wall_s, 1) + " s: " + Counts(r.report["summary"]) +
                             " (suite " + FormatSeconds(r.report["run"].value("duration_s", 0.0), 1) + " s)"
                       : "ERROR: " + r.error);
      }
    });
  }
  for (auto& t : workers) t.join();

  matrix::SortKernels(runs);
  json meta = {{"generated_at", Rfc3339Utc(started_wall)},
               {"tool_version", std::string(NSCONFORM_VERSION) + " (" + NSCONFORM_GIT_COMMIT + ")"},
               {"accel", ctx.accel},
               {"accel_reason", accel_why},
               {"jobs", o.jobs},
               {"wall_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
               {"static_binary", fs::absolute(o.static_binary).string()},
               {"guest_args", o.guest_args}};
  json m = matrix::BuildMatrix(runs, meta);
  int regressions = 0;
  if (!o.baseline.empty()) regressions = matrix::ApplyBaseline(m, baseline, o.baseline.string());
  const std::string table = matrix::RenderMatrixTable(m);
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"matrix.json", m.dump(2) + "\n"}, {"matrix.html", matrix::RenderMatrixHtml(m)}, {"matrix.txt", table}}) {
    if (std::string p = WriteText(o.report_dir / name, text); !p.empty()) {
      std::cerr << "nsconform: " << p << "\n";
      return 70;
    }
  }
  std::cout << "\n" << table << "\nwall time " << FormatSeconds(m["wall_s"].get<double>(), 1)
            << " s; matrix: " << (o.report_dir / "matrix.html").string() << ", "
            << (o.report_dir / "matrix.json").string() << "\n";
  if (!internal_error.empty()) {
    std::cerr << "nsconform: internal error: " << internal_error << "\n";
    return 70;
  }
  if (!o.baseline.empty()) return regressions > 0 ? 1 : 0;
  bool clean = true;
  for (const auto& r : runs) {
    if (!r.reported || r.report["summary"].value("fail", 0) > 0 || r.report["summary"].value("error", 0) > 0) clean = false;
  }
  return clean ? 0 : 1;
}

}  // namespace nsc
