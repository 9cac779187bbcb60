// User namespaces: ids as processes and files see them — changing ids needs a mapping, unmapped
// ids show as the overflow ids, file capabilities need mapped owners, set-user-ID bits of
// unmapped owners are ignored, and SCM_CREDENTIALS are translated. Sources: user_namespaces(7),
// 'Interaction with system calls that change process UIDs or GIDs', 'Unmapped user and group
// IDs', 'Operation of file-related capabilities', 'Set-user-ID and set-group-ID programs',
// 'Miscellaneous'; setuid(2), ERRORS.
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "user_common.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using userns::BecomeUnprivileged;
using userns::OwnStatusHex;

// Flow: 1. a child enters a new user namespace (control: and writes its maps right away);
// 2. it calls setuid(0) and setgid(0); 3. it writes the maps "0 E 1" / "0 G 1" (setgroups deny);
// 4. it calls setuid(0), setuid(5), setgid(0), setgid(5).
void IdChangeRequiresMap(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    userns::PrepareOwnIdMapping(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    if (p.control()) NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "maps (control)");
    p.Call("before_map.setuid0", syscall(SYS_setuid, 0));
    p.Call("before_map.setgid0", syscall(SYS_setgid, 0));
    if (!p.control()) NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "maps");
    p.Call("after_map.setuid0", syscall(SYS_setuid, 0));
    p.Call("after_map.setuid5", syscall(SYS_setuid, 5));
    p.Call("after_map.setgid0", syscall(SYS_setgid, 0));
    p.Call("after_map.setgid5", syscall(SYS_setgid, 5));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.id_change_requires_map",
    .title = "Until the maps are written id-changing calls fail; afterwards only mapped ids are accepted",
    .source = {"user_namespaces(7)", "Interaction with system calls that change process UIDs or GIDs"},
    .references = {"setuid(2), ERRORS (EINVAL)", "setgid(2), ERRORS"},
    .observe = "in a new user namespace with every capability: setuid(0) and setgid(0) fail with "
               "EINVAL before the maps exist; after \"0 E 1\"/\"0 G 1\" setuid(0) and setgid(0) "
               "succeed, setuid(5) and setgid(5) fail with EINVAL",
    .control = "the maps are written before the first calls: setuid(0)/setgid(0) succeed at once "
               "(contradicts before_map.setuid0 and before_map.setgid0)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .expect = {ExpectCall("before_map.setuid0", FailsWith(EINVAL)),
               ExpectCall("before_map.setgid0", FailsWith(EINVAL)),
               ExpectCall("after_map.setuid0", Succeeds()),
               ExpectCall("after_map.setuid5", FailsWith(EINVAL)),
               ExpectCall("after_map.setgid0", Succeeds()),
               ExpectCall("after_map.setgid5", FailsWith(EINVAL))},
    .body = IdChangeRequiresMap,
});

// Flow: 1. a child drops to an unprivileged uid E (as root: 65533, so that E differs from the
// overflow uid) and enters a new user namespace; 2. it records the overflow uid/gid, getuid(),
// geteuid(), getgid() and the real uid in /proc/self/status; 3. it writes "0 E 1"/"0 G 1" (only
// E and G are mapped) and records getuid() and stat("/") (owned by uid 0, unmapped here).
void UnmappedIdsOverflow(const Probe& p) {
  const int64_t overflowuid = userns::RequireDecimalFile(p, "/proc/sys/kernel/overflowuid");
  const int64_t overflowgid = userns::RequireDecimalFile(p, "/proc/sys/kernel/overflowgid");
  ChildProcess child = Spawn(0, [&] {
    BecomeUnprivileged(p, userns::kOtherUid, userns::kOtherUid);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    p.Value("outside.uid", uid);
    userns::UnshareOrSkip(p, p.Flags(CLONE_NEWUSER, CLONE_NEWUSER), "unshare(CLONE_NEWUSER)");
    p.Value("overflowuid", overflowuid);
    p.Value("overflowgid", overflowgid);
    p.Value("before_map.getuid", getuid());
    p.Value("before_map.geteuid", geteuid());
    p.Value("before_map.getgid", getgid());
    int64_t status_uid = -1;
    ReadStatusIds(0, "Uid", &status_uid, 1);
    p.Value("before_map.status_uid", status_uid);
    if (!p.control()) NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "maps");
    p.Value("after_map.getuid", getuid());
    struct stat st;
    NSC_SETUP(p, stat("/", &st), "stat(\"/\")");
    p.Value("root_dir.uid", st.st_uid);
    p.Value("root_dir.gid", st.st_gid);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
  struct stat st;
  NSC_SETUP(p, stat("/", &st), "stat(\"/\")");
  p.Value("root_dir.uid_outside", st.st_uid);
}

NSC_CASE({
    .id = "user.unmapped_ids_overflow",
    .title = "Unmapped ids are shown as the overflow uid/gid (getuid, stat, /proc/PID/status)",
    .source = {"user_namespaces(7)", "Unmapped user and group IDs"},
    .observe = "before any map is written, getuid(), geteuid(), getgid() and the Uid line of "
               "/proc/self/status show /proc/sys/kernel/overflowuid (overflowgid); after mapping "
               "only the caller's own ids, stat(\"/\") of the root directory (owned by an "
               "unmapped uid, recorded outside) shows the overflow uid and gid",
    .control = "no CLONE_NEWUSER: the caller's real ids and the root directory's real owner appear "
               "(contradicts before_map.*, after_map.getuid and root_dir.uid/gid)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectDifferentValue("root_dir.uid_outside", "outside.uid"))},
    .expect = {ExpectSameValue("before_map.getuid", "overflowuid"),
               ExpectSameValue("before_map.geteuid", "overflowuid"),
               ExpectSameValue("before_map.getgid", "overflowgid"),
               ExpectSameValue("before_map.status_uid", "overflowuid"),
               Expect("after_map.getuid", Eq(0)), ExpectSameValue("root_dir.uid", "overflowuid"),
               ExpectSameValue("root_dir.gid", "overflowgid")},
    .body = UnmappedIdsOverflow,
});

// Creates `path` (mode 0600 after chown) owned by uid:gid with a little content.
int CreateOwnedFile(const char* path, uid_t uid, gid_t gid, mode_t mode) {
  UniqueFd fd(open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return -1;
  if (write(fd.get(), "x", 1) != 1) return -1;
  if (fchown(fd.get(), uid, gid) == -1) return -1;
  return fchmod(fd.get(), mode);
}

// Flow: 1. a child W (root) enters a private mount namespace and mounts a scratch tmpfs on
// /tmp; it creates F1 owned by 100001:100001, F2 owned by 100001:5555 and F3 owned by
// 5555:100001, all mode 0600; 2. W parks child C in a new user namespace and writes C's maps
// "0 100000 1000" (uid and gid), so 5555 stays unmapped; 3. C becomes uid/gid 0 there and tries
// open(F1), open(F2) (CAP_DAC_OVERRIDE), chown(F2) (CAP_CHOWN), chmod(F2) and chmod(F3)
// (CAP_FOWNER). In the control F2 and F3 are owned by mapped ids only.
void FileCapsNeedMappedOwner(const Probe& p) {
  ChildProcess w = Spawn(0, [&] {
    userns::EnterPrivateMountNsOrSkip(p);
    NSC_SETUP(p, mount("nsc-scratch", "/tmp", "tmpfs", 0, "mode=0755"), "scratch tmpfs");
    const gid_t unmapped = p.Pick<gid_t>(5555, 100002);
    NSC_SETUP(p, CreateOwnedFile("/tmp/f1", 100001, 100001, 0600), "creating F1");
    NSC_SETUP(p, CreateOwnedFile("/tmp/f2", 100001, unmapped, 0600), "creating F2");
    NSC_SETUP(p, CreateOwnedFile("/tmp/f3", unmapped, 100001, 0600), "creating F3");
    userns::ParkedChild c;
    const bool started = c.Start(
        0, [] { return unshare(CLONE_NEWUSER) == 0 ? 0 : 1; },
        [&] {
          NSC_SETUP(p, static_cast<int>(syscall(SYS_setresgid, 0, 0, 0)), "setresgid(0) inside");
          NSC_SETUP(p, static_cast<int>(syscall(SYS_setgroups, 0, nullptr)), "setgroups(0) inside");
          NSC_SETUP(p, static_cast<int>(syscall(SYS_setresuid, 0, 0, 0)), "setresuid(0) inside");
          p.Value("inside.cap_eff", OwnStatusHex("CapEff"));
          p.Value("full_mask", userns::FullCapMask(p));
          UniqueFd f1 = OpenFile("/tmp/f1", O_RDONLY);
          p.Call("f1.open_read", f1.get());
          UniqueFd f2 = OpenFile("/tmp/f2", O_RDONLY);
          p.Call("f2.open_read", f2.get());
          p.Call("f2.chown", chown("/tmp/f2", 0, 0));
          p.Call("f2.chmod", chmod("/tmp/f2", 0640));
          p.Call("f3.chmod", chmod("/tmp/f3", 0640));
          return 0;
        });
    if (!started) p.SetupFailed("parked child");
    NSC_SETUP(p, userns::WriteProcFile(c.pid(), "uid_map", "0 100000 1000\n"), "uid_map");
    NSC_SETUP(p, userns::WriteProcFile(c.pid(), "gid_map", "0 100000 1000\n"), "gid_map");
    c.Release();
    return 0;
  });
  if (!w.ok()) p.SetupFailed("fork");
  w.Wait();
}

NSC_CASE({
    .id = "user.file_caps_need_mapped_owner",
    .title = "File capabilities apply only to files whose uid and gid are mapped (CAP_FOWNER: uid only)",
    .source = {"user_namespaces(7)", "Operation of file-related capabilities"},
    .observe = "uid 0 of a namespace mapping 100000-100999, with every capability there: opening "
               "F1 (100001:100001, 0600) succeeds; opening F2 (100001:5555) fails with EACCES and "
               "chown(F2) with EPERM (gid unmapped), yet chmod(F2) succeeds (CAP_FOWNER needs only "
               "the uid); chmod(F3) (5555:100001) fails with EPERM",
    .control = "F2 and F3 are owned by mapped ids only: every call succeeds (contradicts "
               "f2.open_read, f2.chown and f3.chmod)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWUSER | CLONE_NEWNS,
              .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectSameValue("inside.cap_eff", "full_mask")),
                      Given(ExpectCall("f1.open_read", Succeeds()))},
    .expect = {ExpectCall("f2.open_read", FailsWith(EACCES)),
               ExpectCall("f2.chown", FailsWith(EPERM)),
               ExpectCall("f2.chmod", Succeeds()), ExpectCall("f3.chmod", FailsWith(EPERM))},
    .body = FileCapsNeedMappedOwner,
});

// Copies `from` to `to` (a new file), then sets its owner and mode (after chown, which would
// clear set-user-ID bits).
int CopyExecutable(const char* from, const char* to, uid_t uid, gid_t gid, mode_t mode) {
  UniqueFd in = OpenFile(from, O_RDONLY);
  if (!in.valid()) return -1;
  UniqueFd out(open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700));
  if (!out.valid()) return -1;
  char buf[8192];
  for (;;) {
    ssize_t n = read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    if (write(out.get(), buf, static_cast<size_t>(n)) != n) return -1;
  }
  if (fchown(out.get(), uid, gid) == -1) return -1;
  return fchmod(out.get(), mode);
}

// Parks a child in a new user namespace; the caller (root in the parent) writes `uid_map` and
// `gid_map` (no setgroups deny); the child becomes uid/gid `as_id` there, records its euid as
// `before_key` (unless null) and execs `argv` with stdout on a pipe. Returns the wait status and
// stores the output in `out` (it fits the pipe buffer, so it is read after the child is reaped).
int ExecInNamespace(const Probe& p, const char* uid_map, const char* gid_map, uid_t as_id,
                    const char* before_key, const char* const* argv, char* out, size_t out_size) {
  userns::Pipe pipe;
  if (!pipe.Open()) p.SetupFailed("pipe");
  userns::ParkedChild c;
  const bool started = c.Start(
      0, [] { return unshare(CLONE_NEWUSER) == 0 ? 0 : 1; },
      [&]() -> int {
        pipe.read.Reset();
        NSC_SETUP(p, static_cast<int>(syscall(SYS_setresgid, as_id, as_id, as_id)), "setresgid inside");
        NSC_SETUP(p, static_cast<int>(syscall(SYS_setgroups, 0, nullptr)), "setgroups(0) inside");
        NSC_SETUP(p, static_cast<int>(syscall(SYS_setresuid, as_id, as_id, as_id)), "setresuid inside");
        if (before_key != nullptr) p.Value(before_key, geteuid());
        userns::ExecWithStdout(pipe.write.get(), argv);
      });
  if (!started) p.SetupFailed("parked child");
  pipe.write.Reset();
  NSC_SETUP(p, userns::WriteProcFile(c.pid(), "uid_map", uid_map), "uid_map");
  NSC_SETUP(p, userns::WriteProcFile(c.pid(), "gid_map", gid_map), "gid_map");
  const int status = c.Release();
  userns::ReadToEof(pipe.read.get(), out, out_size);
  return status;
}

int64_t ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + TermSignalOf(status);
}

// Flow: 1. a child W (root) enters a private mount namespace and mounts a scratch tmpfs on /tmp
// (suid allowed); it copies the status printer (userns::kStatusPrinter) to /tmp/suid-cat owned
// by 4242:4242, mode 06755; 2. a child parked in a new user namespace gets the maps
// "0 100000 1" (uid and gid; 4242 unmapped), becomes uid/gid 0 there and execs /tmp/suid-cat
// /proc/self/status; W parses the Uid/Gid lines it printed. Recorded only (catalogue record
// items 30 and 31): copies of the status and owner printers that are set-user-ID to the
// namespace's root (owner 100000), run by uid 1 of a namespace mapping 100000-100001 — the
// printer's euid and CapEff there, and the owner of the owner printer's own /proc/self/status
// (a non-dumpable process) as seen inside.
void SetuidBitIgnoredIfUnmapped(const Probe& p) {
  userns::RequireProgram(p, userns::kStatusPrinter);
  ChildProcess w = Spawn(0, [&] {
    userns::EnterPrivateMountNsOrSkip(p);
    NSC_SETUP(p, mount("nsc-scratch", "/tmp", "tmpfs", 0, "mode=0755"), "scratch tmpfs");
    NSC_SETUP(p, CopyExecutable(userns::kStatusPrinter, "/tmp/suid-cat", 4242, 4242, 06755),
              "set-id copy of the status printer");
    const char* map = p.Pick("0 100000 1\n", "0 100000 1\n1 4242 1\n");
    const char* const suid_cat[] = {"/tmp/suid-cat", "/proc/self/status", nullptr};
    char text[8192];
    int status = ExecInNamespace(p, map, map, 0, "before_exec.euid", suid_cat, text, sizeof text);
    p.Value("exec.exit", ExitCode(status));
    p.Value("after_exec.euid", userns::StatusDecimal(text, "Uid", 1));
    p.Value("after_exec.egid", userns::StatusDecimal(text, "Gid", 1));

    p.Value("record.suid_dumpable", userns::ReadDecimalFile("/proc/sys/fs/suid_dumpable"));
    const char* two = "0 100000 2\n";
    if (CopyExecutable(userns::kStatusPrinter, "/tmp/nsroot-cat", 100000, 100000, 04755) == 0) {
      const char* const cat[] = {"/tmp/nsroot-cat", "/proc/self/status", nullptr};
      status = ExecInNamespace(p, two, two, 1, nullptr, cat, text, sizeof text);
      if (ExitCode(status) == 0) {
        p.Value("record.nsroot_setuid.euid", userns::StatusDecimal(text, "Uid", 1));
        p.Value("record.nsroot_setuid.cap_eff", userns::StatusHex(text, "CapEff"));
      }
    }
    if (CopyExecutable(userns::kOwnerPrinter, "/tmp/nsroot-stat", 100000, 100000, 04755) == 0) {
      const char* const stat_argv[] = {"/tmp/nsroot-stat", "-c", "%u", "/proc/self/status", nullptr};
      status = ExecInNamespace(p, two, two, 1, nullptr, stat_argv, text, sizeof text);
      const char* s = text;
      uint64_t owner = 0;
      if (ExitCode(status) == 0 && userns::ParseDecimal(&s, &owner)) {
        p.Value("record.nondumpable.proc_owner_inside", static_cast<int64_t>(owner));
      }
    }
    return 0;
  });
  if (!w.ok()) p.SetupFailed("fork");
  w.Wait();
}

NSC_CASE({
    .id = "user.setuid_bit_ignored_if_unmapped",
    .title = "Set-user-ID/set-group-ID bits of a file whose owner is unmapped are ignored on exec",
    .source = {"user_namespaces(7)", "Set-user-ID and set-group-ID programs"},
    .references = {"capabilities(7), Set-user-ID-root programs and user namespaces",
                   "proc_pid(5), /proc/pid ownership of non-dumpable processes",
                   "catalogue record items 30 and 31 (recorded, not judged)"},
    .observe = "uid 0 of a namespace with the maps \"0 100000 1\" execs a copy of a program that "
               "prints its /proc/self/status, set-user-ID and set-group-ID to 4242:4242 (unmapped "
               "there): exec succeeds and the program reports euid 0 and egid 0",
    .control = "the maps also map 4242 (\"1 4242 1\"): the bits take effect, euid/egid become 1 "
               "(contradicts after_exec.euid and after_exec.egid)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWUSER | CLONE_NEWNS,
              .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("before_exec.euid", Eq(0))),
                      Given(Expect("exec.exit", Eq(0)), ReasonCode::kPreconditionUnmet)},
    .expect = {Expect("after_exec.euid", Eq(0)), Expect("after_exec.egid", Eq(0)),
               Record("record.suid_dumpable"), Record("record.nsroot_setuid.euid"),
               Record("record.nsroot_setuid.cap_eff"),
               Record("record.nondumpable.proc_owner_inside")},
    .body = SetuidBitIgnoredIfUnmapped,
});

// Flow: 1. the body makes a socketpair and sets SO_PASSCRED on the receiving end; 2. an
// unprivileged child S (uid E, gid G) enters a new user namespace with the maps "0 E 1"/"0 G 1"
// and sends SCM_CREDENTIALS {its pid, uid 0, gid 0}; 3. the body, in the parent namespace,
// receives the message and records the uid and gid it sees. In the control S receives the
// message itself, inside its namespace.
void ReceiveCredentials(const Probe& p, int fd) {
  char data;
  struct iovec iov{&data, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(struct ucred))];
  struct msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  int64_t uid = -1, gid = -1;
  // The sender has queued its message before this runs: never block.
  if (recvmsg(fd, &msg, MSG_DONTWAIT) == 1) {
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        struct ucred cred;
        __builtin_memcpy(&cred, CMSG_DATA(c), sizeof cred);
        uid = cred.uid;
        gid = cred.gid;
      }
    }
  }
  p.Value("received.uid", uid);
  p.Value("received.gid", gid);
}

void ScmCredentialsIdsTranslated(const Probe& p) {
  int sv[2];
  NSC_SETUP(p, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), "socketpair");
  UniqueFd sender_end(sv[0]), receiver_end(sv[1]);
  const int on = 1;
  NSC_SETUP(p, setsockopt(receiver_end.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on), "SO_PASSCRED");
  ChildProcess s = Spawn(0, [&] {
    BecomeUnprivileged(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    p.Value("sender.outside_uid", uid);
    p.Value("sender.outside_gid", gid);
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "maps");
    p.Value("sender.inside_uid", getuid());
    struct ucred cred{RawGetpid(), 0, 0};
    char data = 'c';
    struct iovec iov{&data, 1};
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof cred)] = {};
    struct msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof cred);
    __builtin_memcpy(CMSG_DATA(c), &cred, sizeof cred);
    p.Call("sendmsg", sendmsg(sender_end.get(), &msg, 0));
    if (p.control()) ReceiveCredentials(p, receiver_end.get());
    return 0;
  });
  sender_end.Reset();
  if (!s.ok()) p.SetupFailed("fork");
  s.Wait();
  if (!p.control()) ReceiveCredentials(p, receiver_end.get());
}

NSC_CASE({
    .id = "user.scm_credentials_ids_translated",
    .title = "Ids sent in SCM_CREDENTIALS are translated into the receiver's user namespace",
    .source = {"user_namespaces(7)", "Miscellaneous"},
    .references = {"unix(7), SCM_CREDENTIALS"},
    .observe = "a sender in a namespace with \"0 E 1\" (E unprivileged) sends uid 0 / gid 0; a "
               "receiver in the parent namespace sees uid E and gid G",
    .control = "the receiver is in the sender's namespace: it sees uid 0 and gid 0 (contradicts "
               "received.uid and received.gid)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("sender.inside_uid", Eq(0))),
                      Given(ExpectCall("sendmsg", Succeeds()))},
    .expect = {ExpectSameValue("received.uid", "sender.outside_uid"),
               ExpectSameValue("received.gid", "sender.outside_gid")},
    .body = ScmCredentialsIdsTranslated,
});

}  // namespace
}  // namespace nsc::cases
