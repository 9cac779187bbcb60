// IPC namespaces: the objects of an IPC namespace live exactly as long as the namespace.
// Source: ipc_namespaces(7), DESCRIPTION. Record list item 34: once the namespace is gone it
// cannot be entered, so lookups from a fresh namespace are only indirect evidence (recorded).
// The verdict rests on a direct observation instead: an inotify watch on the namespace's POSIX
// queue, whose inode the kernel destroys (IN_IGNORED) when the namespace and its queue
// filesystem are torn down.
//
// Never touch the host: the objects are created in an IPC namespace the case created
// (RequireCaseIpcNs), and mqueue/tmpfs are mounted only in a private mount namespace.
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/stat.h>

#include "ipc_util.h"
#include "nsconform/case.h"

namespace nsc::cases::ipc {
namespace {

using ::testing::Eq;
using ::testing::Ge;

constexpr char kQueueDir[] = "/tmp/mq";
// Upper bound for the asynchronous namespace teardown (a kernel work item); in the control,
// where nothing is being torn down, the bound within which no destruction must be seen.
constexpr int kTeardownWaitMs = 10000;
constexpr int kControlWaitMs = 1000;

// Reads inotify events until IN_IGNORED for watch `wd` or `timeout_ms` without an event; returns the OR of the
// masks seen for that watch (0 if none arrived in time).
int64_t AwaitWatchRemoved(int ifd, int wd, int timeout_ms) {
  int64_t seen = 0;
  for (;;) {
    struct pollfd pfd{ifd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return seen;
    alignas(struct inotify_event) char buf[4096];
    ssize_t n = read(ifd, buf, sizeof buf);
    if (n <= 0) return seen;
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof *ev + ev->len);
      if (ev->wd == wd) seen |= ev->mask;
    }
    if ((seen & IN_IGNORED) != 0) return seen;
  }
}

// Flow:
//  1. The body creates an inotify instance (shared with its children).
//  2. Member M is cloned with CLONE_NEWIPC. It creates SysV message queue K and POSIX queue Q,
//     mounts its mqueue filesystem in a private mount namespace, puts an inotify watch on Q
//     through that mount and unmounts it again (so only the namespace refers to the filesystem).
//  3. The body opens /proc/M/ns/ipc (the pin); M exits: the namespace has no member left.
//  4. R joins the pinned namespace with setns(): K and Q still exist (preconditions: there is
//     something to destroy).
//  5. The body drops the pin, the namespace's last reference, and waits (bounded) for the watch
//     on Q to be removed: the kernel destroyed Q with the namespace (the verdict).
//     Control: the body keeps the pin: the namespace is not destroyed and neither is Q.
//  6. F is cloned with CLONE_NEWIPC (a fresh namespace) and looks K and Q up: not found
//     (indirect evidence, recorded: item 34).
void ObjectsDestroyedWithNs(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/ipc");
  const PathBuf name = QueueName("life", RawGetpid());
  UniqueFd ifd(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!ifd.valid()) p.SetupFailed("inotify_init1");
  Barrier ready, go;
  if (!ready.ok() || !go.ok()) p.SetupFailed("pipes for the barriers");
  ChildProcess m = Spawn(CLONE_NEWIPC, [&] {
    ready.CloseReadEnd();
    go.CloseWriteEnd();
    RequireCaseIpcNs(p, start, "M");
    p.Call("member.msgget", msgget(kKey, IPC_CREAT | IPC_EXCL | 0600));
    UniqueFd q(MqOpen(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC));
    p.Call("member.mq_open", q.get());
    q.Reset();
    NSC_SETUP(p, EnterPrivateMountNamespace(), "private mount namespace for M");
    NSC_SETUP(p, mount("nsc-scratch", "/tmp", "tmpfs", 0, "mode=0755,size=1m"),
              "mounting a scratch tmpfs on /tmp in M's mount namespace");
    NSC_SETUP(p, mkdir(kQueueDir, 0755), "mkdir /tmp/mq on the scratch tmpfs");
    NSC_SETUP(p, mount("nsc-mqueue", kQueueDir, "mqueue", 0, nullptr), "mounting mqueue on /tmp/mq");
    PathBuf path(kQueueDir);
    path.Add("/").Add(name.c_str());
    const int wd = inotify_add_watch(ifd.get(), path.c_str(), IN_DELETE_SELF);
    if (wd < 0) p.SetupFailed("inotify_add_watch on the queue");
    NSC_SETUP(p, umount2(kQueueDir, MNT_DETACH), "unmounting /tmp/mq");
    ready.Send(wd);
    go.Wait();
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", m, "clone(CLONE_NEWIPC)");
  if (!m.ok()) return;
  ready.CloseWriteEnd();
  go.CloseReadEnd();
  int64_t wd = -1;
  if (!ready.Receive(&wd)) p.SetupFailed("M exited before setting up its objects");
  const PathBuf ns_path = ProcPath(m.pid(), "ns/ipc");
  UniqueFd pin = OpenFile(ns_path.c_str(), O_RDONLY);
  if (!pin.valid()) p.SetupFailed("open /proc/M/ns/ipc");
  go.Signal();
  m.Wait();

  ChildProcess r = Spawn(0, [&] {
    p.Call("pinned.setns", setns(pin.get(), CLONE_NEWIPC));
    p.Call("pinned.msgget", msgget(kKey, 0));
    UniqueFd q(MqOpen(name.c_str(), O_RDONLY | O_CLOEXEC));
    p.Call("pinned.mq_open", q.get());
    return 0;
  });
  r.Wait();

  if (!p.control()) pin.Reset();  // the last reference: the namespace and everything in it go
  const int64_t mask =
      AwaitWatchRemoved(ifd.get(), static_cast<int>(wd), p.Pick(kTeardownWaitMs, kControlWaitMs));
  p.Value("teardown.queue_destroyed", (mask & IN_IGNORED) != 0 ? 1 : 0);
  p.Value("teardown.queue_fs_unmounted", (mask & IN_UNMOUNT) != 0 ? 1 : 0);
  pin.Reset();

  ChildProcess f = Spawn(CLONE_NEWIPC, [&] {
    RequireCaseIpcNs(p, start, "F");
    p.Call("fresh.msgget", msgget(kKey, 0));
    UniqueFd q(MqOpen(name.c_str(), O_RDONLY | O_CLOEXEC));
    p.Call("fresh.mq_open", q.get());
    return 0;
  });
  p.Call("body.clone_fresh", f.pid());
  f.Wait();
}

NSC_CASE({
    .id = "ipc.objects_destroyed_with_ns",
    .title = "When an IPC namespace is destroyed, every IPC object in it is destroyed too",
    .source = {"ipc_namespaces(7)", "DESCRIPTION"},
    .references = {"namespaces(7), Namespace lifetime", "inotify(7), IN_IGNORED"},
    .observe = "a SysV queue K and a POSIX queue Q are created in a new namespace whose only "
               "member then exits; while an fd pins the namespace, a process joining it finds K "
               "and Q. Once the pin, its last reference, is dropped, an inotify watch on Q sees "
               "IN_IGNORED: the kernel destroyed the queue with the namespace (awaited, bounded). "
               "Recorded (item 34): IN_UNMOUNT of the queue filesystem, and that a fresh namespace "
               "finds neither K nor Q",
    .control = "the pin is kept, so the namespace is not destroyed: the watch on Q stays "
               "(contradicts teardown.queue_destroyed)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWIPC | CLONE_NEWNS,
              .min_kernel = {2, 6, 19},
              .kconfig = {"CONFIG_POSIX_MQUEUE"}},
    .timeout_s = 25,
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("member.msgget", SucceedsWith(Ge(0)))),
                      Given(ExpectCall("member.mq_open", SucceedsWith(Ge(0)))),
                      Given(ExpectCall("pinned.setns", Succeeds())),
                      Given(ExpectCall("pinned.msgget", SucceedsWith(Ge(0)))),
                      Given(ExpectCall("pinned.mq_open", SucceedsWith(Ge(0))))},
    .expect = {Expect("teardown.queue_destroyed", Eq(1)), Record("teardown.queue_fs_unmounted"),
               Record("body.clone_fresh"), Record("fresh.msgget"), Record("fresh.mq_open")},
    .body = ObjectsDestroyedWithNs,
});

}  // namespace
}  // namespace nsc::cases::ipc
