// nsfs: PID translation ioctls on a PID-namespace fd (Linux 6.11). NS_GET_PID_FROM_PIDNS /
// NS_GET_TGID_FROM_PIDNS translate a PID of the target namespace into the caller's namespace;
// NS_GET_PID_IN_PIDNS / NS_GET_TGID_IN_PIDNS translate a PID of the caller's namespace into
// the target namespace. The PID is passed as the ioctl argument; the result is the return value.
// Source: include/uapi/linux/nsfs.h and fs/nsfs.c, ns_ioctl(). Not in the man pages yet; these
// rules go beyond the catalogue.
//
// Numbers (checked by calling them on 6.18): _IOR(0xb7, 6|7|8|9, int), added by commit
// ca567df74a28 "nsfs: add pid translation ioctls" (vfs-6.11.nsfs).
//
// Both rules share one set-up: a child cloned into a new PID namespace (its init, PID 1 there)
// starts a second thread (TID 2 there), so that PIDs and thread-group ids differ.
#include <dirent.h>
#include <fcntl.h>

#include <cstring>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

constexpr unsigned long kNsGetPidFromPidns = _IOR(0xb7, 0x6, int);
constexpr unsigned long kNsGetTgidFromPidns = _IOR(0xb7, 0x7, int);
constexpr unsigned long kNsGetPidInPidns = _IOR(0xb7, 0x8, int);
constexpr unsigned long kNsGetTgidInPidns = _IOR(0xb7, 0x9, int);

// PID_MAX_LIMIT (4 * 1024 * 1024): PIDs are always below it, so no task has this PID.
constexpr long kNoSuchPid = 4 * 1024 * 1024;

long PidIoctl(int fd, unsigned long request, long pid) { return ioctl(fd, request, pid); }

// The first entry of /proc/<pid>/task other than <pid> itself: the TID of the other thread,
// as the caller's PID namespace numbers it. -1 if there is none.
int64_t OtherThreadOf(pid_t pid) {
  const PathBuf path = ProcPath(pid, "task");
  UniqueFd dir = OpenFile(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (!dir.valid()) return -1;
  char buf[1024];
  for (;;) {
    long n = syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
    if (n <= 0) return -1;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      int64_t tid = 0;
      const char* c = d->d_name;
      if (*c < '0' || *c > '9') continue;
      while (*c >= '0' && *c <= '9') tid = tid * 10 + (*c++ - '0');
      if (*c == '\0' && tid != pid) return tid;
    }
  }
}

// The shared set-up. The body's view: the init's PID, the thread's TID, and an open fd of
// the init's ns/pid; the init's view of the thread's TID. `new_pidns` = false (control)
// clones the child into the body's own PID namespace.
struct TranslationSetup {
  ChildProcess init;
  Barrier ready, done;
  int64_t inner_thread_tid = -1;
  int64_t outer_thread_tid = -1;
  UniqueFd pidns;
};

void StartTranslationSetup(const Probe& p, bool new_pidns, TranslationSetup& s) {
  if (!s.ready.ok() || !s.done.ok()) p.SetupFailed("pipe");
  s.init = Spawn(new_pidns ? CLONE_NEWPID : 0, [&] {
    s.ready.CloseReadEnd();
    s.done.CloseWriteEnd();
    const long tid = StartBlockedThread(CLONE_FS | CLONE_FILES | CLONE_SYSVSEM);
    if (tid == -1) p.SetupFailed("starting a second thread");
    s.ready.Send(tid);
    s.done.Wait();
    return 0;
  });
  s.ready.CloseWriteEnd();
  if (!s.init.ok()) SetupStepRefused(p, new_pidns ? "clone(CLONE_NEWPID)" : "fork", errno);
  if (!s.ready.Receive(&s.inner_thread_tid)) p.SetupFailed("the child did not start its thread");
  s.outer_thread_tid = OtherThreadOf(s.init.pid());
  if (s.outer_thread_tid == -1) p.SetupFailed("finding the thread in /proc/<child>/task");
  const PathBuf path = ProcPath(s.init.pid(), "ns/pid");
  s.pidns = OpenFile(path.c_str(), O_RDONLY);
  if (!s.pidns.valid()) p.SetupFailed("open /proc/<child>/ns/pid");
  p.Value("outer.init_pid", s.init.pid());
  p.Value("outer.thread_tid", s.outer_thread_tid);
  p.Value("inner.thread_tid", s.inner_thread_tid);
}

void FinishTranslationSetup(TranslationSetup& s) {
  s.done.Signal();
  s.init.Wait();
}

// Records an ioctl that returns a PID both as a call (`key`) and, for value comparisons, as
// "<key>.value" (-1 when it failed).
void RecordPidIoctl(const Probe& p, const char* key, int fd, unsigned long request, long pid) {
  const long ret = PidIoctl(fd, request, pid);
  const int err = errno;
  p.Call(key, ret);
  PathBuf value_key(key);
  p.Value(value_key.Add(".value").c_str(), ret);
  errno = err;
}

// Flow: 1. set-up (init of a new PID namespace with a second thread; control: no new PID
// namespace); 2. through the init's ns/pid fd, translate PID 1 and the thread's inner TID into
// the body's namespace with NS_GET_PID_FROM_PIDNS and NS_GET_TGID_FROM_PIDNS; 3. the same
// ioctl on a ns/uts fd, and for a PID that exists nowhere.
void PidFromPidnsTranslates(const Probe& p) {
  TranslationSetup s;
  StartTranslationSetup(p, !p.control(), s);
  const int fd = s.pidns.get();
  RecordPidIoctl(p, "from.pid_of_1", fd, kNsGetPidFromPidns, 1);
  RecordPidIoctl(p, "from.pid_of_thread", fd, kNsGetPidFromPidns, s.inner_thread_tid);
  RecordPidIoctl(p, "from.tgid_of_thread", fd, kNsGetTgidFromPidns, s.inner_thread_tid);
  UniqueFd uts = OpenFile("/proc/self/ns/uts", O_RDONLY);
  if (!uts.valid()) p.SetupFailed("open /proc/self/ns/uts");
  p.Call("from.on_uts_fd", PidIoctl(uts.get(), kNsGetPidFromPidns, 1));
  const long missing = PidIoctl(fd, kNsGetPidFromPidns, kNoSuchPid);
  const int missing_err = errno;
  p.Call("from.no_such_pid", missing);
  const char* name = missing == -1 ? strerrorname_np(missing_err) : "none";
  p.Text("from.no_such_pid.errno", name != nullptr ? name : "unknown");
  FinishTranslationSetup(s);
}

NSC_CASE({
    .id = "nsfs.pid_from_pidns_translates",
    .title = "NS_GET_PID_FROM_PIDNS / NS_GET_TGID_FROM_PIDNS translate a PID of the target PID namespace into the caller's",
    .source = {"include/uapi/linux/nsfs.h", "NS_GET_PID_FROM_PIDNS, NS_GET_TGID_FROM_PIDNS"},
    .references = {"fs/nsfs.c, ns_ioctl()", "Linux 6.11, commit ca567df74a28 'nsfs: add pid "
                   "translation ioctls'"},
    .observe = "for a child that is init (PID 1) of a new PID namespace and has a second thread: "
               "through its ns/pid fd, NS_GET_PID_FROM_PIDNS(1) is the child's PID in the caller's "
               "namespace, NS_GET_PID_FROM_PIDNS(thread's inner TID) is the thread's outer TID "
               "(from /proc/<child>/task) and NS_GET_TGID_FROM_PIDNS of it is the child's PID; on "
               "a ns/uts fd the ioctl fails with EINVAL. For a PID that exists nowhere it fails; "
               "the errno is recorded (ESRCH; ENOTTY on 6.12 up to the 2026 fix 'nsfs: return "
               "ESRCH')",
    .control = "the child is not in a new PID namespace: PID 1 translates to the caller's own "
               "init, not to the child (contradicts from.pid_of_1.value)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID | CLONE_NEWUTS,
              .min_kernel = {6, 11}},
    .expect = {ExpectCall("from.pid_of_1", Succeeds()),
               ExpectSameValue("from.pid_of_1.value", "outer.init_pid"),
               ExpectCall("from.pid_of_thread", Succeeds()),
               ExpectSameValue("from.pid_of_thread.value", "outer.thread_tid"),
               ExpectCall("from.tgid_of_thread", Succeeds()),
               ExpectSameValue("from.tgid_of_thread.value", "outer.init_pid"),
               ExpectCall("from.on_uts_fd", FailsWith(EINVAL)),
               ExpectCall("from.no_such_pid", Fails()), Record("from.no_such_pid.errno"),
               Record("inner.thread_tid")},
    .body = PidFromPidnsTranslates,
});

// Flow: 1. set-up as above (control: no new PID namespace); 2. through the init's ns/pid fd,
// translate the child's PID and the thread's outer TID into the child's namespace with
// NS_GET_PID_IN_PIDNS and NS_GET_TGID_IN_PIDNS; 3. translate the body's own PID, which is
// not visible there.
void PidInPidnsTranslates(const Probe& p) {
  TranslationSetup s;
  StartTranslationSetup(p, !p.control(), s);
  const int fd = s.pidns.get();
  RecordPidIoctl(p, "in.pid_of_init", fd, kNsGetPidInPidns, s.init.pid());
  RecordPidIoctl(p, "in.pid_of_thread", fd, kNsGetPidInPidns, s.outer_thread_tid);
  RecordPidIoctl(p, "in.tgid_of_thread", fd, kNsGetTgidInPidns, s.outer_thread_tid);
  p.Call("in.pid_of_outsider", PidIoctl(fd, kNsGetPidInPidns, RawGetpid()));
  FinishTranslationSetup(s);
}

NSC_CASE({
    .id = "nsfs.pid_in_pidns_translates",
    .title = "NS_GET_PID_IN_PIDNS / NS_GET_TGID_IN_PIDNS translate a PID of the caller's namespace into the target PID namespace",
    .source = {"include/uapi/linux/nsfs.h", "NS_GET_PID_IN_PIDNS, NS_GET_TGID_IN_PIDNS"},
    .references = {"fs/nsfs.c, ns_ioctl()", "Linux 6.11, commit ca567df74a28 'nsfs: add pid "
                   "translation ioctls'"},
    .observe = "for a child that is init of a new PID namespace and has a second thread: through "
               "its ns/pid fd, NS_GET_PID_IN_PIDNS(child's PID) is 1, NS_GET_PID_IN_PIDNS(thread's "
               "outer TID) is the TID the child saw from clone(), NS_GET_TGID_IN_PIDNS of it is 1; "
               "the caller's own PID, invisible in that namespace, fails with ESRCH",
    .control = "the child is not in a new PID namespace: its PID translates to itself, not 1, "
               "and the caller is visible (contradicts in.pid_of_init, in.pid_of_thread.value, "
               "in.tgid_of_thread and in.pid_of_outsider)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {6, 11}},
    .expect = {ExpectCall("in.pid_of_init", SucceedsWith(Eq(1))),
               ExpectCall("in.pid_of_thread", Succeeds()),
               ExpectSameValue("in.pid_of_thread.value", "inner.thread_tid"),
               ExpectCall("in.tgid_of_thread", SucceedsWith(Eq(1))),
               ExpectCall("in.pid_of_outsider", FailsWith(ESRCH)), Record("outer.thread_tid"),
               Record("outer.init_pid"), Record("in.pid_of_init.value"),
               Record("in.tgid_of_thread.value")},
    .body = PidInPidnsTranslates,
});

}  // namespace
}  // namespace nsc::cases
