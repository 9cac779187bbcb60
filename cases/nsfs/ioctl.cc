// nsfs ioctls: the four classic operations on /proc/PID/ns/* file descriptors —
// NS_GET_USERNS, NS_GET_PARENT, NS_GET_NSTYPE, NS_GET_OWNER_UID — and their errors.
// Source: ioctl_nsfs(2) (man-pages 6.14 split it into NS_GET_USERNS(2const),
// NS_GET_NSTYPE(2const) and NS_GET_OWNER_UID(2const); before 2021 it was ioctl_ns(2)).
#include <fcntl.h>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

// ioctl(2) returning long, so that p.Call() can take it directly.
long NsIoctl(int fd, unsigned long request) { return ioctl(fd, request); }

// A child parked in a new user namespace (plus `extra_flags` namespaces it owns), so that its
// parent can open /proc/<child>/ns/* (namespaces whose parent or owner is in the caller's
// scope). `enter` = false (control) keeps the child in the caller's namespaces.
ChildProcess SpawnUsernsChild(const Probe& p, bool enter, unsigned long extra_flags,
                              Barrier& ready, Barrier& done) {
  ChildProcess child = Spawn(0, [&] {
    ready.CloseReadEnd();
    done.CloseWriteEnd();
    if (enter) SetupStep(p, EnterUserNamespace(extra_flags), "unshare(CLONE_NEWUSER)");
    ready.Signal();
    done.Wait();
    return 0;
  });
  ready.CloseWriteEnd();
  return child;
}

// Flow: 1. a child C enters a new user namespace U together with a new UTS namespace (owned
// by U) and parks; 2. the body — whose own user namespace is U's parent, not U — opens
// /proc/C/ns/uts and applies NS_GET_USERNS (control, the one factor removed: it applies it to
// /proc/C/ns/user instead, whose owner is the body's own user namespace); 3. the body records
// the identities of the returned fd, of /proc/C/ns/user and of its own ns/user. The owner
// differs from the caller's own user namespace, so an ioctl that answered "the caller's user
// namespace" would be caught.
void GetUsernsReturnsOwner(const Probe& p) {
  Barrier ready, done;
  if (!ready.ok() || !done.ok()) p.SetupFailed("pipe");
  ChildProcess child = SpawnUsernsChild(p, true, CLONE_NEWUTS, ready, done);
  NSC_SETUP(p, child.pid(), "fork");
  if (!ready.Wait()) p.SetupFailed("the child did not enter its user namespace");
  const PathBuf queried = ProcPath(child.pid(), p.Pick<const char*>("ns/uts", "ns/user"));
  const PathBuf child_user = ProcPath(child.pid(), "ns/user");
  UniqueFd fd = OpenFile(queried.c_str(), O_RDONLY);
  if (!fd.valid()) p.SetupFailed("open of the child's namespace file");
  UniqueFd owner(static_cast<int>(NsIoctl(fd.get(), NS_GET_USERNS)));
  p.Call("get_userns", owner.get());
  if (!owner.valid()) p.SetupFailed("NS_GET_USERNS returned no fd to identify");
  p.NsIdOfFd("owner", owner.get());
  p.NsId("child.user", child_user.c_str());
  p.NsId("self.user", "/proc/self/ns/user");
  done.Signal();
  child.Wait();
}

NSC_CASE({
    .id = "nsfs.get_userns_returns_owner",
    .title = "NS_GET_USERNS returns an fd for the user namespace that owns the namespace",
    .source = {"NS_GET_USERNS(2const)", "DESCRIPTION"},
    .references = {"ioctl_nsfs(2), NS_GET_USERNS"},
    .observe = "a child unshares CLONE_NEWUSER|CLONE_NEWUTS; from the parent (outside that user "
               "namespace), ioctl(child's uts fd, NS_GET_USERNS) returns an fd whose (st_dev, "
               "st_ino) is the child's user namespace, not the caller's own",
    .control = "the ioctl is applied to the child's ns/user instead, whose owner is the caller's "
               "own user namespace: the fd names the caller's user namespace, not the child's "
               "(contradicts owner)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {4, 9}},
    // The owner the rule expects must be distinguishable from the caller's own user namespace.
    .preconditions = {Given(ExpectDifferentNs("child.user", "self.user"))},
    .expect = {ExpectCall("get_userns", Succeeds()), ExpectSameNs("owner", "child.user")},
    .body = GetUsernsReturnsOwner,
});

// Records whether `fd` is close-on-exec and its access mode, as "<prefix>.cloexec" (0/1) and
// "<prefix>.accmode".
void RecordFdFlags(const Probe& p, const char* prefix, int fd) {
  PathBuf cloexec(prefix), accmode(prefix);
  const int fd_flags = fcntl(fd, F_GETFD);
  const int fl_flags = fcntl(fd, F_GETFL);
  p.Value(cloexec.Add(".cloexec").c_str(), fd_flags == -1 ? -1 : (fd_flags & FD_CLOEXEC) != 0);
  p.Value(accmode.Add(".accmode").c_str(), fl_flags == -1 ? -1 : (fl_flags & O_ACCMODE));
}

// Flow: 1. a child enters a new user namespace and a new UTS namespace; 2. NS_GET_USERNS is
// applied to /proc/<child>/ns/uts and NS_GET_PARENT to /proc/<child>/ns/user (both results
// are in the caller's scope); 3. both returned fds are checked with
// fcntl(F_GETFD) and fcntl(F_GETFL). No control: see no_control_because.
void ReturnedFdFlags(const Probe& p) {
  Barrier ready, done;
  if (!ready.ok() || !done.ok()) p.SetupFailed("pipe");
  ChildProcess child = SpawnUsernsChild(p, true, CLONE_NEWUTS, ready, done);
  NSC_SETUP(p, child.pid(), "fork");
  if (!ready.Wait()) p.SetupFailed("the child did not enter its user namespace");

  const PathBuf child_uts = ProcPath(child.pid(), "ns/uts");
  const PathBuf child_user = ProcPath(child.pid(), "ns/user");
  UniqueFd uts = OpenFile(child_uts.c_str(), O_RDONLY);
  UniqueFd user = OpenFile(child_user.c_str(), O_RDONLY);
  if (!uts.valid() || !user.valid()) p.SetupFailed("open of the namespace files");

  UniqueFd owner(static_cast<int>(NsIoctl(uts.get(), NS_GET_USERNS)));
  p.Call("get_userns", owner.get());
  UniqueFd parent(static_cast<int>(NsIoctl(user.get(), NS_GET_PARENT)));
  p.Call("get_parent", parent.get());
  if (!owner.valid() || !parent.valid()) p.SetupFailed("an ioctl returned no fd to inspect");
  RecordFdFlags(p, "get_userns", owner.get());
  RecordFdFlags(p, "get_parent", parent.get());
  done.Signal();
  child.Wait();
}

NSC_CASE({
    .id = "nsfs.returned_fd_flags",
    .title = "fds returned by NS_GET_USERNS and NS_GET_PARENT are O_RDONLY and close-on-exec",
    .source = {"NS_GET_USERNS(2const)", "DESCRIPTION"},
    .references = {"ioctl_nsfs(2), NS_GET_USERNS, NS_GET_PARENT"},
    .observe = "fcntl(F_GETFD) of the fds from NS_GET_USERNS (on a child's ns/uts) and from "
               "NS_GET_PARENT (on its ns/user), the child being in a new user+UTS namespace, has "
               "FD_CLOEXEC; fcntl(F_GETFL) & O_ACCMODE is O_RDONLY",
    .control = "none: no nsfs ioctl returns an fd without O_CLOEXEC or with another access "
               "mode, so any control would inspect an fd the ioctls under test did not produce",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {4, 9}},
    .no_control_because = "no nsfs ioctl returns an fd without O_CLOEXEC or with another access "
                          "mode: a control would have to inspect an fd the ioctls under test did "
                          "not produce (a dup, or one whose flags it changed itself)",
    .preconditions = {Given(ExpectCall("get_userns", Succeeds())),
                      Given(ExpectCall("get_parent", Succeeds()))},
    .expect = {
               Expect("get_userns.cloexec", Eq(1)), Expect("get_userns.accmode", Eq(O_RDONLY)),
               Expect("get_parent.cloexec", Eq(1)), Expect("get_parent.accmode", Eq(O_RDONLY))},
    .body = ReturnedFdFlags,
});

// Applies `request` to the nsfs file at `path` and records the result as `key`; a returned
// fd is closed at once.
void CallOnNsFile(const Probe& p, const char* key, const char* path, unsigned long request) {
  UniqueFd fd = OpenFile(path, O_RDONLY);
  if (!fd.valid()) p.SetupFailed(path);
  UniqueFd result(static_cast<int>(NsIoctl(fd.get(), request)));
  p.Call(key, result.get());
}

// Flow: 1. a child is cloned into a new PID namespace and enters a new user namespace
// (control: also a new UTS namespace); inside, it applies NS_GET_PARENT to its own ns/user and
// NS_GET_USERNS to its (outer-owned) ns/uts; 2. the body applies NS_GET_PARENT to its own
// ns/user and ns/pid (control: to the child's, whose parents are the body's own).
void OutOfScopeEperm(const Probe& p) {
  Barrier ready, done;
  if (!ready.ok() || !done.ok()) p.SetupFailed("pipe");
  ChildProcess child = Spawn(CLONE_NEWPID, [&] {
    ready.CloseReadEnd();
    done.CloseWriteEnd();
    SetupStep(p, EnterUserNamespace(p.Pick<unsigned long>(0, CLONE_NEWUTS)),
              "unshare(CLONE_NEWUSER)");
    CallOnNsFile(p, "inner.parent_of_own_user", "/proc/self/ns/user", NS_GET_PARENT);
    CallOnNsFile(p, "inner.userns_of_outer_uts", "/proc/self/ns/uts", NS_GET_USERNS);
    ready.Signal();
    done.Wait();
    return 0;
  });
  ready.CloseWriteEnd();
  if (!child.ok()) SetupStepRefused(p, "clone(CLONE_NEWPID)", errno);
  if (!ready.Wait()) p.SetupFailed("the child did not get ready");
  const PathBuf child_user = ProcPath(child.pid(), "ns/user");
  const PathBuf child_pid = ProcPath(child.pid(), "ns/pid");
  CallOnNsFile(p, "outer.parent_of_own_user",
               p.control() ? child_user.c_str() : "/proc/self/ns/user", NS_GET_PARENT);
  CallOnNsFile(p, "outer.parent_of_own_pid",
               p.control() ? child_pid.c_str() : "/proc/self/ns/pid", NS_GET_PARENT);
  done.Signal();
  child.Wait();
}

NSC_CASE({
    .id = "nsfs.out_of_scope_eperm",
    .title = "NS_GET_PARENT / NS_GET_USERNS fail with EPERM when the result is outside the caller's scope",
    .source = {"NS_GET_USERNS(2const)", "ERRORS"},
    .references = {"ioctl_nsfs(2), ERRORS"},
    .observe = "NS_GET_PARENT on the caller's own user and PID namespaces (whose parents are "
               "ancestors) returns EPERM; inside a new user namespace, NS_GET_PARENT on "
               "/proc/self/ns/user and NS_GET_USERNS on a UTS namespace owned by the outer user "
               "namespace return EPERM",
    .control = "the body asks for the parents of its child's user and PID namespaces (its own, "
               "in scope) and the child also creates its UTS namespace: those calls succeed "
               "(contradicts outer.parent_of_own_user, outer.parent_of_own_pid and "
               "inner.userns_of_outer_uts)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWUTS, .min_kernel = {4, 9}},
    .expect = {ExpectCall("outer.parent_of_own_user", FailsWith(EPERM)),
               ExpectCall("outer.parent_of_own_pid", FailsWith(EPERM)),
               ExpectCall("inner.parent_of_own_user", FailsWith(EPERM)),
               ExpectCall("inner.userns_of_outer_uts", FailsWith(EPERM))},
    .body = OutOfScopeEperm,
});

struct NsEntry {
  const char* name;
  const char* path;
  unsigned long type;
};

// Every /proc/self/ns entry and the CLONE_NEW* constant NS_GET_NSTYPE reports for it.
constexpr NsEntry kNsEntries[] = {
    {"cgroup", "/proc/self/ns/cgroup", CLONE_NEWCGROUP},
    {"ipc", "/proc/self/ns/ipc", CLONE_NEWIPC},
    {"mnt", "/proc/self/ns/mnt", CLONE_NEWNS},
    {"net", "/proc/self/ns/net", CLONE_NEWNET},
    {"pid", "/proc/self/ns/pid", CLONE_NEWPID},
    {"pid_for_children", "/proc/self/ns/pid_for_children", CLONE_NEWPID},
    {"time", "/proc/self/ns/time", CLONE_NEWTIME},
    {"time_for_children", "/proc/self/ns/time_for_children", CLONE_NEWTIME},
    {"user", "/proc/self/ns/user", CLONE_NEWUSER},
    {"uts", "/proc/self/ns/uts", CLONE_NEWUTS},
};
constexpr size_t kNsEntryCount = sizeof kNsEntries / sizeof kNsEntries[0];

// The entries without a parent: NS_GET_PARENT and NS_GET_OWNER_UID give EINVAL on them.
constexpr const char* kNonHierarchical[] = {"/proc/self/ns/cgroup", "/proc/self/ns/ipc",
                                            "/proc/self/ns/mnt", "/proc/self/ns/net",
                                            "/proc/self/ns/uts"};
constexpr const char* kNonHierarchicalKeys[] = {"cgroup", "ipc", "mnt", "net", "uts"};

// Flow: for each non-hierarchical type (cgroup, ipc, mnt, net, uts), apply NS_GET_PARENT to
// /proc/self/ns/<type> (control: to /proc/self/ns/user, which is hierarchical).
void GetParentNonhierarchicalEinval(const Probe& p) {
  for (size_t i = 0; i < sizeof kNonHierarchical / sizeof kNonHierarchical[0]; ++i) {
    PathBuf key("get_parent.");
    key.Add(kNonHierarchicalKeys[i]);
    CallOnNsFile(p, key.c_str(), p.control() ? "/proc/self/ns/user" : kNonHierarchical[i],
                 NS_GET_PARENT);
  }
}

NSC_CASE({
    .id = "nsfs.get_parent_nonhierarchical_einval",
    .title = "NS_GET_PARENT on a non-hierarchical namespace fails with EINVAL",
    .source = {"NS_GET_USERNS(2const)", "ERRORS (NS_GET_PARENT)"},
    .references = {"ioctl_nsfs(2), NS_GET_PARENT", "pid.nesting_tree_parent (positive PID case)"},
    .observe = "ioctl(fd, NS_GET_PARENT) on /proc/self/ns/{cgroup,ipc,mnt,net,uts} returns EINVAL",
    .control = "the call is made on /proc/self/ns/user, a hierarchical type: not EINVAL (EPERM, "
               "its parent is out of scope) (contradicts every get_parent.* key)",
    .needs = {.privilege = Privilege::kNone,
              .namespaces = CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS,
              .min_kernel = {4, 9}},
    .expect = {ExpectCall("get_parent.cgroup", FailsWith(EINVAL)),
               ExpectCall("get_parent.ipc", FailsWith(EINVAL)),
               ExpectCall("get_parent.mnt", FailsWith(EINVAL)),
               ExpectCall("get_parent.net", FailsWith(EINVAL)),
               ExpectCall("get_parent.uts", FailsWith(EINVAL))},
    .body = GetParentNonhierarchicalEinval,
});

// Flow: 1. a child enters a new user namespace U (with a new UTS namespace, owned by U); 2. the
// body opens /proc/<child>/ns/user and applies NS_GET_PARENT and NS_GET_USERNS to it (control,
// the one factor removed: NS_GET_USERNS is applied to /proc/<child>/ns/uts instead, whose owner
// is U, not U's parent); 3. records the identities of both results and of its own ns/user.
void GetParentUserEqualsGetUserns(const Probe& p) {
  Barrier ready, done;
  if (!ready.ok() || !done.ok()) p.SetupFailed("pipe");
  ChildProcess child = SpawnUsernsChild(p, true, CLONE_NEWUTS, ready, done);
  NSC_SETUP(p, child.pid(), "fork");
  if (!ready.Wait()) p.SetupFailed("the child did not enter its user namespace");
  const PathBuf child_user = ProcPath(child.pid(), "ns/user");
  const PathBuf child_uts = ProcPath(child.pid(), "ns/uts");
  UniqueFd user = OpenFile(child_user.c_str(), O_RDONLY);
  UniqueFd uts = OpenFile(child_uts.c_str(), O_RDONLY);
  if (!user.valid() || !uts.valid()) p.SetupFailed("open /proc/<child>/ns/{user,uts}");
  UniqueFd parent(static_cast<int>(NsIoctl(user.get(), NS_GET_PARENT)));
  p.Call("get_parent", parent.get());
  UniqueFd owner(static_cast<int>(NsIoctl(p.control() ? uts.get() : user.get(), NS_GET_USERNS)));
  p.Call("get_userns", owner.get());
  if (!parent.valid() || !owner.valid()) p.SetupFailed("an ioctl returned no fd to identify");
  p.NsIdOfFd("get_parent.result", parent.get());
  p.NsIdOfFd("get_userns.result", owner.get());
  p.NsId("self.user", "/proc/self/ns/user");
  done.Signal();
  child.Wait();
}

NSC_CASE({
    .id = "nsfs.get_parent_user_equals_get_userns",
    .title = "For a user namespace, NS_GET_PARENT and NS_GET_USERNS return the same namespace",
    .source = {"NS_GET_USERNS(2const)", "DESCRIPTION (NS_GET_PARENT)"},
    .references = {"ioctl_nsfs(2), NS_GET_PARENT"},
    .observe = "from the parent, both ioctls applied to a child's ns/user succeed and return fds "
               "with identical (st_dev, st_ino): the parent's own user namespace",
    .control = "NS_GET_USERNS is applied to the child's ns/uts instead (owned by the child's own "
               "user namespace, not by its parent): the two fds name different namespaces "
               "(contradicts get_userns.result)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {4, 9}},
    .expect = {ExpectCall("get_parent", Succeeds()), ExpectCall("get_userns", Succeeds()),
               ExpectSameNs("get_userns.result", "get_parent.result"),
               ExpectSameNs("get_parent.result", "self.user")},
    .body = GetParentUserEqualsGetUserns,
});

// Flow: for every /proc/self/ns entry, open it and record NS_GET_NSTYPE's return value.
// Control: each entry's expectation is checked against its neighbour's file.
void GetNstype(const Probe& p) {
  for (size_t i = 0; i < kNsEntryCount; ++i) {
    const NsEntry& queried = kNsEntries[p.control() ? (i + 1) % kNsEntryCount : i];
    UniqueFd fd = OpenFile(queried.path, O_RDONLY);
    if (!fd.valid()) p.SetupFailed(queried.path);
    PathBuf key("nstype.");
    key.Add(kNsEntries[i].name);
    p.Call(key.c_str(), NsIoctl(fd.get(), NS_GET_NSTYPE));
  }
}

NSC_CASE({
    .id = "nsfs.get_nstype",
    .title = "NS_GET_NSTYPE returns the CLONE_NEW* constant of the namespace",
    .source = {"NS_GET_NSTYPE(2const)", "DESCRIPTION"},
    .references = {"ioctl_nsfs(2), NS_GET_NSTYPE"},
    .observe = "for each /proc/self/ns entry (cgroup, ipc, mnt, net, pid, pid_for_children, time, "
               "time_for_children, user, uts) the ioctl returns its CLONE_NEW* flag, e.g. uts "
               "0x04000000 and pid_for_children CLONE_NEWPID",
    .control = "each entry is queried through its neighbour's file: the returned types no "
               "longer match the table (contradicts the nstype.* keys of neighbours of another "
               "type)",
    .needs = {.privilege = Privilege::kNone,
              .namespaces = CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET |
                            CLONE_NEWPID | CLONE_NEWTIME | CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {4, 11}},
    .expect = {ExpectCall("nstype.cgroup", SucceedsWith(Eq(CLONE_NEWCGROUP))),
               ExpectCall("nstype.ipc", SucceedsWith(Eq(CLONE_NEWIPC))),
               ExpectCall("nstype.mnt", SucceedsWith(Eq(CLONE_NEWNS))),
               ExpectCall("nstype.net", SucceedsWith(Eq(CLONE_NEWNET))),
               ExpectCall("nstype.pid", SucceedsWith(Eq(CLONE_NEWPID))),
               ExpectCall("nstype.pid_for_children", SucceedsWith(Eq(CLONE_NEWPID))),
               ExpectCall("nstype.time", SucceedsWith(Eq(CLONE_NEWTIME))),
               ExpectCall("nstype.time_for_children", SucceedsWith(Eq(CLONE_NEWTIME))),
               ExpectCall("nstype.user", SucceedsWith(Eq(CLONE_NEWUSER))),
               ExpectCall("nstype.uts", SucceedsWith(Eq(CLONE_NEWUTS)))},
    .body = GetNstype,
});

// Flow: 1. NS_GET_OWNER_UID on /proc/self/ns/user: succeeds, the uid is recorded; 2. the same
// ioctl on every non-user type (cgroup, ipc, mnt, net, uts) (control: on ns/user again).
void GetOwnerUid(const Probe& p) {
  UniqueFd user = OpenFile("/proc/self/ns/user", O_RDONLY);
  if (!user.valid()) p.SetupFailed("open /proc/self/ns/user");
  uid_t uid = static_cast<uid_t>(-1);
  p.Call("user.get_owner_uid", ioctl(user.get(), NS_GET_OWNER_UID, &uid));
  p.Value("user.owner_uid", static_cast<int64_t>(uid));
  for (size_t i = 0; i < sizeof kNonHierarchical / sizeof kNonHierarchical[0]; ++i) {
    UniqueFd fd = OpenFile(p.control() ? "/proc/self/ns/user" : kNonHierarchical[i], O_RDONLY);
    if (!fd.valid()) p.SetupFailed(kNonHierarchical[i]);
    PathBuf key(kNonHierarchicalKeys[i]);
    key.Add(".get_owner_uid");
    uid_t ignored = 0;
    p.Call(key.c_str(), ioctl(fd.get(), NS_GET_OWNER_UID, &ignored));
  }
}

NSC_CASE({
    .id = "nsfs.get_owner_uid",
    .title = "NS_GET_OWNER_UID stores a user namespace's owner UID; other types give EINVAL",
    .source = {"NS_GET_OWNER_UID(2const)", "DESCRIPTION, ERRORS"},
    .references = {"ioctl_nsfs(2), NS_GET_OWNER_UID", "rules.md record item 9 (owner values are "
                   "asserted from the parent namespace: user.owner_is_creator_euid)"},
    .observe = "on /proc/self/ns/user the ioctl succeeds and stores a uid (recorded); on "
               "/proc/self/ns/{cgroup,ipc,mnt,net,uts} it fails with EINVAL",
    .control = "the calls are made on /proc/self/ns/user instead: they succeed (contradicts "
               "every <type>.get_owner_uid key)",
    .needs = {.privilege = Privilege::kNone,
              .namespaces = CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET |
                            CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {4, 11}},
    .expect = {ExpectCall("user.get_owner_uid", Succeeds()), Record("user.owner_uid"),
               ExpectCall("cgroup.get_owner_uid", FailsWith(EINVAL)),
               ExpectCall("ipc.get_owner_uid", FailsWith(EINVAL)),
               ExpectCall("mnt.get_owner_uid", FailsWith(EINVAL)),
               ExpectCall("net.get_owner_uid", FailsWith(EINVAL)),
               ExpectCall("uts.get_owner_uid", FailsWith(EINVAL))},
    .body = GetOwnerUid,
});

// Flow: open /proc/self/status (control: /proc/self/ns/uts) and apply each of the four
// ioctls to it.
void NonNsfsFdEnotty(const Probe& p) {
  UniqueFd fd = OpenFile(p.Pick<const char*>("/proc/self/status", "/proc/self/ns/uts"), O_RDONLY);
  if (!fd.valid()) p.SetupFailed("open");
  p.Call("get_nstype", NsIoctl(fd.get(), NS_GET_NSTYPE));
  UniqueFd owner(static_cast<int>(NsIoctl(fd.get(), NS_GET_USERNS)));
  p.Call("get_userns", owner.get());
  UniqueFd parent(static_cast<int>(NsIoctl(fd.get(), NS_GET_PARENT)));
  p.Call("get_parent", parent.get());
  uid_t uid = 0;
  p.Call("get_owner_uid", ioctl(fd.get(), NS_GET_OWNER_UID, &uid));
}

NSC_CASE({
    .id = "nsfs.non_nsfs_fd_enotty",
    .title = "nsfs ioctls on a file that is not a namespace file fail with ENOTTY",
    .source = {"ioctl_nsfs(2)", "ERRORS"},
    .references = {"NS_GET_USERNS(2const), NS_GET_NSTYPE(2const), NS_GET_OWNER_UID(2const): ERRORS"},
    .observe = "NS_GET_NSTYPE, NS_GET_USERNS, NS_GET_PARENT and NS_GET_OWNER_UID on an fd of "
               "/proc/self/status each return ENOTTY",
    .control = "the same calls on /proc/self/ns/uts: they succeed or fail with EINVAL, not ENOTTY "
               "(contradicts all four keys)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUTS, .min_kernel = {4, 9}},
    .expect = {ExpectCall("get_nstype", FailsWith(ENOTTY)),
               ExpectCall("get_userns", FailsWith(ENOTTY)),
               ExpectCall("get_parent", FailsWith(ENOTTY)),
               ExpectCall("get_owner_uid", FailsWith(ENOTTY))},
    .body = NonNsfsFdEnotty,
});

}  // namespace
}  // namespace nsc::cases
