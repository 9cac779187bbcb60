// Time namespaces: the /proc/PID/timens_offsets file — its initial contents, inheritance,
// when it can be written, who may write it and which values it accepts.
// Source: time_namespaces(7), '/proc/pid/timens_offsets' and NOTES.
//
// Reading and writing /proc/self/timens_offsets always refers to the caller's
// time_for_children namespace, so after unshare(CLONE_NEWTIME) the caller configures the new
// namespace while still living in its old one.
#include <linux/capability.h>
#include <sys/stat.h>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"
#include "offsets_expectations.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

constexpr const char* kOffsetsFile = "/proc/self/timens_offsets";
// PROC_TIME_INIT_INO (include/linux/proc_ns.h): the inode of the initial time namespace.
constexpr int64_t kInitialTimeNsIno = 0xEFFFFFFA;

// Writes `text` (one or more "<clock> <secs> <nsecs>" lines) in a single write(2).
int WriteOffsets(const char* text) { return WriteSmallFile(kOffsetsFile, text); }

// Skips blanks, then parses a signed decimal; false if there is no number.
bool ParseSigned(const char** s, int64_t* out) {
  const char* p = *s;
  while (*p == ' ' || *p == '\t') ++p;
  bool negative = false;
  if (*p == '-') {
    negative = true;
    ++p;
  }
  if (*p < '0' || *p > '9') return false;
  int64_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
  *out = negative ? -v : v;
  *s = p;
  return true;
}

// Finds the line "<clock> <secs> <nsecs>" (any blanks between the fields) in the caller's
// timens_offsets file. Returns 0, or -1 with errno (ENOENT: no such line, EINVAL: malformed).
int ReadOffset(const char* clock, int64_t* secs, int64_t* nsecs) {
  char buf[512];
  if (ReadSmallFile(kOffsetsFile, buf, sizeof buf) < 0) return -1;
  size_t clock_len = 0;
  while (clock[clock_len] != '\0') ++clock_len;
  for (const char* line = buf; *line != '\0';) {
    bool match = true;
    for (size_t i = 0; i < clock_len; ++i) {
      if (line[i] != clock[i]) {
        match = false;
        break;
      }
    }
    if (match && (line[clock_len] == ' ' || line[clock_len] == '\t')) {
      const char* p = line + clock_len;
      if (!ParseSigned(&p, secs) || !ParseSigned(&p, nsecs)) {
        errno = EINVAL;
        return -1;
      }
      return 0;
    }
    while (*line != '\0' && *line != '\n') ++line;
    if (*line == '\n') ++line;
  }
  errno = ENOENT;
  return -1;
}

// Records "<prefix>.monotonic_secs", "..._nsecs", "<prefix>.boottime_secs", "..._nsecs" and the
// two read results "<prefix>.read_monotonic" / "<prefix>.read_boottime".
void RecordOffsets(const Probe& p, const char* prefix) {
  int64_t mono_s = -1, mono_ns = -1, boot_s = -1, boot_ns = -1;
  PathBuf read_mono(prefix), read_boot(prefix);
  p.Call(read_mono.Add(".read_monotonic").c_str(), ReadOffset("monotonic", &mono_s, &mono_ns));
  p.Call(read_boot.Add(".read_boottime").c_str(), ReadOffset("boottime", &boot_s, &boot_ns));
  PathBuf k1(prefix), k2(prefix), k3(prefix), k4(prefix);
  p.Value(k1.Add(".monotonic_secs").c_str(), mono_s);
  p.Value(k2.Add(".monotonic_nsecs").c_str(), mono_ns);
  p.Value(k3.Add(".boottime_secs").c_str(), boot_s);
  p.Value(k4.Add(".boottime_nsecs").c_str(), boot_ns);
}

// Flow: 1. check that the caller is in the initial time namespace (its nsfs inode is
// PROC_TIME_INIT_INO), else skip; 2. parse /proc/self/timens_offsets and record both clocks.
// Control: a child enters a new user+time namespace, writes offsets of 1 s, and parses its
// own file (which shows the new namespace) instead.
void InitialOffsetsZero(const Probe& p) {
  struct stat st{};
  NSC_SETUP(p, stat("/proc/self/ns/time", &st), "stat /proc/self/ns/time");
  p.Value("self.time_ns_ino", static_cast<int64_t>(st.st_ino));
  if (static_cast<int64_t>(st.st_ino) != kInitialTimeNsIno) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "the harness does not run in the initial time namespace");
  }
  if (!p.control()) {
    RecordOffsets(p, "initial");
    return;
  }
  ChildProcess child = Spawn(0, [&] {
    SetupStep(p, EnterUserNamespace(CLONE_NEWTIME), "control: unshare(CLONE_NEWUSER|CLONE_NEWTIME)");
    NSC_SETUP(p, WriteOffsets("monotonic 1 0\nboottime 1 0\n"), "control: writing offsets");
    RecordOffsets(p, "initial");
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "time.initial_offsets_zero",
    .title = "The initial time namespace has zero monotonic and boottime offsets",
    .source = {"time_namespaces(7)", "/proc/pid/timens_offsets"},
    .observe = "/proc/self/timens_offsets, parsed with any blanks between the fields, has the "
               "records 'monotonic 0 0' and 'boottime 0 0' (skipped when the harness itself is "
               "not in the initial time namespace)",
    .control = "the same file is parsed in a new time namespace whose offsets were set to 1 s: "
               "the offsets are no longer zero (contradicts initial.monotonic_secs and "
               "initial.boottime_secs)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    .preconditions = OffsetsRead({"initial"}),
    .expect = {Expect("initial.monotonic_secs", Eq(0)), Expect("initial.monotonic_nsecs", Eq(0)),
               Expect("initial.boottime_secs", Eq(0)), Expect("initial.boottime_nsecs", Eq(0)),
               Record("self.time_ns_ino")},
    .body = InitialOffsetsZero,
});

// Flow: 1. a child unshares CLONE_NEWTIME and writes a monotonic offset of 86400 s (control:
// 0 s) to its new namespace; 2. it forks a member of that namespace; 3. the member unshares
// CLONE_NEWTIME again and, before any write, records the new namespace's offsets. Both
// unshares only set the stage: a refusal (a seccomp filter, say) is SKIP or ERROR.
void OffsetsInherited(const Probe& p) {
  ChildProcess owner = Spawn(0, [&] {
    SetupUnshare(p, CLONE_NEWTIME, "first unshare(CLONE_NEWTIME)");
    p.Call("first.write", WriteOffsets(p.Pick<const char*>("monotonic 86400 0\n", "monotonic 0 0\n")));
    ChildProcess member = Spawn(0, [&] {
      SetupUnshare(p, CLONE_NEWTIME, "second unshare(CLONE_NEWTIME)");
      RecordOffsets(p, "second");
      return 0;
    });
    NSC_SETUP(p, member.pid(), "fork into the first new time namespace");
    member.Wait();
    return 0;
  });
  NSC_SETUP(p, owner.pid(), "fork");
  owner.Wait();
}

NSC_CASE({
    .id = "time.offsets_inherited",
    .title = "A new time namespace starts with the offsets of its creator's time namespace",
    .source = {"time_namespaces(7)", "/proc/pid/timens_offsets"},
    .observe = "inside a time namespace with monotonic offset 86400 s, unshare(CLONE_NEWTIME) "
               "again: before any write, the new namespace's timens_offsets shows monotonic 86400",
    .control = "the first namespace's offset is set to 0 s: nothing non-zero is inherited "
               "(contradicts second.monotonic_secs)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    .preconditions = {Given(ExpectCall("first.write", Succeeds())),
                      Given(ExpectCall("second.read_monotonic", Succeeds()),
                            ReasonCode::kPreconditionUnmet),
                      Given(ExpectCall("second.read_boottime", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    // The boottime offset is inherited too, but from the body's own namespace, whatever its
    // offsets are: recorded.
    .expect = WithOffsetRecords("second", {Expect("second.monotonic_secs", Eq(86400)),
                                           Expect("second.monotonic_nsecs", Eq(0))}),
    .body = OffsetsInherited,
});

// Flow: 1. a child unshares CLONE_NEWTIME; 2. writes the monotonic offset twice (both must
// succeed) and records the value; 3. forks a member of the new namespace (control: does not)
// and reaps it; 4. writes a third time: EACCES; 5. records the value again.
void OffsetsWritableUntilFirstMember(const Probe& p) {
  ChildProcess owner = Spawn(0, [&] {
    SetupUnshare(p, CLONE_NEWTIME, "unshare(CLONE_NEWTIME)");
    p.Call("write.first", WriteOffsets("monotonic 86400 0\n"));
    p.Call("write.second", WriteOffsets("monotonic 86401 0\n"));
    RecordOffsets(p, "before_member");
    if (!p.control()) {
      ChildProcess member = Spawn(0, [] { return 0; });
      NSC_SETUP(p, member.pid(), "fork of the first member of the time namespace");
      member.Wait();
    }
    p.Call("write.after_member", WriteOffsets("monotonic 1 0\n"));
    RecordOffsets(p, "after_member");
    return 0;
  });
  NSC_SETUP(p, owner.pid(), "fork");
  owner.Wait();
}

NSC_CASE({
    .id = "time.offsets_writable_until_first_member",
    .title = "timens_offsets can be rewritten until the namespace gets its first member, then EACCES",
    .source = {"time_namespaces(7)", "/proc/pid/timens_offsets"},
    .observe = "after unshare(CLONE_NEWTIME), 'monotonic 86400 0' and 'monotonic 86401 0' are "
               "both accepted; after a child was forked into the namespace, a further write "
               "fails with EACCES and the offsets stay at 86401 s",
    .control = "no process is ever created in the namespace: the third write is accepted "
               "(contradicts write.after_member and after_member.monotonic_secs)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    .preconditions = OffsetsRead({"before_member", "after_member"}),
    .expect = WithOffsetRecords(
        "after_member",
        WithOffsetRecords("before_member",
                          {ExpectCall("write.first", Succeeds()), ExpectCall("write.second", Succeeds()),
                           Expect("before_member.monotonic_secs", Eq(86401)),
                           ExpectCall("write.after_member", FailsWith(EACCES)),
                           Expect("after_member.monotonic_secs", Eq(86401))})),
    .body = OffsetsWritableUntilFirstMember,
});

// Flow: 1. positive arm: a child enters a new user namespace and a new time namespace it owns
// and, holding CAP_SYS_TIME there, writes 'monotonic 86400 0' (must succeed: a precondition);
// 2. a second child enters its own user+time namespaces; 3. drops CAP_SYS_TIME and checks that
// it is gone (control, the one factor removed: keeps it); 4. writes the same line: EPERM.
void OffsetsNeedCapSysTime(const Probe& p) {
  ChildProcess with_cap = Spawn(0, [&] {
    if (EnterUserNamespace(CLONE_NEWTIME) == -1) {
      SetupStepRefused(p, "positive arm: unshare(CLONE_NEWUSER|CLONE_NEWTIME)", errno);
    }
    p.Call("with_cap.write", WriteOffsets("monotonic 86400 0\n"));
    return 0;
  });
  NSC_SETUP(p, with_cap.pid(), "fork of the positive arm");
  with_cap.Wait();
  ChildProcess child = Spawn(0, [&] {
    if (EnterUserNamespace(CLONE_NEWTIME) == -1) {
      SetupStepRefused(p, "unshare(CLONE_NEWUSER|CLONE_NEWTIME)", errno);
    }
    if (!p.control()) {
      NSC_SETUP(p, DropCapability(CAP_SYS_TIME), "dropping CAP_SYS_TIME");
      if (HasEffectiveCapability(CAP_SYS_TIME) != 0) p.SetupFailed("CAP_SYS_TIME is still effective");
    }
    p.Call("write", WriteOffsets("monotonic 86400 0\n"));
    RecordOffsets(p, "after");
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "time.offsets_need_cap_sys_time",
    .title = "Writing timens_offsets needs CAP_SYS_TIME in the owning user namespace (EPERM)",
    .source = {"time_namespaces(7)", "/proc/pid/timens_offsets"},
    .observe = "in a new user+time namespace, after dropping CAP_SYS_TIME, writing "
               "'monotonic 86400 0' fails with EPERM and the offset stays 0",
    .control = "CAP_SYS_TIME is kept: the write succeeds (contradicts write and "
               "after.monotonic_secs)",
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWTIME | CLONE_NEWUSER,
              .min_kernel = {5, 6}, .kconfig = {"CONFIG_TIME_NS"}, .needs_userns = true},
    // The positive arm: the same write succeeds with CAP_SYS_TIME in the same run, so an EPERM
    // below is the missing capability, not a refusal of the write itself.
    .preconditions = ConcatExpectations({Given(ExpectCall("with_cap.write", Succeeds()),
                                               ReasonCode::kPreconditionUnmet)},
                                        OffsetsRead({"after"})),
    .expect = WithOffsetRecords("after", {ExpectCall("write", FailsWith(EPERM)),
                                          Expect("after.monotonic_secs", Eq(0))}),
    .body = OffsetsNeedCapSysTime,
});

// Flow: 1. a child unshares CLONE_NEWTIME; 2. writes an offset with 1000000000 ns (control:
// 999999999 ns); 3. writes a line for the "realtime" clock (control: "boottime") and one for
// numeric clock-id 0, CLOCK_REALTIME (control: 7, CLOCK_BOOTTIME).
void OffsetsInvalidEinval(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    SetupUnshare(p, CLONE_NEWTIME, "unshare(CLONE_NEWTIME)");
    p.Call("write.nsecs_1e9",
           WriteOffsets(p.Pick<const char*>("monotonic 1 1000000000\n", "monotonic 1 999999999\n")));
    p.Call("write.clock_realtime",
           WriteOffsets(p.Pick<const char*>("realtime 1 0\n", "boottime 1 0\n")));
    p.Call("write.clock_id_0", WriteOffsets(p.Pick<const char*>("0 1 0\n", "7 1 0\n")));
    RecordOffsets(p, "after");
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "time.offsets_invalid_einval",
    .title = "timens_offsets rejects nanoseconds above 999999999 and unknown clocks with EINVAL",
    .source = {"time_namespaces(7)", "/proc/pid/timens_offsets"},
    .observe = "in a new time namespace, writing 'monotonic 1 1000000000', 'realtime 1 0' and "
               "'0 1 0' (clock-id 0 is CLOCK_REALTIME) each fails with EINVAL; the offsets stay 0",
    .control = "the same writes with 999999999 ns and the boottime clock (by name and as 7) are "
               "accepted (contradicts every write.* key and the after.* offsets)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    .preconditions = OffsetsRead({"after"}),
    .expect = WithOffsetRecords("after", {ExpectCall("write.nsecs_1e9", FailsWith(EINVAL)),
                                          ExpectCall("write.clock_realtime", FailsWith(EINVAL)),
                                          ExpectCall("write.clock_id_0", FailsWith(EINVAL)),
                                          Expect("after.monotonic_secs", Eq(0)),
                                          Expect("after.boottime_secs", Eq(0))}),
    .body = OffsetsInvalidEinval,
});

// Flow: 1. a child unshares CLONE_NEWTIME; 2. writes a boottime offset that makes the clock
// negative (control: -1 s) and a monotonic offset beyond KTIME_SEC_MAX / 2 (control: 86400 s).
void OffsetsOutOfRangeErange(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    SetupUnshare(p, CLONE_NEWTIME, "unshare(CLONE_NEWTIME)");
    p.Call("write.boottime_negative",
           WriteOffsets(p.Pick<const char*>("boottime -999999999 0\n", "boottime -1 0\n")));
    p.Call("write.monotonic_too_far",
           WriteOffsets(p.Pick<const char*>("monotonic 9223372036 0\n", "monotonic 86400 0\n")));
    RecordOffsets(p, "after");
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "time.offsets_out_of_range_erange",
    .title = "timens_offsets rejects offsets that make a clock negative or too large with ERANGE",
    .source = {"time_namespaces(7)", "/proc/pid/timens_offsets"},
    .observe = "in a new time namespace, 'boottime -999999999 0' (clock would be negative) and "
               "'monotonic 9223372036 0' (beyond KTIME_SEC_MAX / 2) each fail with ERANGE",
    .control = "'boottime -1 0' and 'monotonic 86400 0' are within range and accepted "
               "(contradicts both write.* keys and the after.* offsets)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    .preconditions = OffsetsRead({"after"}),
    .expect = WithOffsetRecords("after", {ExpectCall("write.boottime_negative", FailsWith(ERANGE)),
                                          ExpectCall("write.monotonic_too_far", FailsWith(ERANGE)),
                                          Expect("after.monotonic_secs", Eq(0)),
                                          Expect("after.boottime_secs", Eq(0))}),
    .body = OffsetsOutOfRangeErange,
});

// Flow: 1. a child unshares CLONE_NEWTIME; 2. writes '1 3600 0' and '7 7200 0' (control:
// clock-ids 2 and 3, the CPU-time clocks); 3. parses the file back.
void NumericClockIds(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    SetupUnshare(p, CLONE_NEWTIME, "unshare(CLONE_NEWTIME)");
    p.Call("write.id_1", WriteOffsets(p.Pick<const char*>("1 3600 0\n", "2 3600 0\n")));
    p.Call("write.id_7", WriteOffsets(p.Pick<const char*>("7 7200 0\n", "3 7200 0\n")));
    RecordOffsets(p, "after");
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "time.numeric_clock_ids",
    .title = "Clock-ids 1 and 7 are accepted in timens_offsets for monotonic and boottime",
    .source = {"time_namespaces(7)", "NOTES"},
    .observe = "in a new time namespace, '1 3600 0' and '7 7200 0' are accepted and the file "
               "then reads 'monotonic 3600 0' and 'boottime 7200 0'",
    .control = "clock-ids 2 and 3 (CPU-time clocks) are written instead: they are refused and "
               "the offsets stay 0 (contradicts write.id_1, write.id_7 and the after.* offsets)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 6},
              .kconfig = {"CONFIG_TIME_NS"}},
    .preconditions = OffsetsRead({"after"}),
    .expect = {ExpectCall("write.id_1", Succeeds()), ExpectCall("write.id_7", Succeeds()),
               Expect("after.monotonic_secs", Eq(3600)), Expect("after.monotonic_nsecs", Eq(0)),
               Expect("after.boottime_secs", Eq(7200)), Expect("after.boottime_nsecs", Eq(0))},
    .body = NumericClockIds,
});

}  // namespace
}  // namespace nsc::cases
