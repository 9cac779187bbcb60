// Helpers shared by the user-namespace cases (cases/user/*.cc): /proc parsers, privilege drops,
// entering a mapped user namespace where the caller may be euid 0 without CAP_SETFCAP, parked
// children, and exec-with-captured-output. Async-signal-safe only: raw syscalls and stack
// buffers, so everything here may run after fork.
#pragma once

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "nsconform/case.h"

namespace nsc::cases::userns {

// Unprivileged ids. A body that runs as real root drops to kNobody where a rule needs a creator
// or writer without capabilities in the parent namespace; a rootless run (setpriv --reuid=65534)
// already is kNobody. kOtherUid is a second id, distinct from kNobody and from the default
// overflow uid, for rules that need two different unprivileged ids.
inline constexpr uid_t kNobody = 65534;
inline constexpr uid_t kOtherUid = 65533;
// PROC_USER_INIT_INO: the nsfs inode number of the initial user namespace (fixed since 3.8).
inline constexpr int64_t kInitialUserNsIno = 0xEFFFFFFDLL;

// Every program a cases/user rule execs, in one place.
// TODO(lead, issue 8): rules must not exec programs of the file system (busybox or absent in
// containers and initramfs guests); point these at nsconform's own /proc/self/exe helper modes
// once they exist. Until then a missing program makes the rule SKIP (PRECONDITION_UNMET).
// Prints its own /proc/self/status: argv {kStatusPrinter, "/proc/self/status"} (cat-like). Used
// by user.execve_recomputes_caps and user.setuid_bit_ignored_if_unmapped (which runs a set-id
// copy of it, so it must behave the same under another file name).
inline constexpr const char* kStatusPrinter = "/bin/cat";
// Prints the owner uid of a file: argv {kOwnerPrinter, "-c", "%u", path} (stat-like). Used only
// for a recorded value of user.setuid_bit_ignored_if_unmapped.
inline constexpr const char* kOwnerPrinter = "/usr/bin/stat";

// ---------------------------------------------------------------------------------------------
// Parsing (stack buffers only)

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Parses an unsigned decimal at *s (leading blanks skipped), advancing *s.
inline bool ParseDecimal(const char** s, uint64_t* out) {
  const char* p = *s;
  while (IsBlank(*p)) ++p;
  if (*p < '0' || *p > '9') return false;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  *out = v;
  *s = p;
  return true;
}

// The text after "Field:" on the line that starts with Field, or nullptr.
inline const char* FindStatusField(const char* text, const char* field) {
  const char* line = text;
  while (*line != '\0') {
    size_t i = 0;
    while (field[i] != '\0' && line[i] == field[i]) ++i;
    if (field[i] == '\0' && line[i] == ':') return line + i + 1;
    while (*line != '\0' && *line != '\n') ++line;
    if (*line == '\n') ++line;
  }
  return nullptr;
}

// The hexadecimal value of a status line such as "CapEff:\t000001ffffffffff", or -1.
inline int64_t StatusHex(const char* text, const char* field) {
  const char* p = FindStatusField(text, field);
  if (p == nullptr) return -1;
  while (IsBlank(*p)) ++p;
  uint64_t v = 0;
  int digits = 0;
  for (;; ++p) {
    int d;
    if (*p >= '0' && *p <= '9') {
      d = *p - '0';
    } else if (*p >= 'a' && *p <= 'f') {
      d = *p - 'a' + 10;
    } else if (*p >= 'A' && *p <= 'F') {
      d = *p - 'A' + 10;
    } else {
      break;
    }
    v = v * 16 + static_cast<uint64_t>(d);
    ++digits;
  }
  return digits > 0 ? static_cast<int64_t>(v) : -1;
}

// The index-th decimal of a status line such as "Uid:\t0\t0\t0\t0", or -1.
inline int64_t StatusDecimal(const char* text, const char* field, int index) {
  const char* p = FindStatusField(text, field);
  if (p == nullptr) return -1;
  uint64_t v = 0;
  for (int i = 0; i <= index; ++i) {
    if (!ParseDecimal(&p, &v)) return -1;
  }
  return static_cast<int64_t>(v);
}

// A field of the caller's /proc/self/status (hexadecimal), or -1.
inline int64_t OwnStatusHex(const char* field) {
  char buf[4096];
  if (ReadSmallFile("/proc/self/status", buf, sizeof buf) < 0) return -1;
  return StatusHex(buf, field);
}

// The first decimal of a small file such as /proc/sys/kernel/overflowuid, or -1.
inline int64_t ReadDecimalFile(const char* path) {
  char buf[64];
  if (ReadSmallFile(path, buf, sizeof buf) < 0) return -1;
  const char* p = buf;
  uint64_t v;
  return ParseDecimal(&p, &v) ? static_cast<int64_t>(v) : -1;
}

// The value of a small decimal file the rule compares against (a sysctl such as
// /proc/sys/kernel/overflowuid); a missing or unreadable file skips the case
// (PRECONDITION_UNMET), it is never compared as -1.
inline int64_t RequireDecimalFile(const Probe& p, const char* path) {
  const int64_t v = ReadDecimalFile(path);
  if (v < 0) {
    PathBuf why("missing or unreadable reference value: ");
    why.Add(path);
    p.Skip(ReasonCode::kPreconditionUnmet, why.c_str());
  }
  return v;
}

// The capability mask a new user namespace grants: every capability up to
// /proc/sys/kernel/cap_last_cap. Without that file the case skips (PRECONDITION_UNMET).
inline int64_t FullCapMask(const Probe& p) {
  const int64_t last = RequireDecimalFile(p, "/proc/sys/kernel/cap_last_cap");
  if (last > 62) p.Skip(ReasonCode::kPreconditionUnmet, "cap_last_cap beyond a 64-bit mask");
  return static_cast<int64_t>((uint64_t{1} << (last + 1)) - 1);
}

// A program a rule execs (see kStatusPrinter): skips (PRECONDITION_UNMET) when it is absent.
inline void RequireProgram(const Probe& p, const char* path) {
  if (access(path, X_OK) == -1) {
    PathBuf why("the helper program this rule execs is missing: ");
    why.Add(path);
    p.Skip(ReasonCode::kPreconditionUnmet, why.c_str());
  }
}

// capget(2) of the caller: the 64-bit effective set, or -1.
inline int64_t CapgetEffective() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) == -1) return -1;
  return static_cast<int64_t>(data[0].effective | (static_cast<uint64_t>(data[1].effective) << 32));
}

// One line of a uid_map/gid_map/projid_map file.
struct MapLine {
  int64_t first = -1;
  int64_t lower = -1;
  int64_t count = -1;
};

// Parses up to `max` map lines; returns the number of lines in the text (may exceed max).
inline int ParseMap(const char* text, MapLine* lines, int max) {
  int n = 0;
  const char* p = text;
  for (;;) {
    uint64_t a, b, c;
    if (!ParseDecimal(&p, &a) || !ParseDecimal(&p, &b) || !ParseDecimal(&p, &c)) break;
    if (n < max) lines[n] = MapLine{static_cast<int64_t>(a), static_cast<int64_t>(b),
                                    static_cast<int64_t>(c)};
    ++n;
    while (*p != '\0' && *p != '\n') ++p;
    if (*p == '\n') ++p;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Namespaces

inline bool InInitialUserNs() {
  const NsFileId user = NsFileIdOf("/proc/self/ns/user");
  return user.known && user.ino == kInitialUserNsIno;
}

// Writes `text` to /proc/<pid>/<file> in one write(2): 0, or -1 with errno.
inline int WriteProcFile(pid_t pid, const char* file, const char* text) {
  return WriteSmallFile(ProcPath(pid, file).c_str(), text);
}

// "inside outside count\n"
inline PathBuf MapText(int64_t inside, int64_t outside, int64_t count) {
  PathBuf b;
  b.Add(inside).Add(" ").Add(outside).Add(" ").Add(count).Add("\n");
  return b;
}

// ---------------------------------------------------------------------------------------------
// Environment refusals and privilege

// A user namespace could not be created (errno `err`). Refusals the harness's own probe sees —
// user.max_user_namespaces = 0, a chroot, a filter on unshare — never reach a case that lists
// CLONE_NEWUSER in .needs (Admit skips it with the reason). What is left is what only the body
// can meet: refusals that apply to the unprivileged uid it dropped to (Debian's
// unprivileged_userns_clone, AppArmor's restriction), a seccomp filter on clone() that spares
// unshare(), and an exhausted nesting/count limit (catalogue record item 32). Those skip with
// the reason; otherwise this returns and the caller reports what it saw.
// True when a seccomp filter is installed on the caller (Seccomp: 2 in /proc/self/status).
inline bool UnderSeccompFilter() {
  char status[4096];
  if (ReadSmallFile("/proc/self/status", status, sizeof status) <= 0) return false;
  const char* seccomp = FindStatusField(status, "Seccomp");
  uint64_t mode = 0;
  return seccomp != nullptr && ParseDecimal(&seccomp, &mode) && mode == 2;
}

inline void SkipIfUserNsRefusedByEnvironment(const Probe& p, int err) {
  // A filter may answer any errno (EPERM, EINVAL, ENOSYS...): under one, a refused set-up is
  // the filter's until shown otherwise.
  if (UnderSeccompFilter()) {
    p.Skip(ReasonCode::kBlockedBySeccomp, "a namespace set-up step refused under a seccomp filter");
  }
  if (err != EPERM && err != ENOSPC && err != EUSERS && err != EACCES) return;
  if (geteuid() != 0 && ReadDecimalFile("/proc/sys/kernel/unprivileged_userns_clone") == 0) {
    p.Skip(ReasonCode::kDisabledBySysctl, "kernel.unprivileged_userns_clone is 0");
  }
  if (ReadDecimalFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1) {
    p.Skip(ReasonCode::kBlockedByLsm, "kernel.apparmor_restrict_unprivileged_userns is 1");
  }
  if (err == ENOSPC || err == EUSERS) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "the user-namespace nesting or count limit is already reached here");
  }
}

// Records the operation under test as `key`. Under a seccomp filter, a failure with an errno
// the rule does not predict (`predicted`; 0 when the rule predicts success) may be the
// filter's answer rather than the kernel's: the case skips (BLOCKED_BY_SECCOMP) instead of
// reaching a verdict the kernel did not give (issue 8).
inline void CallUnderTest(const Probe& p, const char* key, long ret, int predicted = 0) {
  const int err = errno;
  if (ret == -1 && err != predicted && UnderSeccompFilter()) {
    PathBuf why(key);
    why.Add(": failed with an errno the rule does not predict, under a seccomp filter");
    p.Skip(ReasonCode::kBlockedBySeccomp, why.c_str());
  }
  errno = err;
  p.Call(key, ret);
}

// For rules about setns(2) into user namespaces: setns(-1, CLONE_NEWUSER) must come back from
// the kernel with EBADF. Any other answer is a filter's (or a sandbox's), which could also fake
// the EPERM/EINVAL such a rule predicts, so the case skips rather than PASS on the fault.
inline void RequireSetnsReachesKernel(const Probe& p) {
  if (setns(-1, CLONE_NEWUSER) == -1 && errno == EBADF) return;
  p.Skip(UnderSeccompFilter() ? ReasonCode::kBlockedBySeccomp : ReasonCode::kPreconditionUnmet,
         "setns(-1, CLONE_NEWUSER) did not fail with EBADF: setns is intercepted here");
}

// A private mount namespace as a set-up step (EnterPrivateMountNamespace); skips when a seccomp
// filter refuses it, otherwise reports ERROR on failure.
inline void EnterPrivateMountNsOrSkip(const Probe& p) {
  if (EnterPrivateMountNamespace() == -1) {
    if (UnderSeccompFilter()) {
      p.Skip(ReasonCode::kBlockedBySeccomp,
             "a private mount namespace refused under a seccomp filter");
    }
    p.SetupFailed("private mount namespace");
  }
}

// A set-up step that creates a user namespace failed: skip for an environmental reason,
// otherwise report the set-up failure (ERROR).
[[noreturn]] inline void UserNsSetupFailed(const Probe& p, const char* what) {
  const int err = errno;
  SkipIfUserNsRefusedByEnvironment(p, err);
  errno = err;
  p.SetupFailed(what);
}

// unshare(flags) as a set-up step; skips or reports ERROR on failure.
inline void UnshareOrSkip(const Probe& p, unsigned long flags, const char* what) {
  if (unshare(static_cast<int>(flags)) == -1) UserNsSetupFailed(p, what);
}

// Records `key` as a call that was deliberately not made (errno ECANCELED, which no rule
// expects): a run-time guard refused an operation that could touch the host.
inline void RecordNotAttempted(const Probe& p, const char* key, const char* why) {
  p.Note(why);
  errno = ECANCELED;
  p.Call(key, -1);
}

// sethostname("nsc-user"), recorded as "sethostname", only if the caller's UTS namespace is
// positively not `body_uts` (the body's, taken before it created any namespace); otherwise
// recorded as not attempted.
inline void SethostnameOutsideBodyUts(const Probe& p, const NsFileId& body_uts) {
  if (!InOtherNamespace("/proc/self/ns/uts", body_uts)) {
    RecordNotAttempted(p, "sethostname", "guard: UTS namespace is the body's own");
    return;
  }
  p.Call("sethostname", sethostname("nsc-user", 8));
}

// /proc/self/setgroups reads "deny" (setgroups(2) is then refused to everyone in this namespace).
inline bool SetgroupsDeniedHere() {
  char value[16];
  return ReadSmallFile("/proc/self/setgroups", value, sizeof value) > 0 && value[0] == 'd';
}

// Makes the caller an unprivileged process: as euid 0 it drops to ruid/euid (gids alike) with no
// supplementary groups, which clears every capability; otherwise it only drops whatever
// capabilities it holds. Skips when the id is not mapped here or the caller lacks
// CAP_SETUID/CAP_SETGID (a container's euid 0); ERROR unless CapEff ends empty. Where
// setgroups is "deny" (a user namespace set up without CAP_SETGID) the supplementary groups
// cannot be cleared; they grant no capability, so the drop goes on with a note.
inline void BecomeUnprivileged(const Probe& p, uid_t ruid, uid_t euid) {
  if (geteuid() == 0) {
    if (syscall(SYS_setgroups, 0, nullptr) == -1) {
      if (errno != EPERM) p.SetupFailed("setgroups(0, NULL)");
      if (!SetgroupsDeniedHere()) {
        p.Skip(ReasonCode::kInsufficientPrivilege,
               "euid 0 without CAP_SETGID cannot clear its supplementary groups");
      }
      p.Note("setgroups is \"deny\" here: supplementary groups kept while dropping privileges");
    }
    if (syscall(SYS_setresgid, ruid, euid, ruid) == -1 ||
        syscall(SYS_setresuid, ruid, euid, ruid) == -1) {
      if (errno == EINVAL) {
        p.Skip(ReasonCode::kPreconditionUnmet, "the unprivileged test uid is not mapped here");
      }
      if (errno == EPERM) {
        p.Skip(ReasonCode::kInsufficientPrivilege,
               "euid 0 without CAP_SETUID/CAP_SETGID cannot become an unprivileged uid");
      }
      p.SetupFailed("dropping to an unprivileged uid");
    }
  }
  NSC_SETUP(p, DropAllCapabilities(), "dropping all capabilities");
  if (OwnStatusHex("CapEff") != 0) p.SetupFailed("capabilities left after dropping privileges");
  // A uid change makes the process non-dumpable, which hands its /proc/PID files (uid_map,
  // setgroups, ...) to root; an ordinary unprivileged process is dumpable.
  NSC_SETUP(p, prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "PR_SET_DUMPABLE");
}
inline void BecomeUnprivileged(const Probe& p) { BecomeUnprivileged(p, kNobody, kNobody); }

// True when a user namespace this process creates could not map parent uid 0 (uid_map
// "0 0 1"): since Linux 5.12, and in backports, that needs CAP_SETFCAP at creation — which
// runc's and crun's default capability set lacks. Probed in a throwaway child, not assumed from
// the kernel version. Also true when the probe could not tell (the caller then keeps away
// from uid 0).
inline bool RootMapRefusedHere() {
  ChildProcess probe = Spawn(0, [] {
    if (unshare(CLONE_NEWUSER) == -1) return 2;
    return WriteSmallFile("/proc/self/uid_map", "0 0 1\n") == 0 ? 0 : 1;
  });
  if (!probe.ok()) return true;
  const int status = probe.Wait();
  return !ExitedWith(status, 0) && !ExitedWith(status, 2);
}

// Call before unshare(CLONE_NEWUSER) when the caller will map its own euid/egid ("0 E 1") into
// the new namespace. As euid 0 where mapping uid 0 is refused (no CAP_SETFCAP), it first drops
// to kNobody, so that a non-zero outside id is mapped instead; without CAP_SETUID/CAP_SETGID to
// do so the case skips (INSUFFICIENT_PRIVILEGE). A set-up step: it never makes a verdict.
inline void PrepareOwnIdMapping(const Probe& p) {
  if (geteuid() != 0 || !RootMapRefusedHere()) return;
  if (HasEffectiveCapability(CAP_SETUID) != 1 || HasEffectiveCapability(CAP_SETGID) != 1) {
    p.Skip(ReasonCode::kInsufficientPrivilege,
           "euid 0 without CAP_SETFCAP may not map uid 0 into a user namespace (Linux 5.12), "
           "and without CAP_SETUID/CAP_SETGID it cannot map another uid instead");
  }
  p.Note("mapping uid 0 needs CAP_SETFCAP here: the case maps uid 65534 instead");
  BecomeUnprivileged(p);
}

// The caller's ids outside the user namespace it entered.
struct OutsideIds {
  uid_t uid;
  gid_t gid;
};

// Set-up: the caller becomes uid/gid 0 of a new user namespace (plus `extra_flags`) that maps
// its own euid/egid ("0 E 1", setgroups "deny"), so it holds every capability there and may
// nest further. Skips or reports ERROR, never a verdict. Returns the outside ids mapped.
inline OutsideIds EnterMappedUserNs(const Probe& p, unsigned long extra_flags, const char* what) {
  PrepareOwnIdMapping(p);
  const OutsideIds ids{geteuid(), getegid()};
  UnshareOrSkip(p, CLONE_NEWUSER | extra_flags, what);
  NSC_SETUP(p, WriteIdMaps(0, 0, ids.uid, 0, ids.gid), "writing the new user namespace's maps");
  return ids;
}

// True when the body runs as root in the initial user namespace (it can then use other uids).
inline bool RealRoot() {
  return geteuid() == 0 && InInitialUserNs() && HasEffectiveCapability(CAP_SETUID) == 1;
}

// ---------------------------------------------------------------------------------------------
// Processes

// A child that runs `setup`, reports readiness, waits until Release(), then runs `after`.
// Release() signals with a byte (not EOF), so other children holding a copy of the pipe do not
// matter. The destructor kills the child if it was not released.
class ParkedChild {
 public:
  ParkedChild() = default;
  ParkedChild(const ParkedChild&) = delete;
  ParkedChild& operator=(const ParkedChild&) = delete;

  // Returns false when the child could not be started or exited before becoming ready.
  bool Start(unsigned long clone_flags, FunctionRef<int()> setup, FunctionRef<int()> after) {
    if (!ready_.ok() || !release_.ok()) return false;
    child_ = Spawn(clone_flags, [&] {
      ready_.CloseReadEnd();
      release_.CloseWriteEnd();
      if (setup() != 0) return 1;
      ready_.Signal();
      if (!release_.Wait()) return 1;
      return after();
    });
    ready_.CloseWriteEnd();
    release_.CloseReadEnd();
    return child_.ok() && ready_.Wait();
  }
  bool Start(unsigned long clone_flags, FunctionRef<int()> setup) {
    return Start(clone_flags, setup, [] { return 0; });
  }
  pid_t pid() const { return child_.pid(); }
  // Lets the child run `after`, then reaps it; returns its wait status.
  int Release() {
    release_.Signal();
    return child_.Wait();
  }

 private:
  Barrier ready_, release_;
  ChildProcess child_;
};

// Reads `fd` to EOF into out (NUL-terminated, truncated to cap-1; the rest is drained).
inline size_t ReadToEof(int fd, char* out, size_t cap) {
  size_t total = 0;
  char scratch[512];
  for (;;) {
    char* dst = total + 1 < cap ? out + total : scratch;
    size_t room = total + 1 < cap ? cap - 1 - total : sizeof scratch;
    ssize_t n = read(fd, dst, room);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (dst != scratch) total += static_cast<size_t>(n);
  }
  out[total] = '\0';
  return total;
}

// execve(argv[0], argv, {NULL}) with stdout on `out_fd`; returns only on failure (_exit(127)).
[[noreturn]] inline void ExecWithStdout(int out_fd, const char* const* argv) {
  if (dup2(out_fd, STDOUT_FILENO) == -1) _exit(126);
  char* const envp[] = {nullptr};
  execve(argv[0], const_cast<char* const*>(argv), envp);
  _exit(127);
}
[[noreturn]] inline void ExecWithStdout(int out_fd, const char* path, const char* arg) {
  const char* const argv[] = {path, arg, nullptr};
  ExecWithStdout(out_fd, argv);
}

// A pipe whose ends close on exec (the write end is dup2'ed to stdout where needed).
struct Pipe {
  UniqueFd read, write;
  bool Open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == -1) return false;
    read.Reset(fds[0]);
    write.Reset(fds[1]);
    return true;
  }
};

// A fixed-capacity text buffer for map texts larger than PathBuf holds (up to one page).
class TextBuf {
 public:
  TextBuf& Add(const char* s) {
    while (*s != '\0' && len_ + 1 < sizeof buf_) buf_[len_++] = *s++;
    buf_[len_] = '\0';
    return *this;
  }
  TextBuf& Add(int64_t v) {
    PathBuf digits;
    digits.Add(v);
    return Add(digits.c_str());
  }
  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }

 private:
  char buf_[8192] = {};
  size_t len_ = 0;
};

// open(path, O_WRONLY) + one write(2) of text; -1/errno from whichever failed.
inline long OpenAndWrite(const char* path, const char* text, size_t len) {
  UniqueFd fd = OpenFile(path, O_WRONLY);
  if (!fd.valid()) return -1;
  return write(fd.get(), text, len);
}

}  // namespace nsc::cases::userns
