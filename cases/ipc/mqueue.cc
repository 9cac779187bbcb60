// IPC namespaces: POSIX message queues — each IPC namespace has its own queue filesystem, and a
// mount of that filesystem outlives the namespace's last member.
// Source: ipc_namespaces(7), DESCRIPTION; mq_overview(7), 'IPC namespaces'; namespaces(7),
// 'Namespace lifetime'.
//
// Never touch the host: queues are created only in IPC namespaces the case created
// (RequireCaseIpcNs), mqueue and tmpfs are mounted only in private mount namespaces, and queue
// names carry the body's PID so that they are unique per run.
#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "ipc_util.h"
#include "nsconform/case.h"

namespace nsc::cases::ipc {
namespace {

using ::testing::Eq;
using ::testing::Ge;

bool SameName(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

// 1 if directory `dir` has an entry called `name`, 0 if not, -1 if it cannot be read.
int DirectoryLists(const char* dir, const char* name) {
  UniqueFd fd = OpenFile(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.valid()) return -1;
  char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, fd.get(), buf, sizeof buf);
    if (n < 0) return -1;
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      if (SameName(d->d_name, name)) return 1;
    }
  }
}

// Flow:
//  1. A is cloned with CLONE_NEWIPC and creates queue "nsc-mq-<pid>" (O_CREAT|O_EXCL).
//  2. A clones B with CLONE_NEWIPC; B opens the queue by name with O_RDONLY.
//     Control: B is cloned without CLONE_NEWIPC and shares A's namespace.
//  3. A unlinks the queue; its namespace dies with it anyway.
void PosixMqIsolated(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/ipc");
  const PathBuf name = QueueName("mq", RawGetpid());
  ChildProcess a = Spawn(CLONE_NEWIPC, [&] {
    RequireCaseIpcNs(p, start, "A");
    UniqueFd q(MqOpen(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC));
    p.Call("A.mq_open", q.get());
    ChildProcess b = Spawn(p.Flags(CLONE_NEWIPC, CLONE_NEWIPC), [&] {
      UniqueFd r(MqOpen(name.c_str(), O_RDONLY | O_CLOEXEC));
      p.Call("B.mq_open", r.get());
      return 0;
    });
    RecordCloneForSetup(p, "A.clone", b, "clone(CLONE_NEWIPC)");
    b.Wait();
    if (q.valid()) MqUnlink(name.c_str());
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", a, "clone(CLONE_NEWIPC)");
  a.Wait();
}

NSC_CASE({
    .id = "ipc.posix_mq_isolated",
    .title = "A POSIX message queue created in one IPC namespace does not exist in another",
    .source = {"ipc_namespaces(7)", "DESCRIPTION"},
    .references = {"mq_overview(7), IPC namespaces", "mq_open(3)"},
    .observe = "namespace A creates a queue with mq_open(O_CREAT|O_EXCL); in a second new "
               "namespace B, mq_open(name, O_RDONLY) fails with ENOENT",
    .control = "B is cloned without CLONE_NEWIPC and shares A's (case-created) namespace: it "
               "opens the queue (contradicts B.mq_open)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWIPC,
              .min_kernel = {2, 6, 30},
              .kconfig = {"CONFIG_POSIX_MQUEUE"}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("A.mq_open", SucceedsWith(Ge(0)))),
                      Given(ExpectCall("A.clone", Succeeds()))},
    .expect = {ExpectCall("B.mq_open", FailsWith(ENOENT))},
    .body = PosixMqIsolated,
});

constexpr char kQueueDir[] = "/tmp/mq";
// The rule waits this long for a destruction that must not come; the control, where it must,
// waits up to kDestroyWaitMs (the teardown is an asynchronous kernel work item).
constexpr int kPinnedWaitMs = 1000;
constexpr int kDestroyWaitMs = 10000;

// 1 if IN_IGNORED arrives for watch `wd` on inotify instance `ifd` within `timeout_ms` of
// silence (the watched inode was destroyed), else 0.
int64_t AwaitInodeDestroyed(int ifd, int wd, int timeout_ms) {
  for (;;) {
    struct pollfd pfd{ifd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return 0;
    alignas(struct inotify_event) char buf[4096];
    ssize_t n = read(ifd, buf, sizeof buf);
    if (n <= 0) return 0;
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof *ev + ev->len);
      if (ev->wd == wd && (ev->mask & IN_IGNORED) != 0) return 1;
    }
  }
}

// Flow:
//  1. Holder H is cloned with CLONE_NEWIPC, enters a private mount namespace, mounts a scratch
//     tmpfs on /tmp with an empty directory Q = /tmp/mq, and creates an inotify instance.
//  2. H clones C with CLONE_NEWIPC (C shares H's mount namespace, not its IPC namespace).
//     C mounts its namespace's mqueue filesystem on Q, creates a queue and puts an inotify watch
//     on it; then it exits, so the namespace has no member left and only the mount refers to it.
//     Control: C detaches the mount before it exits: nothing pins the namespace any more.
//  3. H waits (bounded) for the watch to report the queue's destruction: none while the mount
//     pins the namespace (the verdict).
//  4. H lists Q and opens the queue through it; it also records whether a new queue can still
//     be created through the mount (not documented: recorded).
void MqueueMountPinsNs(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/ipc");
  const PathBuf name = QueueName("pin", RawGetpid());
  ChildProcess h = Spawn(CLONE_NEWIPC, [&] {
    RequireCaseIpcNs(p, start, "H");
    NSC_SETUP(p, EnterPrivateMountNamespace(), "private mount namespace for H");
    NSC_SETUP(p, mount("nsc-scratch", "/tmp", "tmpfs", 0, "mode=0755,size=1m"),
              "mounting a scratch tmpfs on /tmp in H's mount namespace");
    NSC_SETUP(p, mkdir(kQueueDir, 0755), "mkdir /tmp/mq on the scratch tmpfs");
    UniqueFd ifd(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!ifd.valid()) p.SetupFailed("inotify_init1");
    Barrier ready;
    if (!ready.ok()) p.SetupFailed("pipe for the barrier");
    PathBuf path(kQueueDir);
    path.Add("/").Add(name.c_str());
    ChildProcess c = Spawn(CLONE_NEWIPC, [&] {
      ready.CloseReadEnd();
      RequireCaseIpcNs(p, start, "C");
      p.Call("creator.mount_mqueue", mount("nsc-mqueue", kQueueDir, "mqueue", 0, nullptr));
      UniqueFd q(MqOpen(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC));
      p.Call("creator.mq_open", q.get());
      const int wd = inotify_add_watch(ifd.get(), path.c_str(), IN_DELETE_SELF);
      p.Call("creator.watch", wd);
      if (p.control()) NSC_SETUP(p, umount2(kQueueDir, MNT_DETACH), "control: detaching Q");
      ready.Send(wd);
      return 0;
    });
    RecordCloneForSetup(p, "holder.clone", c, "clone(CLONE_NEWIPC)");
    ready.CloseWriteEnd();
    int64_t wd = -1;
    if (!ready.Receive(&wd)) p.SetupFailed("C exited before setting up its queue");
    c.Wait();
    p.Value("queue.destroyed", AwaitInodeDestroyed(ifd.get(), static_cast<int>(wd),
                                                   p.Pick(kPinnedWaitMs, kDestroyWaitMs)));
    p.Value("holder.lists_queue", DirectoryLists(kQueueDir, name.c_str()));
    UniqueFd info = OpenFile(path.c_str(), O_RDONLY);
    p.Call("holder.open_queue_file", info.get());
    PathBuf extra(kQueueDir);
    extra.Add("/").Add(name.c_str()).Add("-after");
    UniqueFd created = OpenFile(extra.c_str(), O_RDWR | O_CREAT | O_EXCL);
    p.Call("holder.create_through_mount", created.get());
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", h, "clone(CLONE_NEWIPC)");
  h.Wait();
}

NSC_CASE({
    .id = "ipc.mqueue_mount_pins_ns",
    .title = "An mqueue mount keeps the queues of its IPC namespace after the last member exits",
    .source = {"namespaces(7)", "Namespace lifetime"},
    .references = {"mq_overview(7), Mounting the message queue filesystem",
                   "ipc_namespaces(7)", "inotify(7), IN_IGNORED"},
    .observe = "in a new IPC namespace, a process mounts the mqueue filesystem on Q (in a mount "
               "namespace it shares with a holder in another IPC namespace), creates a queue and "
               "watches it with inotify, then exits: the queue is not destroyed (no IN_IGNORED "
               "within a bound) and the holder still lists and opens it in Q. Whether a new "
               "queue can still be created through Q is recorded",
    .control = "the creator detaches the mount before it exits, so nothing pins the namespace: "
               "the kernel destroys the queue (IN_IGNORED, awaited; contradicts queue.destroyed), "
               "and Q no longer shows it",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWIPC | CLONE_NEWNS,
              .min_kernel = {2, 6, 30},
              .kconfig = {"CONFIG_POSIX_MQUEUE"}},
    .timeout_s = 25,
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("holder.clone", Succeeds())),
                      Given(ExpectCall("creator.mount_mqueue", Succeeds())),
                      Given(ExpectCall("creator.mq_open", SucceedsWith(Ge(0)))),
                      Given(ExpectCall("creator.watch", SucceedsWith(Ge(0))))},
    .expect = {Expect("queue.destroyed", Eq(0)), Expect("holder.lists_queue", Eq(1)),
               ExpectCall("holder.open_queue_file", SucceedsWith(Ge(0))),
               Record("holder.create_through_mount")},
    .body = MqueueMountPinsNs,
});

}  // namespace
}  // namespace nsc::cases::ipc
