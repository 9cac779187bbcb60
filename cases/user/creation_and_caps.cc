// User namespaces: creating them, the flags they refuse, the nesting limit, and the
// capabilities a process has in (and only in) them. Sources: user_namespaces(7), 'Capabilities',
// 'Effect of capabilities within a user namespace', 'Nested namespaces, namespace membership';
// namespaces(7); clone(2) and unshare(2), CLONE_NEWUSER and ERRORS.
#include <linux/securebits.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <time.h>

#include "user_common.h"

namespace nsc::cases {
namespace {

using ::testing::AllOf;
using ::testing::Eq;
using ::testing::Ge;
using ::testing::Le;
using ::testing::Ne;
using userns::BecomeUnprivileged;
using userns::FullCapMask;
using userns::OwnStatusHex;

// unshare(flags) whose failure may be the environment's: skip then, else record the result.
void RecordUnshareOrSkip(const Probe& p, const char* key, unsigned long flags) {
  const long r = unshare(static_cast<int>(flags));
  if (r == -1) {
    const int err = errno;
    userns::SkipIfUserNsRefusedByEnvironment(p, err);
    errno = err;
  }
  p.Call(key, r);
}

// Flow: 1. a child drops to an unprivileged uid (a rootless run already is one) and records its
// euid and CapEff; 2. it records its user namespace, calls unshare(CLONE_NEWUSER), and records
// the namespace again.
void UnprivilegedCreate(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    BecomeUnprivileged(p);
    p.Value("caller.euid", geteuid());
    p.Value("caller.cap_eff", OwnStatusHex("CapEff"));
    p.NsId("before.user", "/proc/self/ns/user");
    RecordUnshareOrSkip(p, "unshare", p.Flags(CLONE_NEWUSER, CLONE_NEWUSER));
    p.NsId("after.user", "/proc/self/ns/user");
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.unprivileged_create",
    .title = "Since 3.8 no privilege is needed to create a user namespace",
    .source = {"namespaces(7)", "The namespaces API"},
    .references = {"user_namespaces(7), Interaction of user namespaces and other types of namespaces",
                   "clone(2), CLONE_NEWUSER",
                   "catalogue record item 32 (environment gating: skipped with the reason)"},
    .observe = "a process with a non-zero euid and an empty CapEff calls unshare(CLONE_NEWUSER): "
               "it returns 0 and /proc/self/ns/user changes; refusals explained by "
               "max_user_namespaces, unprivileged_userns_clone, AppArmor or seccomp skip",
    .control = "unshare without CLONE_NEWUSER: the call succeeds but the user namespace is the old "
               "one (contradicts after.user)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("caller.euid", Ne(0))), Given(Expect("caller.cap_eff", Eq(0)))},
    .expect = {ExpectCall("unshare", Succeeds()), ExpectDifferentNs("after.user", "before.user")},
    .body = UnprivilegedCreate,
});

// Flow: 1. record the full capability mask (cap_last_cap); 2. unprivileged child U calls
// unshare(CLONE_NEWUSER) and records CapEff, CapPrm and capget()'s effective set; 3. another
// unprivileged child forks a grandchild with clone(CLONE_NEWUSER), which records the same.
void FullCapsInNewNs(const Probe& p) {
  p.Value("full_mask", FullCapMask(p));
  ChildProcess by_unshare = Spawn(0, [&] {
    BecomeUnprivileged(p);
    if (unshare(static_cast<int>(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER))) == -1) {
      userns::UserNsSetupFailed(p, "unshare(CLONE_NEWUSER)");
    }
    p.Value("unshare.cap_eff", OwnStatusHex("CapEff"));
    p.Value("unshare.cap_prm", OwnStatusHex("CapPrm"));
    p.Value("unshare.capget_eff", userns::CapgetEffective());
    return 0;
  });
  if (!by_unshare.ok()) p.SetupFailed("fork");
  by_unshare.Wait();
  ChildProcess by_clone = Spawn(0, [&] {
    BecomeUnprivileged(p);
    ChildProcess grandchild = Spawn(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER), [&] {
      p.Value("clone.cap_eff", OwnStatusHex("CapEff"));
      p.Value("clone.cap_prm", OwnStatusHex("CapPrm"));
      return 0;
    });
    if (!grandchild.ok()) userns::UserNsSetupFailed(p, "clone(CLONE_NEWUSER)");
    grandchild.Wait();
    return 0;
  });
  if (!by_clone.ok()) p.SetupFailed("fork");
  by_clone.Wait();
}

NSC_CASE({
    .id = "user.full_caps_in_new_ns",
    .title = "A process entering a new user namespace by clone or unshare has every capability there",
    .source = {"user_namespaces(7)", "Capabilities"},
    .observe = "an unprivileged caller's unshare(CLONE_NEWUSER), and a child of its "
               "clone(CLONE_NEWUSER): CapEff and CapPrm equal the mask of every capability up to "
               "/proc/sys/kernel/cap_last_cap; capget() agrees",
    .control = "no CLONE_NEWUSER: the unprivileged process keeps its empty capability sets "
               "(contradicts every *.cap_* key)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .expect = {ExpectSameValue("unshare.cap_eff", "full_mask"),
               ExpectSameValue("unshare.cap_prm", "full_mask"),
               ExpectSameValue("unshare.capget_eff", "full_mask"),
               ExpectSameValue("clone.cap_eff", "full_mask"),
               ExpectSameValue("clone.cap_prm", "full_mask")},
    .body = FullCapsInNewNs,
});

// Flow: 1. record the body's UTS namespace; 2. a child calls unshare(CLONE_NEWUTS): a UTS
// namespace owned by its current user namespace P, where it is uid 0 with CAP_SYS_ADMIN (real
// root, or root of the harness's user namespace); 3. it records euid and CAP_SYS_ADMIN and, as a
// positive arm, sethostname() on that private namespace (guarded); then it
// calls unshare(CLONE_NEWUSER) and records CAP_SYS_ADMIN in the new namespace; 4. guarded by a
// check that its UTS namespace is not the body's, it calls sethostname() on the UTS namespace
// that P still owns.
void NoCapsInParentNs(const Probe& p) {
  const NsFileId body_uts = NsFileIdOf("/proc/self/ns/uts");
  ChildProcess child = Spawn(0, [&] {
    userns::UnshareOrSkip(p, CLONE_NEWUTS, "unshare(CLONE_NEWUTS) in the parent user namespace");
    p.Value("parent.euid", geteuid());
    // Positive arm: before the new user namespace, sethostname() on this private UTS
    // namespace succeeds, so the EPERM below is not a filter's or a sandbox's.
    if (!InOtherNamespace("/proc/self/ns/uts", body_uts)) {
      p.SetupFailed("guard: the private UTS namespace is the body's own");
    }
    userns::CallUnderTest(p, "parent.sethostname", sethostname("nsc-user", 8));
    p.Value("parent.cap_sys_admin", HasEffectiveCapability(CAP_SYS_ADMIN));
    if (unshare(static_cast<int>(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER))) == -1) {
      userns::UserNsSetupFailed(p, "unshare(CLONE_NEWUSER)");
    }
    p.Value("child.cap_sys_admin", HasEffectiveCapability(CAP_SYS_ADMIN));
    userns::SethostnameOutsideBodyUts(p, body_uts);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.no_caps_in_parent_ns",
    .title = "A process has no capabilities in the parent user namespace, even if it was root there",
    .source = {"user_namespaces(7)", "Capabilities"},
    .observe = "uid 0 with CAP_SYS_ADMIN creates a UTS namespace, then unshare(CLONE_NEWUSER): with "
               "every capability in the new namespace, sethostname() on the UTS namespace owned by "
               "the parent user namespace fails with EPERM",
    .control = "no CLONE_NEWUSER: the process keeps CAP_SYS_ADMIN over its private UTS namespace "
               "and sethostname() succeeds there (never on the host's): contradicts sethostname",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("parent.euid", Eq(0))),
                      Given(Expect("parent.cap_sys_admin", Eq(1))),
                      Given(ExpectCall("parent.sethostname", Succeeds())),
                      Given(Expect("child.cap_sys_admin", Eq(1)))},
    .expect = {ExpectCall("sethostname", FailsWith(EPERM))},
    .body = NoCapsInParentNs,
});

// Flow: 1. record the body's user namespace; 2. a child calls unshare(CLONE_NEWUSER|CLONE_NEWNS)
// (control: CLONE_NEWNS only, which needs root), maps its ids ("0 E 1"), makes its mounts
// private and mounts a scratch tmpfs on /tmp; it records whether CAP_MKNOD, CAP_SYS_TIME and
// CAP_IPC_LOCK are effective; 3. mknod() of a character device (1,3) on the tmpfs;
// 4. RLIMIT_MEMLOCK is lowered to {0, 0}, then a page is mlock()ed: allowed only with
// CAP_IPC_LOCK, checked against the initial namespace (locked memory belongs to no namespace);
// 5. clock_adjtime(
// CLOCK_REALTIME) with ADJ_TICK and an out-of-range tick: the CAP_SYS_TIME check precedes the
// EINVAL, so nothing changes either way; 6. init_module(NULL, 0, "") is recorded (ENOSYS on a
// kernel without module support, so it cannot carry the verdict); 7. guarded by a check that
// the child is in a user namespace other than the body's, clock_settime(CLOCK_REALTIME, now).
void CapsOnlyForOwnedResources(const Probe& p) {
  if (p.control() && !userns::RealRoot()) {
    p.Skip(ReasonCode::kInsufficientPrivilege,
           "the control needs real root: a mount namespace without a user namespace");
  }
  const NsFileId body_user = NsFileIdOf("/proc/self/ns/user");
  ChildProcess child = Spawn(0, [&] {
    if (!p.control()) userns::PrepareOwnIdMapping(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    if (unshare(static_cast<int>(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER) | CLONE_NEWNS)) == -1) {
      userns::UserNsSetupFailed(p, "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
    }
    // The creator's ids must be mapped, or creating files on the namespace's tmpfs fails with
    // EOVERFLOW before any capability is checked.
    if (!p.control()) NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "mapping the new namespace");
    NSC_SETUP(p, mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "making mounts private");
    NSC_SETUP(p, mount("nsc-scratch", "/tmp", "tmpfs", 0, "mode=0755"), "mounting a scratch tmpfs");
    const bool caps = HasEffectiveCapability(CAP_MKNOD) == 1 &&
                      HasEffectiveCapability(CAP_SYS_TIME) == 1 &&
                      HasEffectiveCapability(CAP_IPC_LOCK) == 1;
    p.Value("caps_needed", caps ? 1 : 0);
    p.Call("mknod_chr", mknod("/tmp/nsc-null", S_IFCHR | 0600, makedev(1, 3)));
    const struct rlimit no_memlock{0, 0};
    NSC_SETUP(p, setrlimit(RLIMIT_MEMLOCK, &no_memlock), "lowering RLIMIT_MEMLOCK to 0");
    const size_t page = static_cast<size_t>(getpagesize());
    void* mem = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) p.SetupFailed("mmap of a page to lock");
    p.Call("mlock", mlock(mem, page));
    struct timex tx{};
    tx.modes = ADJ_TICK;
    tx.tick = 0;  // out of range: EINVAL once the capability check has passed
    p.Call("clock_adjtime", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
    p.Call("init_module", syscall(SYS_init_module, nullptr, 0UL, ""));
    if (!InOtherNamespace("/proc/self/ns/user", body_user)) {
      userns::RecordNotAttempted(p, "clock_settime", "guard: still in the body's user namespace");
      return 0;
    }
    struct timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    p.Call("clock_settime", clock_settime(CLOCK_REALTIME, &now));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.caps_only_for_owned_resources",
    .title = "Capabilities in a non-initial user namespace grant nothing over the clock, devices, "
             "locked memory or modules",
    .source = {"user_namespaces(7)", "Effect of capabilities within a user namespace"},
    .references = {"mknod(2), EPERM", "mlock(2), EPERM (CAP_IPC_LOCK, RLIMIT_MEMLOCK 0)",
                   "clock_adjtime(2), EPERM", "init_module(2), EPERM and ENOSYS (recorded)"},
    .observe = "in a new user namespace with every capability: mknod of a character device on a "
               "tmpfs it mounted, mlock() with RLIMIT_MEMLOCK 0, clock_adjtime(ADJ_TICK) and "
               "clock_settime(CLOCK_REALTIME) all fail with EPERM; init_module is recorded "
               "(EPERM, or ENOSYS on a kernel without module support)",
    .control = "as root without CLONE_NEWUSER (private mount namespace): mknod succeeds on the "
               "private tmpfs, mlock succeeds, clock_adjtime reaches EINVAL (contradicts "
               "mknod_chr, mlock and clock_adjtime); clock_settime is not "
               "called (it would set the host clock)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER | CLONE_NEWNS,
              .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("caps_needed", Eq(1)), ReasonCode::kInsufficientPrivilege)},
    .expect = {ExpectCall("mknod_chr", FailsWith(EPERM)),
               ExpectCall("mlock", FailsWith(EPERM)),
               ExpectCall("clock_adjtime", FailsWith(EPERM)),
               ExpectCall("clock_settime", FailsWith(EPERM)), Record("init_module")},
    .body = CapsOnlyForOwnedResources,
});

// Runs the status printer (userns::kStatusPrinter /proc/self/status) in a child placed in a new
// user namespace whose uid_map is
// "<inside> E 1" (E = the child's unprivileged euid; gid_map alike after setgroups deny), and
// records CapEff before exec and CapEff/CapPrm of the exec'ed program. In the control the child
// does not exec: it copies its own status instead.
struct ExecKeys {
  const char* before;
  const char* after_eff;
  const char* after_prm;
  const char* exit;
};
void CapsAcrossExec(const Probe& p, bool inside_root, const ExecKeys& keys) {
  userns::Pipe out;
  if (!out.Open()) p.SetupFailed("pipe");
  ChildProcess child = Spawn(0, [&] {
    out.read.Reset();
    BecomeUnprivileged(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    NSC_SETUP(p, WriteIdMaps(0, inside_root ? 0 : uid, uid, inside_root ? 0 : gid, gid),
              "writing the new namespace's maps");
    p.Value(keys.before, OwnStatusHex("CapEff"));
    if (!p.control()) {
      userns::ExecWithStdout(out.write.get(), userns::kStatusPrinter, "/proc/self/status");
    }
    char status[4096];
    const ssize_t n = ReadSmallFile("/proc/self/status", status, sizeof status);
    if (n > 0 && write(out.write.get(), status, static_cast<size_t>(n)) != n) return 1;
    return 0;
  });
  out.write.Reset();
  if (!child.ok()) p.SetupFailed("fork");
  char text[8192];
  userns::ReadToEof(out.read.get(), text, sizeof text);
  const int status = child.Wait();
  p.Value(keys.exit, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + TermSignalOf(status));
  p.Value(keys.after_eff, userns::StatusHex(text, "CapEff"));
  p.Value(keys.after_prm, userns::StatusHex(text, "CapPrm"));
}

// Flow: 1. record the full capability mask; 2. an unprivileged child (uid E) enters a new user
// namespace with the map "E E 1" (so its uid there is not 0), records CapEff, and execs the
// status printer (userns::kStatusPrinter) with stdout on a pipe; the parent parses its
// CapEff/CapPrm; 3. the same with the map "0 E 1" (uid 0 there).
void ExecveRecomputesCaps(const Probe& p) {
  userns::RequireProgram(p, userns::kStatusPrinter);
  p.Value("full_mask", FullCapMask(p));
  CapsAcrossExec(p, false,
                 {"nonroot.cap_eff_before_exec", "nonroot.cap_eff_after_exec",
                  "nonroot.cap_prm_after_exec", "nonroot.exit"});
  CapsAcrossExec(p, true,
                 {"root.cap_eff_before_exec", "root.cap_eff_after_exec", "root.cap_prm_after_exec",
                  "root.exit"});
}

NSC_CASE({
    .id = "user.execve_recomputes_caps",
    .title = "execve() recomputes capabilities: a non-zero uid in the namespace loses them all",
    .source = {"user_namespaces(7)", "Capabilities"},
    .references = {"capabilities(7), Transformation of capabilities during execve()"},
    .observe = "in a new user namespace with uid_map \"E E 1\", a process holding every capability "
               "execs a program that prints its /proc/self/status: its CapEff and CapPrm are 0. "
               "With \"0 E 1\" they are the full mask",
    .control = "no execve: the process reads its own status, where CapEff is still full "
               "(contradicts nonroot.cap_eff_after_exec and nonroot.cap_prm_after_exec)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectSameValue("nonroot.cap_eff_before_exec", "full_mask")),
                      Given(ExpectSameValue("root.cap_eff_before_exec", "full_mask")),
                      Given(Expect("nonroot.exit", Eq(0)), ReasonCode::kPreconditionUnmet),
                      Given(Expect("root.exit", Eq(0)), ReasonCode::kPreconditionUnmet)},
    .expect = {Expect("nonroot.cap_eff_after_exec", Eq(0)),
               Expect("nonroot.cap_prm_after_exec", Eq(0)),
               ExpectSameValue("root.cap_eff_after_exec", "full_mask"),
               ExpectSameValue("root.cap_prm_after_exec", "full_mask")},
    .body = ExecveRecomputesCaps,
});

// Flow: 1. a child S sets SECBIT_NOROOT with PR_SET_SECUREBITS (it holds CAP_SETPCAP: real root,
// or root of the harness's user namespace) and records the bit; 2. S's child created with
// clone(CLONE_NEWUSER) records PR_GET_SECUREBITS; 3. another child calls unshare(CLONE_NEWUSER)
// and records it; 4. a parked child H enters a new user namespace, and a further child (still
// with SECBIT_NOROOT) calls setns() into H's namespace and records PR_GET_SECUREBITS.
void SecurebitsReset(const Probe& p) {
  userns::RequireSetnsReachesKernel(p);
  const unsigned long newuser = p.Flags(CLONE_NEWUSER, CLONE_NEWUSER);
  ChildProcess s = Spawn(0, [&] {
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT, 0, 0, 0) == -1) {
      if (errno == EPERM) {
        p.Skip(ReasonCode::kInsufficientPrivilege, "PR_SET_SECUREBITS needs CAP_SETPCAP");
      }
      p.SetupFailed("PR_SET_SECUREBITS(SECBIT_NOROOT)");
    }
    const int before = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    p.Value("before.noroot", before >= 0 && (before & SECBIT_NOROOT) != 0 ? 1 : 0);

    ChildProcess by_clone = Spawn(newuser, [&] {
      p.Value("clone.securebits", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
      return 0;
    });
    if (!by_clone.ok()) userns::UserNsSetupFailed(p, "clone(CLONE_NEWUSER)");
    by_clone.Wait();

    ChildProcess by_unshare = Spawn(0, [&] {
      userns::UnshareOrSkip(p, newuser, "unshare(CLONE_NEWUSER)");
      p.Value("unshare.securebits", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
      return 0;
    });
    if (!by_unshare.ok()) p.SetupFailed("fork");
    by_unshare.Wait();

    userns::ParkedChild holder;
    if (!holder.Start(0, [&] {
          userns::UnshareOrSkip(p, newuser, "unshare(CLONE_NEWUSER) for the namespace to join");
          // S may lack capabilities in the user namespace the body was exec'ed in; a dumpable
          // holder lets S, with the same ids, open its /proc/PID/ns files all the same.
          NSC_SETUP(p, prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "PR_SET_DUMPABLE");
          return 0;
        })) {
      p.SetupFailed("a child parked in a new user namespace");
    }
    UniqueFd target = OpenNs(holder.pid(), "user");
    if (!target.valid()) p.SetupFailed("open /proc/<holder>/ns/user");
    ChildProcess by_setns = Spawn(0, [&] {
      userns::CallUnderTest(p, "setns", setns(target.get(), CLONE_NEWUSER));
      p.Value("setns.securebits", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
      return 0;
    });
    if (!by_setns.ok()) p.SetupFailed("fork");
    by_setns.Wait();
    holder.Release();
    return 0;
  });
  if (!s.ok()) p.SetupFailed("fork");
  s.Wait();
}

NSC_CASE({
    .id = "user.securebits_reset",
    .title = "Entering a user namespace by clone, unshare or setns resets every securebits flag",
    .source = {"user_namespaces(7)", "Capabilities"},
    .references = {"capabilities(7), The securebits flags"},
    .observe = "a process with SECBIT_NOROOT set: its clone(CLONE_NEWUSER) child, its "
               "unshare(CLONE_NEWUSER), and its setns() into a child user namespace each read "
               "PR_GET_SECUREBITS as 0",
    .control = "no new user namespace: clone and unshare keep SECBIT_NOROOT, and setns into the "
               "caller's own namespace fails, so the bit stays (contradicts clone.securebits, "
               "unshare.securebits, setns and setns.securebits)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("before.noroot", Eq(1)))},
    .expect = {Expect("clone.securebits", Eq(0)),
               Expect("unshare.securebits", Eq(0)), ExpectCall("setns", Succeeds()),
               Expect("setns.securebits", Eq(0))},
    .body = SecurebitsReset,
});

// Flow: 1. a child records whether it starts in the initial user namespace; 2. it loops (at most
// 64 times): unshare(CLONE_NEWUSER), then maps its euid/egid of the previous level to 0 in the
// new namespace (setgroups deny, uid_map, gid_map) so the next level can be created; 3. it
// records how many levels were created and the result of the unshare that ended the loop.
void NestingLimit(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    const bool from_initial = userns::InInitialUserNs();
    userns::PrepareOwnIdMapping(p);
    constexpr int kMaxAttempts = 64;
    int created = 0;
    long last = 0;
    for (int i = 0; i < kMaxAttempts; ++i) {
      const uid_t uid = geteuid();
      const gid_t gid = getegid();
      last = unshare(static_cast<int>(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER)));
      if (last == -1) break;
      ++created;
      if (!p.control()) NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "mapping a nested level");
    }
    if (last == -1 && created == 0) userns::UserNsSetupFailed(p, "first unshare(CLONE_NEWUSER)");
    p.Call("nest.unshare_at_limit", last);
    p.Value("nest.levels_created", created);
    if (from_initial) p.Value("nest.levels_below_initial_ns", created);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.nesting_limit",
    .title = "User namespace nesting is limited (32 documented levels); beyond it unshare fails with ENOSPC",
    .source = {"user_namespaces(7)", "Nested namespaces, namespace membership"},
    .references = {"clone(2), ERRORS (ENOSPC, EUSERS)", "unshare(2), ERRORS",
                   "catalogue record items 7 and 8: the exact depth is recorded (33 accepted on "
                   "6.18); the errno is ENOSPC since 4.9 (EUSERS 3.11-4.8 is not asserted: such "
                   "kernels skip)"},
    .observe = "nested unshare(CLONE_NEWUSER) plus own maps in a loop: it ends with ENOSPC after at "
               "most 33 levels from the caller's namespace; the number of levels is recorded",
    .control = "unshare without CLONE_NEWUSER: no nesting, the loop never hits a limit "
               "(contradicts nest.unshare_at_limit and nest.levels_created)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {4, 9}},
    .expect = {ExpectCall("nest.unshare_at_limit", FailsWith(ENOSPC)),
               Expect("nest.levels_created", AllOf(Ge(1), Le(33))),
               Record("nest.levels_below_initial_ns")},
    .body = NestingLimit,
});

// Flow: 1. a child calls unshare(CLONE_NEWUSER) and writes no maps (control: writes "0 E 1"
// maps); 2. it records its euid/egid there and calls unshare(CLONE_NEWUSER) again.
void UnmappedCallerEperm(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    userns::PrepareOwnIdMapping(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    if (p.control()) NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "writing the maps (control)");
    p.Value("first.euid", geteuid());
    p.Value("first.egid", getegid());
    p.Call("second_unshare", unshare(CLONE_NEWUSER));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.unmapped_caller_eperm",
    .title = "CLONE_NEWUSER fails with EPERM when the caller's euid/egid are not mapped",
    .source = {"clone(2)", "ERRORS"},
    .references = {"unshare(2), ERRORS"},
    .observe = "after unshare(CLONE_NEWUSER) without writing maps (euid shows as the overflow "
               "uid), a second unshare(CLONE_NEWUSER) fails with EPERM",
    .control = "the maps are written after the first unshare: the second one succeeds "
               "(contradicts second_unshare)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .expect = {ExpectCall("second_unshare", FailsWith(EPERM)), Record("first.euid"),
               Record("first.egid")},
    .body = UnmappedCallerEperm,
});

// Flow: 1. a child (with CAP_SYS_CHROOT: real root, or root of the harness's user namespace)
// calls chroot("/proc"), so its root is no longer the root of its mount namespace; 2. it calls
// unshare(CLONE_NEWUSER).
void ChrootCallerEperm(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    p.Call("chroot", chroot(p.Pick("/proc", "/")));
    userns::CallUnderTest(p, "unshare", unshare(CLONE_NEWUSER), EPERM);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.chroot_caller_eperm",
    .title = "CLONE_NEWUSER fails with EPERM for a chrooted caller",
    .source = {"clone(2)", "ERRORS"},
    .references = {"unshare(2), ERRORS"},
    .observe = "after chroot(\"/proc\"), unshare(CLONE_NEWUSER) fails with EPERM",
    .control = "chroot(\"/\"): the root stays the mount namespace's root and unshare succeeds "
               "(contradicts unshare)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 9}},
    .preconditions = {Given(ExpectCall("chroot", Succeeds()), ReasonCode::kInsufficientPrivilege)},
    .expect = {ExpectCall("unshare", FailsWith(EPERM))},
    .body = ChrootCallerEperm,
});

int ExitAtOnce(void*) {
  syscall(SYS_exit, 0);
  return 0;
}

// Flow: 1. in a child, clone(CLONE_NEWUSER|CLONE_FS|SIGCHLD) on its own stack (a child that
// would be created exits at once) and record the result; 2. clone(CLONE_NEWUSER|CLONE_THREAD|
// CLONE_SIGHAND|CLONE_VM) likewise.
void CloneNewuserWithFsOrThread(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    constexpr size_t kStack = 64 * 1024;
    char* stacks = static_cast<char*>(mmap(nullptr, 2 * kStack, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0));
    if (stacks == MAP_FAILED) p.SetupFailed("mmap of clone stacks");
    const int newuser = static_cast<int>(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER));
    const int with_fs = clone(ExitAtOnce, stacks + kStack, newuser | CLONE_FS | SIGCHLD, nullptr);
    userns::CallUnderTest(p, "clone_fs", with_fs, EINVAL);
    if (with_fs > 0) {
      int status;
      waitpid(with_fs, &status, 0);
    }
    const int thread = clone(ExitAtOnce, stacks + 2 * kStack,
                             newuser | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, nullptr);
    userns::CallUnderTest(p, "clone_thread", thread, EINVAL);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.clone_newuser_with_fs_or_thread_einval",
    .title = "clone() rejects CLONE_NEWUSER with CLONE_THREAD, and (since 3.9) with CLONE_FS",
    .source = {"clone(2)", "CLONE_NEWUSER"},
    .references = {"clone(2), ERRORS"},
    .observe = "clone(CLONE_NEWUSER|CLONE_FS|SIGCHLD) and clone(CLONE_NEWUSER|CLONE_THREAD|"
               "CLONE_SIGHAND|CLONE_VM) both fail with EINVAL",
    .control = "without CLONE_NEWUSER both calls succeed, the new task exits at once "
               "(contradicts clone_fs and clone_thread)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 9}},
    .expect = {ExpectCall("clone_fs", FailsWith(EINVAL)),
               ExpectCall("clone_thread", FailsWith(EINVAL))},
    .body = CloneNewuserWithFsOrThread,
});

}  // namespace
}  // namespace nsc::cases
