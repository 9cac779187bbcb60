// Namespace API: namespace lifetime — what keeps a namespace without members alive (an nsfs fd,
// a bind mount of its /proc/PID/ns link, a child user namespace) and its teardown once nothing
// does. Source: namespaces(7), 'The /proc/pid/ns/ directory' and 'Namespace lifetime'.
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/stat.h>

#include <cstring>

#include "api_util.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::StrEq;

// A child alone in a new UTS namespace (the control: in the body's own) whose hostname it sets
// to `name`; it signals `ready` and exits once `release` is signalled. sethostname is guarded
// at run time: it is called only if the child's UTS namespace is positively not the body's.
ChildProcess SpawnNamedUtsMember(const Probe& p, const NsFileId& body_uts, const char* name,
                                 Barrier& ready, Barrier& release) {
  ChildProcess member = Spawn(p.Flags(CLONE_NEWUTS, CLONE_NEWUTS), [&] {
    ready.CloseReadEnd();
    release.CloseWriteEnd();
    if (InOtherNamespace("/proc/self/ns/uts", body_uts) &&
        sethostname(name, std::strlen(name)) == -1) {
      p.SetupFailed("sethostname in the new UTS namespace");
    }
    ready.Signal();
    release.Wait();
    return 0;
  });
  ready.CloseWriteEnd();
  release.CloseReadEnd();
  if (!member.ok()) SetupStepRefused(p, "clone of the UTS namespace member", errno);
  if (!ready.Wait()) p.SetupFailed("the UTS namespace member died before it was ready");
  return member;
}

// A fresh child: setns(fd, CLONE_NEWUTS), then gethostname(); keys "<prefix>.setns"/".hostname".
void JoinAndReadHostname(const Probe& p, int fd, const char* setns_key, const char* hostname_key) {
  ChildProcess joiner = Spawn(0, [&] {
    p.Call(setns_key, setns(fd, CLONE_NEWUTS));
    char name[128] = {};
    if (gethostname(name, sizeof name - 1) == -1) p.SetupFailed("gethostname");
    p.Text(hostname_key, name);
    return 0;
  });
  if (!joiner.ok()) p.SetupFailed("fork of the joiner");
  joiner.Wait();
}

// Flow: 1. enter a private mount namespace, mount a scratch tmpfs on /tmp and create the file
// /tmp/uts-pin; 2. member M1 unshares UTS and sets hostname "pinned-fd"; the body opens
// /proc/M1/ns/uts, then M1 exits and is reaped; 3. member M2 unshares UTS and sets hostname
// "pinned-mount"; the body bind-mounts /proc/M2/ns/uts onto /tmp/uts-pin, then M2 exits and is
// reaped; 4. a fresh child setns()es through the fd and reads the hostname; another opens the
// bind mount, setns()es and reads the hostname.
void FdOrBindMountPinsNs(const Probe& p) {
  const NsFileId body_uts = NsFileIdOf("/proc/self/ns/uts");
  if (!body_uts.known) p.SetupFailed("stat /proc/self/ns/uts");
  SetupStep(p, EnterPrivateMountNamespace(), "private mount namespace");
  NSC_SETUP(p, mount("nsconform", "/tmp", "tmpfs", 0, "size=64k"), "scratch tmpfs on /tmp");
  NSC_SETUP(p, UniqueFd(open("/tmp/uts-pin", O_CREAT | O_WRONLY | O_CLOEXEC, 0600)).get(),
            "creating the bind-mount target file");

  UniqueFd pin_fd;
  {
    Barrier ready, release;
    if (!ready.ok() || !release.ok()) p.SetupFailed("pipe2");
    ChildProcess member = SpawnNamedUtsMember(p, body_uts, "pinned-fd", ready, release);
    p.NsId("fd.member_uts", ProcPath(member.pid(), "ns/uts").c_str());
    pin_fd = OpenNs(member.pid(), "uts");
    if (!pin_fd.valid()) p.SetupFailed("open /proc/M1/ns/uts");
    release.Signal();
    p.Value("fd.member_exited", ExitedWith(member.Wait(), 0) ? 1 : 0);
  }
  {
    Barrier ready, release;
    if (!ready.ok() || !release.ok()) p.SetupFailed("pipe2");
    ChildProcess member = SpawnNamedUtsMember(p, body_uts, "pinned-mount", ready, release);
    const PathBuf link = ProcPath(member.pid(), "ns/uts");
    p.NsId("mount.member_uts", link.c_str());
    NSC_SETUP(p, mount(link.c_str(), "/tmp/uts-pin", nullptr, MS_BIND, nullptr),
              "bind mount of /proc/M2/ns/uts");
    release.Signal();
    p.Value("mount.member_exited", ExitedWith(member.Wait(), 0) ? 1 : 0);
  }

  p.NsIdOfFd("fd.pinned", pin_fd.get());
  JoinAndReadHostname(p, pin_fd.get(), "fd.setns", "fd.hostname");
  pin_fd.Reset();
  UniqueFd mounted = OpenFile("/tmp/uts-pin", O_RDONLY);
  if (!mounted.valid()) p.SetupFailed("open of the bind mount");
  p.NsIdOfFd("mount.pinned", mounted.get());
  JoinAndReadHostname(p, mounted.get(), "mount.setns", "mount.hostname");
}

NSC_CASE({
    .id = "api.fd_or_bind_mount_pins_ns",
    .title =
        "An open ns fd or a bind mount of a ns link keeps a memberless namespace alive for setns()",
    .source = {"namespaces(7)", "The /proc/pid/ns/ directory"},
    .references = {"namespaces(7), Namespace lifetime", "setns(2)"},
    .observe =
        "a child unshares UTS, sets hostname \"pinned-fd\" and exits after the parent opened "
        "its uts link; a fresh child's setns(fd, CLONE_NEWUTS) succeeds and gethostname() "
        "gives \"pinned-fd\". Same with \"pinned-mount\" and a bind mount of the link onto "
        "a file of a scratch tmpfs, in a private mount namespace",
    .control = "the members do not unshare UTS (and set no hostname): the pinned namespace is the "
               "body's own, whose hostname is not \"pinned-*\" (contradicts fd.hostname and "
               "mount.hostname)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWUTS | CLONE_NEWNS,
              .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("fd.member_exited", Eq(1))),
                      Given(Expect("mount.member_exited", Eq(1)))},
    .expect = {ExpectSameNs("fd.pinned", "fd.member_uts"),
               ExpectCall("fd.setns", Succeeds()), ExpectText("fd.hostname", StrEq("pinned-fd")),
               ExpectSameNs("mount.pinned", "mount.member_uts"),
               ExpectCall("mount.setns", Succeeds()),
               ExpectText("mount.hostname", StrEq("pinned-mount"))},
    .body = FdOrBindMountPinsNs,
});

// Flow: 1. a creator child enters a new user namespace P (mapped) and waits; the body records
// P's identity without opening it; 2. the creator enters a nested user namespace C (the
// control: stays in P); the body opens /proc/<creator>/ns/user, so it holds an fd on C only;
// 3. the creator exits and is reaped; 4. NS_GET_PARENT on the fd; 5. a fresh child setns()es
// into the returned namespace and records its user namespace.
void NsLifetimePinnedByRelations(const Probe& p) {
  Barrier at_parent, go_on, at_child, release;
  if (!at_parent.ok() || !go_on.ok() || !at_child.ok() || !release.ok()) p.SetupFailed("pipe2");
  ChildProcess creator = Spawn(0, [&] {
    at_parent.CloseReadEnd();
    at_child.CloseReadEnd();
    go_on.CloseWriteEnd();
    release.CloseWriteEnd();
    SetupStep(p, EnterUserNamespace(), "entering user namespace P");
    at_parent.Signal();
    if (!go_on.Wait()) return 1;
    if (!p.control()) SetupStep(p, EnterUserNamespace(), "entering user namespace C");
    at_child.Signal();
    release.Wait();
    return 0;
  });
  at_parent.CloseWriteEnd();
  at_child.CloseWriteEnd();
  go_on.CloseReadEnd();
  release.CloseReadEnd();
  if (!creator.ok()) p.SetupFailed("fork of the creator");
  if (!at_parent.Wait()) p.SetupFailed("the creator died before entering P");
  p.NsId("parent.original", ProcPath(creator.pid(), "ns/user").c_str());
  go_on.Signal();
  if (!at_child.Wait()) p.SetupFailed("the creator died before entering C");
  UniqueFd child_ns = OpenNs(creator.pid(), "user");
  if (!child_ns.valid()) p.SetupFailed("open /proc/<creator>/ns/user");
  p.NsIdOfFd("child.pinned", child_ns.get());
  release.Signal();
  p.Value("creator.exited", ExitedWith(creator.Wait(), 0) ? 1 : 0);

  const int parent_fd = ioctl(child_ns.get(), NS_GET_PARENT);
  p.Call("get_parent", parent_fd);
  UniqueFd parent_ns(parent_fd);
  p.NsIdOfFd("parent.via_ioctl", parent_ns.get());
  ChildProcess joiner = Spawn(0, [&] {
    p.Call("setns_parent", setns(parent_ns.get(), CLONE_NEWUSER));
    p.NsId("joiner.user", "/proc/self/ns/user");
    return 0;
  });
  if (!joiner.ok()) p.SetupFailed("fork of the joiner");
  joiner.Wait();
}

NSC_CASE({
    .id = "api.ns_lifetime_pinned_by_relations",
    .title = "A memberless user namespace with a child namespace stays alive",
    .source = {"namespaces(7)", "Namespace lifetime"},
    .references = {"ioctl_nsfs(2), NS_GET_PARENT"},
    .observe = "with only an fd on a child user namespace C held (its creator exited), "
               "NS_GET_PARENT on it returns the parent P with P's original (dev, ino), and "
               "setns() into P from a process with CAP_SYS_ADMIN over it succeeds",
    .control = "the creator does not create C: the fd is on P itself, whose parent is the body's "
               "user namespace, not P (contradicts parent.via_ioctl, setns_parent: EINVAL for the "
               "caller's own user namespace, and joiner.user)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUSER, .min_kernel = {4, 9}},
    .preconditions = {Given(Expect("creator.exited", Eq(1)))},
    .expect = {ExpectCall("get_parent", Succeeds()),
               ExpectSameNs("parent.via_ioctl", "parent.original"),
               ExpectCall("setns_parent", Succeeds()),
               ExpectSameNs("joiner.user", "parent.original"), Record("child.pinned")},
    .body = NsLifetimePinnedByRelations,
});

constexpr key_t kQueueKey = 0x6e736331;

// 1 if `name` under the directory `dirfd` is on another filesystem than the directory itself
// (a mount point is crossed), 0 if not, -1 on error.
int64_t CrossesMount(int dirfd, const char* name) {
  struct stat dir, entry;
  if (fstat(dirfd, &dir) == -1 || fstatat(dirfd, name, &entry, AT_SYMLINK_NOFOLLOW) == -1) {
    return -1;
  }
  return dir.st_dev != entry.st_dev ? 1 : 0;
}

// Flow: 1. a member child in a new IPC namespace enters a private mount namespace, mounts a
// tmpfs on /tmp and a second tmpfs on /tmp/sub, creates a SysV queue with key K, and waits;
// 2. the body opens /proc/<member>/root/tmp (O_PATH): an fd on the first tmpfs, which pins that
// mount but not the namespace; it records that "sub" crosses a mount; the control also opens
// /proc/<member>/ns/mnt, which pins the namespace; 3. the member exits and is reaped; 4. the
// body looks at "sub" again: once the mount namespace is torn down its mounts are unmounted,
// so "sub" is a plain directory of the first tmpfs; 5. a child in another new IPC namespace
// looks for K (weak evidence, recorded only: record list item 34).
void NsTeardownWhenLastMemberLeaves(const Probe& p) {
  Barrier ready, release;
  if (!ready.ok() || !release.ok()) p.SetupFailed("pipe2");
  ChildProcess member = Spawn(CLONE_NEWIPC, [&] {
    ready.CloseReadEnd();
    release.CloseWriteEnd();
    SetupStep(p, EnterPrivateMountNamespace(), "private mount namespace");
    if (mount("nsconform", "/tmp", "tmpfs", 0, "size=64k") == -1) p.SetupFailed("tmpfs on /tmp");
    if (mkdir("/tmp/sub", 0700) == -1) p.SetupFailed("mkdir /tmp/sub");
    if (mount("nsconform", "/tmp/sub", "tmpfs", 0, "size=64k") == -1) {
      p.SetupFailed("tmpfs on /tmp/sub");
    }
    p.Call("member.msgget", msgget(kQueueKey, IPC_CREAT | IPC_EXCL | 0600));
    ready.Signal();
    release.Wait();
    return 0;
  });
  ready.CloseWriteEnd();
  release.CloseReadEnd();
  if (!member.ok()) SetupStepRefused(p, "clone of the member", errno);
  if (!ready.Wait()) p.SetupFailed("the member died before it was ready");
  const PathBuf tmp = ProcPath(member.pid(), "root/tmp");
  UniqueFd upper = OpenFile(tmp.c_str(), O_PATH | O_DIRECTORY);
  if (!upper.valid()) p.SetupFailed("open /proc/<member>/root/tmp");
  p.Value("before.sub_crosses_mount", CrossesMount(upper.get(), "sub"));
  UniqueFd pin;
  if (p.control()) pin = OpenNs(member.pid(), "mnt");
  release.Signal();
  p.Value("member.exited", ExitedWith(member.Wait(), 0) ? 1 : 0);
  p.Value("after.sub_crosses_mount", CrossesMount(upper.get(), "sub"));

  ChildProcess later = Spawn(CLONE_NEWIPC, [&] {
    p.Call("later_ipc.msgget", msgget(kQueueKey, 0));
    return 0;
  });
  if (!later.ok()) SetupStepRefused(p, "clone of the later IPC namespace", errno);
  later.Wait();
}

NSC_CASE({
    .id = "api.ns_teardown_when_last_member_leaves",
    .title = "A namespace nothing pins is torn down when its last member exits",
    .source = {"namespaces(7)", "Namespace lifetime"},
    .references = {"mount_namespaces(7)", "sysvipc(7)"},
    .observe = "a member's private mount namespace holds a tmpfs with a second tmpfs on its "
               "sub/; an O_PATH fd on the first tmpfs (which pins the mount, not the namespace) "
               "sees sub/ as a mount point while the member lives and as a plain directory after "
               "it exited: the namespace was torn down and its mounts unmounted. Recorded only "
               "(record list item 34): a SysV queue made in the member's new IPC namespace is not "
               "found from a later new IPC namespace",
    .control = "the body also holds an fd on the member's /proc/PID/ns/mnt, which pins the mount "
               "namespace: sub/ stays a mount point after the member exits (contradicts "
               "after.sub_crosses_mount)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWNS | CLONE_NEWIPC,
              .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("member.msgget", Succeeds())),
                      Given(Expect("before.sub_crosses_mount", Eq(1))),
                      Given(Expect("member.exited", Eq(1)))},
    .expect = {Expect("after.sub_crosses_mount", Eq(0)),
               Record("later_ipc.msgget")},
    .body = NsTeardownWhenLastMemberLeaves,
});

}  // namespace
}  // namespace nsc::cases
