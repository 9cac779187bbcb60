// `nsconform matrix`: the parts that need no network (kernel lists, the guest's report
// channel, the initramfs archive, the matrix and its renderings, the command line), and one
// end-to-end run that downloads a real Debian kernel, boots it under QEMU and checks the
// report that came back (MatrixEndToEnd.*; ctest runs it as matrix_e2e_test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "matrix/guest_channel.h"
#include "matrix/initramfs.h"
#include "matrix/kernel.h"
#include "matrix/matrix_report.h"
#include "support.h"
#include "text.h"

namespace nsc::test {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

// --- kernel lists ------------------------------------------------------------------------------

TEST(MatrixKernels, DebianAllIsEverySuiteTimesEveryFlavour) {
  auto all = matrix::ParseKernelList("debian-all");
  ASSERT_THAT(all, SizeIs(15));
  EXPECT_EQ(all.front().Label(), "debian-bullseye-amd64");
  EXPECT_EQ(all.back().Label(), "debian-sid-rt");
}

TEST(MatrixKernels, StableIsBookwormsThreeFlavours) {
  std::vector<std::string> labels;
  for (const auto& k : matrix::ParseKernelList("debian-stable")) labels.push_back(k.Label());
  EXPECT_THAT(labels, ElementsAre("debian-bookworm-amd64", "debian-bookworm-cloud", "debian-bookworm-rt"));
}

TEST(MatrixKernels, ExplicitListsAndWildcards) {
  std::vector<std::string> labels;
  for (const auto& k : matrix::ParseKernelList("debian:trixie:rt, debian:sid:amd64,debian:*:cloud")) {
    labels.push_back(k.Label());
  }
  EXPECT_THAT(labels, ElementsAre("debian-trixie-rt", "debian-sid-amd64", "debian-bullseye-cloud",
                                  "debian-bookworm-cloud", "debian-bookworm-backports-cloud",
                                  "debian-trixie-cloud", "debian-sid-cloud"));
}

TEST(MatrixKernels, UnknownNamesAreUsageErrors) {
  for (const char* bad : {"debian:buster:amd64", "debian:sid:arm64", "ubuntu-all", "debian:sid"}) {
    EXPECT_THROW(matrix::ParseKernelList(bad), UsageError) << bad;
  }
}

TEST(MatrixKernels, MetaPackagesAndPrivateSources) {
  EXPECT_EQ(matrix::DebianMetaPackage("amd64"), "linux-image-amd64");
  EXPECT_EQ(matrix::DebianMetaPackage("cloud"), "linux-image-cloud-amd64");
  EXPECT_EQ(matrix::DebianMetaPackage("rt"), "linux-image-rt-amd64");
  auto bookworm = matrix::DebianSourcesList("bookworm");
  ASSERT_THAT(bookworm, SizeIs(2));
  EXPECT_THAT(bookworm[0], AllOf(HasSubstr("signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"),
                                 HasSubstr(" bookworm main")));
  EXPECT_THAT(bookworm[1], HasSubstr("debian-security bookworm-security main"));
  EXPECT_THAT(matrix::DebianSourcesList("sid"), SizeIs(1));
  EXPECT_THAT(matrix::DebianSourcesList("bookworm-backports"), ElementsAre(HasSubstr(" bookworm-backports main")));
}

TEST(MatrixKernels, ReleaseFromABzImageHeader) {
  TempDir dir("bz");
  std::string image(0x1000, '\0');
  image.replace(0x202, 4, "HdrS");
  image[0x20e] = 0x00;  // kernel_version at 0x200 + 0x200
  image[0x20f] = 0x02;
  const std::string version = "6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP";
  image.replace(0x400, version.size(), version);
  WriteFile(dir / "bzImage", image);
  EXPECT_EQ(matrix::BzImageRelease(dir / "bzImage"), "6.1.0-57-cloud-amd64");
  WriteFile(dir / "not", std::string(0x1000, 'x'));
  EXPECT_EQ(matrix::BzImageRelease(dir / "not"), "");
}

TEST(MatrixKernels, ReleasesSortByVersionNumbers) {
  EXPECT_THAT(matrix::ReleaseNumbers("6.12.117+deb12-cloud-amd64"), ElementsAre(6, 12, 117));
  EXPECT_THAT(matrix::ReleaseNumbers("6.1.0-57-amd64"), ElementsAre(6, 1, 0));
  EXPECT_THAT(matrix::ReleaseNumbers("7.2"), ElementsAre(7, 2, 0));
}

// --- the guest's report channel ----------------------------------------------------------------

TEST(MatrixChannel, ReportSurvivesFramingWithBootNoiseAround) {
  std::string report = R"({"schema":"nsconform-report","x":")" + std::string(100000, 'a') + "\"}";
  std::string channel = "\r\nnoise" + matrix::EncodeReportFrame(report) + "trailing";
  std::string got, why;
  ASSERT_TRUE(matrix::DecodeReportFrame(channel, &got, &why)) << why;
  EXPECT_EQ(got, report);
  EXPECT_LT(matrix::EncodeReportFrame(report).size(), report.size() / 10) << "compressed";
}

TEST(MatrixChannel, TruncatedOrCorruptReportsAreRejected) {
  const std::string frame = matrix::EncodeReportFrame(std::string(5000, 'z') + "end");
  std::string got, why;
  EXPECT_FALSE(matrix::DecodeReportFrame("", &got, &why));
  EXPECT_THAT(why, HasSubstr("nothing arrived"));
  EXPECT_FALSE(matrix::DecodeReportFrame(frame.substr(0, frame.size() / 2), &got, &why));
  EXPECT_THAT(why, HasSubstr("cut off"));
  std::string corrupt = frame;
  corrupt[corrupt.find('\n') + 10] ^= 0x55;
  EXPECT_FALSE(matrix::DecodeReportFrame(corrupt, &got, &why));
}

// --- the initramfs -----------------------------------------------------------------------------

TEST(MatrixInitramfs, CpioListsItsEntriesWithModes) {
  TempDir dir("cpio");
  const std::string archive = matrix::CpioNewc({{"proc", S_IFDIR | 0755, {}},
                                                {"init", S_IFREG | 0755, "#!binary"},
                                                {"boot/config-6.1.0-57-amd64", S_IFREG | 0644, "CONFIG_X=y\n"}});
  WriteFile(dir / "a.cpio", archive);
  // The real cpio reads it back (cpio -itv < a.cpio).
  Spawned p = Spawn({"/usr/bin/python3", "-c",
                     "import subprocess,sys; sys.stdout.write(subprocess.run(['cpio','-itv'],stdin=open(sys.argv[1],'rb'),"
                     "capture_output=True,text=True).stdout)",
                     (dir / "a.cpio").string()});
  ASSERT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_THAT(p.out, AllOf(HasSubstr("drwxr-xr-x"), HasSubstr("-rwxr-xr-x"), HasSubstr(" init"),
                           HasSubstr("boot/config-6.1.0-57-amd64")));
}

TEST(MatrixInitramfs, CachedByBinaryHashWithTheConfigAppended) {
  TempDir dir("initramfs");
  WriteFile(dir / "static", "pretend static binary");
  WriteFile(dir / "config", "CONFIG_PVH=y\n");
  fs::path a = matrix::BuildInitramfs(dir / "cache", dir / "static", "6.1.0-57-amd64", dir / "config");
  fs::path b = matrix::BuildInitramfs(dir / "cache", dir / "static", "6.1.0-57-amd64", dir / "config");
  EXPECT_EQ(a, b);
  fs::path base = matrix::BuildInitramfs(dir / "cache", dir / "static", "", {});
  EXPECT_EQ(base.filename(), "base.cpio.gz");
  EXPECT_EQ(base.parent_path(), a.parent_path()) << "keyed by the binary's hash";
  EXPECT_GT(fs::file_size(a), fs::file_size(base));
  WriteFile(dir / "static", "another binary");
  EXPECT_NE(matrix::BuildInitramfs(dir / "cache", dir / "static", "", {}).parent_path(), base.parent_path());
}

// --- the matrix --------------------------------------------------------------------------------

json Result(const std::string& id, const std::string& status, const std::string& code = "",
            const std::string& reason = "") {
  json r = {{"id", id}, {"namespace", id.substr(0, id.find('.'))}, {"title", "t " + id}, {"status", status}};
  if (!code.empty()) r["reason_code"] = code;
  if (!reason.empty()) r["reason"] = reason;
  return r;
}

matrix::KernelRun Run(const std::string& label, const std::string& release, json results) {
  matrix::KernelRun r;
  r.label = label;
  r.release = release;
  r.reported = true;
  r.package = {{"name", "linux-image-" + release}, {"version", "v" + release}};
  json summary = {{"pass", 0}, {"fail", 0}, {"skip", 0}, {"error", 0}};
  for (const auto& x : results) summary[x["status"].get<std::string>()] = summary[x["status"].get<std::string>()].get<int>() + 1;
  r.report = {{"summary", summary}, {"results", results}, {"run", {{"duration_s", 12.5}}},
              {"system", {{"kernel", {{"version", "#1 SMP"}, {"config", {{"source", "boot"}}}}}}},
              {"exec", {{"cgroup", "0::/"}}}, {"invocation", {{"timeouts", {{"multiplier", 5.0}}}}}};
  return r;
}

std::vector<matrix::KernelRun> ThreeKernels() {
  std::vector<matrix::KernelRun> runs = {
      Run("debian-sid-amd64", "7.2.13-amd64",
          {Result("pid.a", "pass"), Result("user.b", "pass"), Result("net.c", "pass")}),
      Run("debian-bullseye-amd64", "5.10.0-35-amd64",
          {Result("pid.a", "pass"), Result("user.b", "skip", "KERNEL_TOO_OLD", "needs 5.12"),
           Result("net.c", "fail", "EXPECTATION_MISMATCH", "EOPNOTSUPP")}),
      Run("debian-bookworm-amd64", "6.1.0-57-amd64",
          {Result("pid.a", "pass"), Result("user.b", "pass"), Result("net.c", "pass")}),
  };
  matrix::SortKernels(runs);
  return runs;
}

TEST(MatrixReport, KernelsInVersionOrderAndOnlyDifferingRowsMarked) {
  json m = matrix::BuildMatrix(ThreeKernels(), {{"generated_at", "now"}});
  ASSERT_THAT(m["kernels"], SizeIs(3));
  EXPECT_EQ(m["kernels"][0]["label"], "debian-bullseye-amd64");
  EXPECT_EQ(m["kernels"][2]["label"], "debian-sid-amd64");
  std::map<std::string, json> rows;
  for (const auto& r : m["rules"]) rows[r["id"]] = r;
  EXPECT_FALSE(rows["pid.a"]["differs"]);
  EXPECT_TRUE(rows["user.b"]["differs"]);
  EXPECT_EQ(rows["user.b"]["first_change"]["release"], "6.1.0-57-amd64");
  EXPECT_EQ(rows["user.b"]["first_change"]["kind"], "environment") << "a SKIP moved, not behaviour";
  EXPECT_EQ(rows["net.c"]["first_change"]["kind"], "fix");
  EXPECT_EQ(rows["net.c"]["cells"]["debian-bullseye-amd64"]["reason"], "EOPNOTSUPP");
  EXPECT_EQ(m["summary"]["rows_differing"], 2);
}

TEST(MatrixReport, AGuestThatNeverReportedIsAnErrorColumnNotADifference) {
  auto runs = ThreeKernels();
  matrix::KernelRun dead;
  dead.label = "debian-sid-rt";
  dead.release = "7.2.13-rt-amd64";
  dead.error = "QEMU exited 0 (guest panicked)";
  runs.push_back(dead);
  json m = matrix::BuildMatrix(runs, json::object());
  EXPECT_EQ(m["summary"]["guest_errors"], 1);
  EXPECT_EQ(m["summary"]["rows_differing"], 2);
  EXPECT_EQ(m["rules"][0]["cells"]["debian-sid-rt"]["reason_code"], "GUEST_FAILED");
  EXPECT_THAT(matrix::RenderMatrixTable(m), HasSubstr("GUEST ERROR: QEMU exited 0"));
}

TEST(MatrixReport, ChangesAreClassifiedKernelVersusEnvironment) {
  auto cls = [](json a, json b) { return matrix::ClassifyChange(a, b); };
  EXPECT_EQ(cls(Result("x.y", "pass"), Result("x.y", "fail")), "regression");
  EXPECT_EQ(cls(Result("x.y", "pass"), Result("x.y", "error", "CRASHED")), "regression");
  EXPECT_EQ(cls(Result("x.y", "pass"), Result("x.y", "error", "SETUP_FAILED")), "environment");
  EXPECT_EQ(cls(Result("x.y", "pass"), Result("x.y", "skip", "KCONFIG_MISSING")), "environment");
  EXPECT_EQ(cls(Result("x.y", "skip", "KERNEL_TOO_OLD"), Result("x.y", "pass")), "environment");
  EXPECT_EQ(cls(Result("x.y", "fail"), Result("x.y", "pass")), "fix");
  EXPECT_EQ(cls(Result("x.y", "pass"), Result("x.y", "pass")), "same");
}

TEST(MatrixReport, BaselineMarksRegressionsAndFixesPerKernelLabel) {
  json before = matrix::BuildMatrix(ThreeKernels(), json::object());
  auto runs = ThreeKernels();
  runs[2].report["results"][0] = Result("pid.a", "fail", "EXPECTATION_MISMATCH", "getpid() was 2");  // sid
  runs[0].report["results"][2] = Result("net.c", "pass");                                           // bullseye
  runs[1].report["results"][1] = Result("user.b", "skip", "DISABLED_BY_SYSCTL", "off");              // bookworm
  json now = matrix::BuildMatrix(runs, json::object());
  EXPECT_EQ(matrix::ApplyBaseline(now, before, "old.json"), 1);
  ASSERT_THAT(now["baseline"]["regressions"], SizeIs(1));
  EXPECT_EQ(now["baseline"]["regressions"][0]["id"], "pid.a");
  EXPECT_EQ(now["baseline"]["regressions"][0]["kernel"], "debian-sid-amd64");
  ASSERT_THAT(now["baseline"]["fixes"], SizeIs(1));
  EXPECT_EQ(now["baseline"]["fixes"][0]["kernel"], "debian-bullseye-amd64");
  ASSERT_THAT(now["baseline"]["other"], SizeIs(1));
  EXPECT_EQ(now["baseline"]["other"][0]["kind"], "environment");
  const std::string table = matrix::RenderMatrixTable(now);
  EXPECT_THAT(table, AllOf(HasSubstr("1 regressions, 1 fixes"), HasSubstr("REGRESSION pid.a on debian-sid-amd64")));
}

TEST(MatrixReport, TableShowsOnlyRowsThatDiffer) {
  const std::string table = matrix::RenderMatrixTable(matrix::BuildMatrix(ThreeKernels(), json::object()));
  EXPECT_THAT(table, AllOf(HasSubstr("user.b"), HasSubstr("net.c"), HasSubstr("2 of 3 differ"),
                           HasSubstr("changes at 6.1.0-57-amd64")));
  EXPECT_THAT(table.substr(table.find("differ)")), Not(HasSubstr("pid.a")));
}

TEST(MatrixReport, HtmlIsSelfContainedWithFiltersAndReasons) {
  const std::string html = matrix::RenderMatrixHtml(matrix::BuildMatrix(ThreeKernels(), json::object()));
  EXPECT_THAT(html, AllOf(StartsWith("<!DOCTYPE html>"), HasSubstr("id=\"ns\""), HasSubstr("id=\"differs\""),
                          HasSubstr("title=\"fail EXPECTATION_MISMATCH: EOPNOTSUPP\""),
                          HasSubstr("data-ns=\"user\" data-differs=\"1\""), HasSubstr("<td class=\"skip\"")));
  EXPECT_THAT(html, AllOf(Not(HasSubstr("src=\"http")), Not(HasSubstr("href=\"http")), Not(HasSubstr("<link"))));
}

// --- the command line --------------------------------------------------------------------------

Spawned Matrix(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), {Paths::Nsconform().string(), "matrix"});
  return Spawn(args, {.extra_env = env, .watch_exe = Paths::Nsconform()});
}

TEST(MatrixCli, HelpTeachesKernelsAndExitCodes) {
  Spawned p = Matrix({"--help"});
  EXPECT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_THAT(p.out, AllOf(StartsWith("Usage: nsconform matrix"), HasSubstr("debian-all"),
                           HasSubstr("--kernel-package"), HasSubstr("--baseline"), HasSubstr("Exit codes")));
}

TEST(MatrixCli, BadInputIsExit64WithOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"--kernels", "debian:hamm:amd64"},
           {"--kernel", "/nonexistent/bzImage"},
           {"--config", "/etc/hostname"},
           {"--kernels", "debian-stable", "--accel", "xen"},
           {"--kernels", "debian-stable", "--static-binary", "/nonexistent"},
           {"--kernels", "debian:sid:rt,debian:sid:rt"},
           {"--kernel-package", "/etc/hostname"}}) {
    Spawned p = Matrix(args);
    EXPECT_EQ(p.exit_code, 64) << p.Describe();
    EXPECT_THAT(Lines(p.err), SizeIs(1)) << p.Describe();
    EXPECT_THAT(p.err, StartsWith("nsconform: matrix: "));
  }
}

TEST(MatrixCli, GuestInitRefusesToRunOutsideAGuest) {
  Spawned p = Spawn({Paths::NsconformStatic().string(), "guest-init"});
  EXPECT_EQ(p.exit_code, 64) << p.Describe();
  EXPECT_THAT(p.err, HasSubstr("only as PID 1"));
}

// --- end to end: a real Debian kernel under QEMU ------------------------------------------------

TEST(MatrixEndToEnd, BookwormCloudKernelBootsAndReportsBack) {
  if (!IsRoot()) GTEST_SKIP() << "needs root (apt-get download with the private configuration)";
  TempDir dir("matrix-e2e");
  const char* cache = std::getenv("NSCONFORM_CACHE_DIR");
  const fs::path cache_dir = cache != nullptr && *cache ? fs::path(cache) : fs::path(NSC_TEST_MATRIX_CACHE);
  Spawned p = Matrix({"--kernels", "debian:bookworm:cloud", "-j", "1", "--cache-dir", cache_dir.string(),
                      "--report-dir", (dir / "out").string()});
  ASSERT_TRUE(p.exit_code == 0 || p.exit_code == 1) << p.Describe();
  json m = ReadJson(dir / "out" / "matrix.json");
  ASSERT_THAT(m["kernels"], SizeIs(1));
  const json& k = m["kernels"][0];
  ASSERT_EQ(k["outcome"], "reported") << k.dump(2) << "\n" << p.Describe();
  EXPECT_THAT(k["package"]["name"].get<std::string>(), StartsWith("linux-image-"));
  EXPECT_THAT(k["release"].get<std::string>(), HasSubstr("cloud-amd64"));
  EXPECT_EQ(k["config_source"], "boot") << "the package's config reached the guest";
  EXPECT_GT(k["summary"]["pass"].get<int>(), 150);
  std::vector<fs::path> reports;
  for (const auto& e : fs::directory_iterator(dir / "out" / "debian-bookworm-cloud")) {
    if (e.path().string().ends_with(".json") && !e.path().string().ends_with(".kcidb.json")) reports.push_back(e.path());
  }
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(ValidateJson(Paths::ReportSchema(), reports), "");
  json report = ReadJson(reports[0]);
  EXPECT_EQ(report["system"]["kernel"]["package"]["name"], k["package"]["name"]);
  EXPECT_EQ(report["system"]["distro"]["suite"], "bookworm");
  EXPECT_TRUE(fs::exists(dir / "out" / "debian-bookworm-cloud" / "console.log"));
  EXPECT_TRUE(fs::exists(dir / "out" / "matrix.html"));
  EXPECT_THAT(CheckSummary(report), ::testing::IsEmpty());
  std::cerr << "[ matrix e2e ] " << k["release"].get<std::string>() << ": wall "
            << k["wall_s"].get<double>() << " s, suite " << k.value("suite_s", 0.0) << " s, "
            << k["summary"].dump() << "\n";

  // A kernel developer's first use: --kernel bzImage --config .config (here: the same kernel,
  // as extracted into the cache, so no second download).
  const fs::path entry = cache_dir / "kernels" / k["package"]["name"].get<std::string>() /
                         k["package"]["version"].get<std::string>();
  Spawned own = Matrix({"--kernel", (entry / "vmlinuz").string(), "--config", (entry / "config").string(),
                        "-j", "1", "--cache-dir", cache_dir.string(), "--report-dir", (dir / "own").string(),
                        "--namespace", "uts,ipc"});
  ASSERT_TRUE(own.exit_code == 0 || own.exit_code == 1) << own.Describe();
  json m2 = ReadJson(dir / "own" / "matrix.json");
  ASSERT_THAT(m2["kernels"], SizeIs(1));
  EXPECT_EQ(m2["kernels"][0]["outcome"], "reported") << m2["kernels"][0].dump(2);
  EXPECT_EQ(m2["kernels"][0]["release"], k["release"]) << "release read from the bzImage header";
  EXPECT_EQ(m2["kernels"][0]["config_source"], "boot");
  EXPECT_EQ(m2["kernels"][0]["attempts"][0]["kernel_file"], "vmlinux") << "PVH boot of the extracted ELF";
}

}  // namespace
}  // namespace nsc::test
