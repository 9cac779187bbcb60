// Namespace API: the /proc/PID/ns/ directory — which entries exist, that they are `type:[inode]`
// symlinks, that (st_dev, st_ino) is the namespace identity, and that another process's links
// are behind a ptrace access check. Source: namespaces(7), 'The /proc/pid/ns/ directory'.
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "api_util.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::MatchesRegex;

// The entries of namespaces(7) with the version that added each; the case needs the newest.
constexpr const char* kAllEntries[] = {
    "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children",
    "user",   "uts"};

bool SameName(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

// Flow: 1. getdents64 over /proc/self/ns (the control lists /proc/self/fdinfo instead);
// 2. record, for every entry namespaces(7) lists, whether it is present; 3. record the whole
// listing as text.
void ProcNsEntries(const Probe& p) {
  UniqueFd dir = OpenFile(p.Pick("/proc/self/ns", "/proc/self/fdinfo"), O_RDONLY | O_DIRECTORY);
  if (!dir.valid()) p.SetupFailed("open of the directory to list");
  bool present[sizeof kAllEntries / sizeof kAllEntries[0]] = {};
  PathBuf listing;
  char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
    if (n == -1) p.SetupFailed("getdents64");
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] == '.') continue;
      if (listing.size() > 0) listing.Add(" ");
      listing.Add(d->d_name);
      for (size_t i = 0; i < sizeof kAllEntries / sizeof kAllEntries[0]; ++i) {
        if (SameName(d->d_name, kAllEntries[i])) present[i] = true;
      }
    }
  }
  p.Text("listing", listing.c_str());
  for (size_t i = 0; i < sizeof kAllEntries / sizeof kAllEntries[0]; ++i) {
    PathBuf key("has.");
    key.Add(kAllEntries[i]);
    p.Value(key.c_str(), present[i] ? 1 : 0);
  }
}

NSC_CASE({
    .id = "api.proc_ns_entries",
    .title = "/proc/PID/ns/ has one entry per namespace type setns() supports",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .observe = "getdents64 on /proc/self/ns lists cgroup (4.6), ipc (3.0), mnt (3.8), net (3.0), "
               "pid (3.8), pid_for_children (4.12), time and time_for_children (5.6), user (3.8) "
               "and uts (3.0); the case needs the newest of these versions and the kconfig "
               "options each entry depends on",
    .control = "list /proc/self/fdinfo instead: none of the namespace entries is there "
               "(contradicts every has.* key)",
    .needs = {.privilege = Privilege::kNone,
              .min_kernel = {5, 6},
              .kconfig = {"CONFIG_CGROUPS", "CONFIG_IPC_NS", "CONFIG_NET_NS", "CONFIG_PID_NS",
                          "CONFIG_TIME_NS", "CONFIG_USER_NS", "CONFIG_UTS_NS"}},
    .expect = {Expect("has.cgroup", Eq(1)), Expect("has.ipc", Eq(1)), Expect("has.mnt", Eq(1)),
               Expect("has.net", Eq(1)), Expect("has.pid", Eq(1)),
               Expect("has.pid_for_children", Eq(1)), Expect("has.time", Eq(1)),
               Expect("has.time_for_children", Eq(1)), Expect("has.user", Eq(1)),
               Expect("has.uts", Eq(1)), Record("listing")},
    .body = ProcNsEntries,
});

// Flow: 1. lstat /proc/self/ns/uts (the control: /proc/self/root, a symlink that is no namespace
// link) and record whether it is a symlink and its file type; 2. readlink it and record the
// text; 3. parse the number between '[' and ']' and record it next to stat()'s st_ino.
void ProcNsAreSymlinks(const Probe& p) {
  const char* path = p.Pick("/proc/self/ns/uts", "/proc/self/root");
  struct stat lst;
  NSC_SETUP(p, lstat(path, &lst), "lstat of the link");
  p.Value("link.is_symlink", S_ISLNK(lst.st_mode) ? 1 : 0);
  p.Value("link.file_type", static_cast<int64_t>(lst.st_mode & S_IFMT));
  char target[128];
  ssize_t n = readlink(path, target, sizeof target - 1);
  p.Call("link.readlink", n);
  target[n < 0 ? 0 : n] = '\0';
  p.Text("link.target", target);
  int64_t number = -1;
  for (const char* s = target; *s != '\0'; ++s) {
    if (*s != '[') continue;
    number = 0;
    for (++s; *s >= '0' && *s <= '9'; ++s) number = number * 10 + (*s - '0');
    break;
  }
  p.Value("link.inode", number);
  struct stat st;
  NSC_SETUP(p, stat(path, &st), "stat through the link");
  p.Value("link.st_ino", static_cast<int64_t>(st.st_ino));
}

NSC_CASE({
    .id = "api.proc_ns_are_symlinks",
    .title = "Since 3.8 /proc/PID/ns/* are symlinks whose target reads type:[inode]",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .observe = "lstat(\"/proc/self/ns/uts\") is S_ISLNK; readlink gives text matching "
               "^uts:\\[[0-9]+\\]$ and the number equals stat().st_ino. The file type is also "
               "recorded (hard links up to 3.7, symlinks from 3.8: record list item 22)",
    .control = "look at /proc/self/root instead: a symlink whose target is a path, not "
               "uts:[inode], and whose st_ino is not in the text (contradicts link.target and "
               "link.inode)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUTS, .min_kernel = {3, 8}},
    .expect = {Expect("link.is_symlink", Eq(1)), ExpectCall("link.readlink", Succeeds()),
               ExpectText("link.target", MatchesRegex("uts:\\[[0-9]+\\]")),
               ExpectSameValue("link.inode", "link.st_ino"), Record("link.file_type")},
    .body = ProcNsAreSymlinks,
});

// Flow: 1. record the identity of every base type of the body; 2. a plain fork()ed child
// records its own; 3. a second child unshare(CLONE_NEWUTS)s (the control: unshare(0)) and
// records its own.
void SameNsSameDevIno(const Probe& p) {
  api::RecordBaseNsSet(p, "parent");
  ChildProcess forked = Spawn(0, [&] {
    api::RecordBaseNsSet(p, "child");
    return 0;
  });
  if (!forked.ok()) p.SetupFailed("fork");
  forked.Wait();
  ChildProcess unsharer = Spawn(0, [&] {
    SetupCall(p, "unshare_uts", unshare(p.Flags(CLONE_NEWUTS, CLONE_NEWUTS)));
    api::RecordBaseNsSet(p, "unshared");
    return 0;
  });
  if (!unsharer.ok()) p.SetupFailed("fork");
  unsharer.Wait();
}

NSC_CASE({
    .id = "api.same_ns_same_dev_ino",
    .title =
        "Two processes share a namespace exactly when their ns links have equal (st_dev, st_ino)",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .observe = "a plain fork()ed child has the parent's (dev, ino) for ipc, mnt, net, pid, user "
               "and uts; after unshare(CLONE_NEWUTS) the uts identity differs and the others stay "
               "the parent's",
    .control = "unshare(0) instead of unshare(CLONE_NEWUTS): the uts identity stays the parent's "
               "(contradicts unshared.uts)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = api::kBaseNsFlags,
              .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("unshare_uts", Succeeds()))},
    .expect =
        {ExpectSameNs("child.ipc", "parent.ipc"), ExpectSameNs("child.mnt", "parent.mnt"),
         ExpectSameNs("child.net", "parent.net"), ExpectSameNs("child.pid", "parent.pid"),
         ExpectSameNs("child.user", "parent.user"), ExpectSameNs("child.uts", "parent.uts"),
         ExpectDifferentNs("unshared.uts", "parent.uts"),
         ExpectSameNs("unshared.ipc", "parent.ipc"), ExpectSameNs("unshared.mnt", "parent.mnt"),
         ExpectSameNs("unshared.net", "parent.net"), ExpectSameNs("unshared.pid", "parent.pid"),
         ExpectSameNs("unshared.user", "parent.user")},
    .body = SameNsSameDevIno,
});

// Flow: 1. a target child drops every capability and, in the rule setting, makes itself
// non-dumpable (PR_SET_DUMPABLE 0), then waits; 2. a prober child drops every capability and
// readlink()s and open()s /proc/<target>/ns/net, then readlink()s its own /proc/self/ns/net;
// 3. the target is released. A non-dumpable target fails PTRACE_MODE_READ_FSCREDS for a caller
// without CAP_SYS_PTRACE whatever its uid; both sides without capabilities keeps the
// capability-subset check of the commoncap LSM out of the way.
void ProcNsPtraceCheck(const Probe& p) {
  Barrier ready, release;
  if (!ready.ok() || !release.ok()) p.SetupFailed("pipe2");
  ChildProcess target = Spawn(0, [&] {
    ready.CloseReadEnd();
    release.CloseWriteEnd();
    if (DropAllCapabilities() == -1) p.SetupFailed("capset in the target");
    if (prctl(PR_SET_DUMPABLE, p.Pick(0, 1), 0, 0, 0) == -1) p.SetupFailed("PR_SET_DUMPABLE");
    ready.Signal();
    release.Wait();
    return 0;
  });
  if (!target.ok()) p.SetupFailed("fork of the target");
  ready.CloseWriteEnd();
  release.CloseReadEnd();
  if (!ready.Wait()) p.SetupFailed("the target died before it was ready");
  const pid_t target_pid = target.pid();
  ChildProcess prober = Spawn(0, [&] {
    if (DropAllCapabilities() == -1) p.SetupFailed("capset in the prober");
    const PathBuf other = ProcPath(target_pid, "ns/net");
    char buf[128];
    const ssize_t n = readlink(other.c_str(), buf, sizeof buf);
    const int err = errno;
    p.Call("other.readlink", n);
    p.Value("other.readlink_errno", n == -1 ? err : 0);
    p.Call("other.open", UniqueFd(open(other.c_str(), O_RDONLY | O_CLOEXEC)).get());
    p.Call("self.readlink", readlink("/proc/self/ns/net", buf, sizeof buf));
    return 0;
  });
  if (!prober.ok()) p.SetupFailed("fork of the prober");
  prober.Wait();
  release.Signal();
  target.Wait();
}

NSC_CASE({
    .id = "api.proc_ns_ptrace_check",
    .title = "Reading another process's /proc/PID/ns/* link needs PTRACE_MODE_READ_FSCREDS",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .references = {"ptrace(2), Ptrace access mode checking"},
    .observe = "a caller without capabilities cannot readlink() or open() /proc/<target>/ns/net "
               "of a non-dumpable target it has no ptrace access to, while readlink() of its own "
               "/proc/self/ns/net succeeds; the errno is not documented and is recorded "
               "(EACCES expected: record list item 23)",
    .control = "the target stays dumpable: same uid, no capabilities on either side, so the "
               "ptrace check passes and readlink()/open() succeed (contradicts other.readlink and "
               "other.open)",
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWNET, .min_kernel = {3, 8}},
    .expect = {ExpectCall("other.readlink", Fails()), ExpectCall("other.open", Fails()),
               ExpectCall("self.readlink", Succeeds()), Record("other.readlink_errno")},
    .body = ProcNsPtraceCheck,
});

}  // namespace
}  // namespace nsc::cases
