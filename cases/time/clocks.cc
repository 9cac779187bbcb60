// Time namespaces: which clocks the namespace offsets shift. CLOCK_MONOTONIC (and its COARSE
// and RAW variants), CLOCK_BOOTTIME and /proc/uptime are shifted; CLOCK_REALTIME is not.
// Source: time_namespaces(7), DESCRIPTION and NOTES.
//
// Each body reads a clock in the parent's time namespace, then reads it again in a child
// forked into a namespace with offsets; the recorded value is the difference, whose expected
// range is [offset, offset + slack) (the parent reads first, so only positive drift is allowed).
#include <time.h>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases {
namespace {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::Lt;

constexpr int64_t kMonotonicOffsetS = 86400;
constexpr int64_t kBoottimeOffsetS = 172800;
constexpr int64_t kSlackMs = 10000;  // scheduling noise on a loaded machine; far below the offsets
constexpr int64_t kNsPerMs = 1000000;

// clock_gettime(2) through the C library (vDSO where available), in nanoseconds; -1/errno.
int64_t ReadClockNs(clockid_t clock) {
  struct timespec ts{};
  if (clock_gettime(clock, &ts) == -1) return -1;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The clock_gettime system call itself, bypassing the vDSO.
int64_t ReadClockNsSyscall(clockid_t clock) {
  struct timespec ts{};
  if (syscall(SYS_clock_gettime, clock, &ts) == -1) return -1;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// First field of /proc/uptime ("775.58") in centiseconds; -1 if unreadable.
int64_t ReadUptimeCentis() {
  char buf[128];
  if (ReadSmallFile("/proc/uptime", buf, sizeof buf) < 0) return -1;
  int64_t whole = 0, frac = 0, digits = 0;
  const char* p = buf;
  while (*p >= '0' && *p <= '9') whole = whole * 10 + (*p++ - '0');
  if (*p == '.') ++p;
  while (*p >= '0' && *p <= '9' && digits < 2) {
    frac = frac * 10 + (*p++ - '0');
    ++digits;
  }
  if (digits != 2) return -1;
  return whole * 100 + frac;
}

struct ClockReadings {
  int64_t monotonic, monotonic_syscall, monotonic_coarse, monotonic_raw, boottime,
      boottime_alarm, uptime_cs, realtime, realtime_syscall;
  int boottime_alarm_errno;
};

ClockReadings ReadAllClocks(clockid_t realtime_clock) {
  ClockReadings r{};
  r.monotonic = ReadClockNs(CLOCK_MONOTONIC);
  r.monotonic_syscall = ReadClockNsSyscall(CLOCK_MONOTONIC);
  r.monotonic_coarse = ReadClockNs(CLOCK_MONOTONIC_COARSE);
  r.monotonic_raw = ReadClockNs(CLOCK_MONOTONIC_RAW);
  r.boottime = ReadClockNs(CLOCK_BOOTTIME);
  r.boottime_alarm = ReadClockNs(CLOCK_BOOTTIME_ALARM);
  r.boottime_alarm_errno = r.boottime_alarm == -1 ? errno : 0;
  r.uptime_cs = ReadUptimeCentis();
  r.realtime = ReadClockNs(realtime_clock);
  r.realtime_syscall = ReadClockNsSyscall(realtime_clock);
  return r;
}

// A child of the caller's future time namespace: records the differences between its own
// readings and `parent` (read before the fork).
void RecordShifts(const Probe& p, const ClockReadings& parent, clockid_t realtime_clock) {
  ChildProcess member = Spawn(0, [&] {
    const ClockReadings child = ReadAllClocks(realtime_clock);
    p.Value("shift.monotonic_ms", (child.monotonic - parent.monotonic) / kNsPerMs);
    p.Value("shift.monotonic_syscall_ms",
            (child.monotonic_syscall - parent.monotonic_syscall) / kNsPerMs);
    p.Value("shift.monotonic_coarse_ms",
            (child.monotonic_coarse - parent.monotonic_coarse) / kNsPerMs);
    p.Value("shift.monotonic_raw_ms", (child.monotonic_raw - parent.monotonic_raw) / kNsPerMs);
    p.Value("shift.boottime_ms", (child.boottime - parent.boottime) / kNsPerMs);
    p.Value("shift.uptime_cs", child.uptime_cs - parent.uptime_cs);
    // CLOCK_BOOTTIME_ALARM needs an RTC device (EINVAL without one): recorded only.
    p.Value("child.boottime_alarm_errno", child.boottime_alarm_errno);
    p.Value("shift.boottime_alarm_ms",
            child.boottime_alarm == -1 || parent.boottime_alarm == -1
                ? -1
                : (child.boottime_alarm - parent.boottime_alarm) / kNsPerMs);
    p.Value("shift.realtime_ms", (child.realtime - parent.realtime) / kNsPerMs);
    p.Value("shift.realtime_syscall_ms",
            (child.realtime_syscall - parent.realtime_syscall) / kNsPerMs);
    return 0;
  });
  NSC_SETUP(p, member.pid(), "fork into the new time namespace");
  member.Wait();
}

// Flow: 1. a child unshares CLONE_NEWTIME and sets monotonic +86400 s and boottime +172800 s
// (control: both 0); 2. reads every clock and /proc/uptime; 3. forks a member of the new
// namespace, which reads them again and records the differences.
void MonotonicBoottimeShifted(const Probe& p) {
  ChildProcess owner = Spawn(0, [&] {
    SetupUnshare(p, CLONE_NEWTIME, "unshare(CLONE_NEWTIME)");
    p.Call("write_offsets", WriteSmallFile("/proc/self/timens_offsets",
                                           p.Pick<const char*>("monotonic 86400 0\nboottime 172800 0\n",
                                                               "monotonic 0 0\nboottime 0 0\n")));
    const ClockReadings parent = ReadAllClocks(CLOCK_REALTIME);
    // A missing /proc/uptime is a missing input, never a difference of two -1s compared.
    if (parent.uptime_cs < 0) p.Skip(ReasonCode::kPreconditionUnmet, "/proc/uptime is not readable");
    RecordShifts(p, parent, CLOCK_REALTIME);
    return 0;
  });
  NSC_SETUP(p, owner.pid(), "fork");
  owner.Wait();
}

constexpr int64_t kMonoMs = kMonotonicOffsetS * 1000;
constexpr int64_t kBootMs = kBoottimeOffsetS * 1000;

NSC_CASE({
    .id = "time.monotonic_boottime_shifted",
    .title = "Members of a time namespace read CLOCK_MONOTONIC*, CLOCK_BOOTTIME and /proc/uptime shifted by its offsets",
    .source = {"time_namespaces(7)", "DESCRIPTION"},
    .references = {"clock_gettime(2)", "proc_uptime(5)"},
    .observe = "with offsets monotonic +86400 s and boottime +172800 s, a member's "
               "CLOCK_MONOTONIC (vDSO and syscall), _COARSE and _RAW minus the parent's earlier "
               "reading is in [86400 s, 86400 s + 10 s); CLOCK_BOOTTIME and the first field of "
               "/proc/uptime move by 172800 s. CLOCK_BOOTTIME_ALARM is recorded (needs an RTC)",
    .control = "the offsets are written as 0: the clocks are not shifted (contradicts "
               "shift.monotonic_ms and every other shift.* verdict key)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    .preconditions = {Given(ExpectCall("write_offsets", Succeeds()))},
    .expect = {
               Expect("shift.monotonic_ms", AllOf(Ge(kMonoMs), Lt(kMonoMs + kSlackMs))),
               Expect("shift.monotonic_syscall_ms", AllOf(Ge(kMonoMs), Lt(kMonoMs + kSlackMs))),
               Expect("shift.monotonic_coarse_ms", AllOf(Ge(kMonoMs), Lt(kMonoMs + kSlackMs))),
               Expect("shift.monotonic_raw_ms", AllOf(Ge(kMonoMs), Lt(kMonoMs + kSlackMs))),
               Expect("shift.boottime_ms", AllOf(Ge(kBootMs), Lt(kBootMs + kSlackMs))),
               Expect("shift.uptime_cs",
                      AllOf(Ge(kBoottimeOffsetS * 100), Lt(kBoottimeOffsetS * 100 + kSlackMs / 10))),
               Record("child.boottime_alarm_errno"), Record("shift.boottime_alarm_ms"),
               Record("shift.realtime_ms"), Record("shift.realtime_syscall_ms")},
    .body = MonotonicBoottimeShifted,
});

// Flow: 1. a child unshares CLONE_NEWTIME and sets large monotonic and boottime offsets;
// 2. reads CLOCK_REALTIME (control: CLOCK_MONOTONIC in its place) and CLOCK_MONOTONIC;
// 3. a member of the new namespace reads them again and records the differences.
void RealtimeNotVirtualized(const Probe& p) {
  const clockid_t clock_under_test = p.Pick<clockid_t>(CLOCK_REALTIME, CLOCK_MONOTONIC);
  ChildProcess owner = Spawn(0, [&] {
    SetupUnshare(p, CLONE_NEWTIME, "unshare(CLONE_NEWTIME)");
    NSC_SETUP(p, WriteSmallFile("/proc/self/timens_offsets", "monotonic 86400 0\nboottime 172800 0\n"),
              "writing the offsets");
    const ClockReadings parent = ReadAllClocks(clock_under_test);
    RecordShifts(p, parent, clock_under_test);
    return 0;
  });
  NSC_SETUP(p, owner.pid(), "fork");
  owner.Wait();
}

NSC_CASE({
    .id = "time.realtime_not_virtualized",
    .title = "CLOCK_REALTIME is not shifted by time-namespace offsets",
    .source = {"time_namespaces(7)", "NOTES"},
    .observe = "with offsets monotonic +86400 s and boottime +172800 s, a member's "
               "CLOCK_REALTIME (vDSO and syscall) minus the parent's earlier reading is within "
               "10 s, while its CLOCK_MONOTONIC is shifted by 86400 s (the namespace is in effect)",
    .control = "CLOCK_MONOTONIC is read in place of CLOCK_REALTIME: the difference is the offset "
               "(contradicts shift.realtime_ms and shift.realtime_syscall_ms)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    // The namespace is in effect for the member (its CLOCK_MONOTONIC is shifted).
    .preconditions = {Given(Expect("shift.monotonic_ms", Ge(kMonoMs)))},
    .expect = {Expect("shift.realtime_ms", AllOf(Ge(-kSlackMs), Lt(kSlackMs))),
               Expect("shift.realtime_syscall_ms", AllOf(Ge(-kSlackMs), Lt(kSlackMs))),
               Record("shift.monotonic_syscall_ms"), Record("shift.monotonic_coarse_ms"),
               Record("shift.monotonic_raw_ms"), Record("shift.boottime_ms"),
               Record("shift.uptime_cs"), Record("child.boottime_alarm_errno"),
               Record("shift.boottime_alarm_ms")},
    .body = RealtimeNotVirtualized,
});

}  // namespace
}  // namespace nsc::cases
