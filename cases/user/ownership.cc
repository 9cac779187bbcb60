// User namespaces: who owns a namespace and what ownership grants. Namespaces of other types
// belong to the creator's user namespace; a user namespace belongs to its creator's euid, which
// holds every capability in it and below. Sources: user_namespaces(7), 'Capabilities' and
// 'Interaction of user namespaces and other types of namespaces'; ioctl_nsfs(2)
// (NS_GET_USERNS, NS_GET_PARENT, NS_GET_OWNER_UID).
#include "user_common.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using userns::BecomeUnprivileged;
using userns::OwnStatusHex;

// Flow: 1. record the body's UTS namespace; 2. an unprivileged child calls
// unshare(CLONE_NEWUSER) and then unshare(CLONE_NEWUTS); 3. guarded by a check that its UTS
// namespace is not the body's, it calls sethostname().
void OwnedNsChecksOwnerCaps(const Probe& p) {
  const NsFileId body_uts = NsFileIdOf("/proc/self/ns/uts");
  ChildProcess child = Spawn(0, [&] {
    BecomeUnprivileged(p);
    if (unshare(static_cast<int>(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER))) == -1) {
      userns::UserNsSetupFailed(p, "unshare(CLONE_NEWUSER)");
    }
    userns::CallUnderTest(p, "unshare_uts", unshare(CLONE_NEWUTS));
    userns::SethostnameOutsideBodyUts(p, body_uts);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.owned_ns_checks_owner_caps",
    .title = "Operations on a namespace are checked against capabilities in its owning user namespace",
    .source = {"user_namespaces(7)", "Interaction of user namespaces and other types of namespaces"},
    .observe = "an unprivileged process calls unshare(CLONE_NEWUSER), then unshare(CLONE_NEWUTS) "
               "(owned by the new user namespace, where it has CAP_SYS_ADMIN): both succeed, and "
               "so does sethostname()",
    .control = "no CLONE_NEWUSER: the unprivileged process cannot create the UTS namespace "
               "(contradicts unshare_uts), and sethostname() is not attempted on the host's",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {3, 8}},
    .expect = {ExpectCall("unshare_uts", Succeeds()), ExpectCall("sethostname", Succeeds())},
    .body = OwnedNsChecksOwnerCaps,
});

// Records NS_GET_USERNS of /proc/self/ns/<type> as `key`.
void RecordOwner(const Probe& p, const char* key, const char* type) {
  UniqueFd ns = OpenNs(0, type);
  UniqueFd owner(ns.valid() ? ioctl(ns.get(), NS_GET_USERNS) : -1);
  p.NsIdOfFd(key, owner.get());
}

// Records NS_GET_USERNS of the caller's UTS, mount, IPC, network and cgroup namespaces, and —
// from its first child, PID 1 of the PID namespace it created — of that PID namespace.
void RecordOwners(const Probe& p) {
  RecordOwner(p, "uts.owner", "uts");
  RecordOwner(p, "mnt.owner", "mnt");
  RecordOwner(p, "ipc.owner", "ipc");
  RecordOwner(p, "net.owner", "net");
  RecordOwner(p, "cgroup.owner", "cgroup");
  ChildProcess first = Spawn(0, [&] {
    RecordOwner(p, "pid.owner", "pid");
    return 0;
  });
  if (!first.ok()) p.SetupFailed("fork in the new PID namespace");
  first.Wait();
}

// Flow: 1. an unprivileged child (control: after entering a mapped user namespace U0 and
// creating the UTS, mount, IPC, network, PID and cgroup namespaces there with a separate, earlier
// unshare) records its user namespace; 2. it calls unshare(CLONE_NEWUSER|CLONE_NEWUTS|
// CLONE_NEWNS|CLONE_NEWIPC|CLONE_NEWNET|CLONE_NEWPID|CLONE_NEWCGROUP) (control: CLONE_NEWUSER
// only) and records the result and its new user namespace; 3. for UTS, mount, IPC, network and
// cgroup it records NS_GET_USERNS of its namespace; 4. its first child (PID 1 of the new PID
// namespace) records NS_GET_USERNS of its PID namespace. In the control the owners are read
// right after the earlier unshare, before the user namespace is created.
void UsernsCreatedFirst(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    BecomeUnprivileged(p);
    const unsigned long others = CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET |
                                 CLONE_NEWPID | CLONE_NEWCGROUP;
    if (p.control()) {
      userns::EnterMappedUserNs(p, 0, "unshare(CLONE_NEWUSER) for U0 (control)");
      NSC_SETUP(p, unshare(static_cast<int>(others)),
                "creating the other namespaces first (control)");
      // Read now: from inside the later user namespace, NS_GET_USERNS refuses (EPERM) to name
      // U0, an ancestor. Ownership is fixed at creation, so the later unshare cannot change it.
      RecordOwners(p);
    }
    p.NsId("before.user", "/proc/self/ns/user");
    const long r = unshare(static_cast<int>(p.Pick(CLONE_NEWUSER | others, CLONE_NEWUSER)));
    if (r == -1) {
      const int err = errno;
      userns::SkipIfUserNsRefusedByEnvironment(p, err);
      errno = err;
    }
    userns::CallUnderTest(p, "unshare", r);
    p.NsId("self.user", "/proc/self/ns/user");
    if (!p.control()) RecordOwners(p);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.userns_created_first",
    .title = "With CLONE_NEWUSER and other CLONE_NEW* flags, the user namespace is created first and owns the others",
    .source = {"user_namespaces(7)", "Interaction of user namespaces and other types of namespaces"},
    .references = {"unshare(2), NOTES", "ioctl_nsfs(2), NS_GET_USERNS"},
    .observe = "an unprivileged unshare(CLONE_NEWUSER|NEWUTS|NEWNS|NEWIPC|NEWNET|NEWPID|NEWCGROUP) "
               "returns 0, and NS_GET_USERNS of each new namespace (PID: from the first child) is "
               "the new /proc/self/ns/user",
    .control = "the other namespaces are created by an earlier, separate unshare (inside a user "
               "namespace U0 entered for the capability), then unshare(CLONE_NEWUSER) alone: "
               "they stay owned by U0, not by the new user namespace (contradicts every *.owner "
               "key)",
    .needs = {.privilege = Privilege::kNone,
              .namespaces = CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWIPC |
                            CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP,
              .min_kernel = {4, 9}},
    .preconditions = {Given(ExpectDifferentNs("self.user", "before.user"))},
    .expect = {ExpectCall("unshare", Succeeds()), ExpectSameNs("uts.owner", "self.user"),
               ExpectSameNs("mnt.owner", "self.user"), ExpectSameNs("ipc.owner", "self.user"),
               ExpectSameNs("net.owner", "self.user"), ExpectSameNs("cgroup.owner", "self.user"),
               ExpectSameNs("pid.owner", "self.user")},
    .body = UsernsCreatedFirst,
});

// Flow: 1. child A drops to ruid kOtherUid / euid kNobody when the body is root (a rootless run
// has one uid only), records both, calls unshare(CLONE_NEWUSER) and records NS_GET_OWNER_UID of
// its own, unmapped namespace (record item 9); it then waits; 2. the body, in the parent user
// namespace, opens /proc/A/ns/user and records NS_GET_OWNER_UID.
void OwnerIsCreatorEuid(const Probe& p) {
  const bool root = userns::RealRoot();
  userns::ParkedChild a;
  const bool started = a.Start(0, [&] {
    BecomeUnprivileged(p, root ? userns::kOtherUid : userns::kNobody, userns::kNobody);
    p.Value("creator.euid", geteuid());
    p.Value("creator.ruid", getuid());
    if (unshare(static_cast<int>(p.Flags(CLONE_NEWUSER, CLONE_NEWUSER))) == -1) {
      userns::UserNsSetupFailed(p, "unshare(CLONE_NEWUSER)");
    }
    UniqueFd own = OpenNs(0, "user");
    uid_t inside = static_cast<uid_t>(-1);
    if (own.valid() && ioctl(own.get(), NS_GET_OWNER_UID, &inside) == 0) {
      p.Value("inside.owner_uid", inside);
    }
    return 0;
  });
  if (!started) return;  // A skipped or failed and said why
  UniqueFd ns = OpenNs(a.pid(), "user");
  if (!ns.valid()) p.SetupFailed("open /proc/<A>/ns/user");
  uid_t owner = static_cast<uid_t>(-1);
  p.Call("parent.ioctl", ioctl(ns.get(), NS_GET_OWNER_UID, &owner));
  p.Value("parent.owner_uid", owner);
  a.Release();
}

NSC_CASE({
    .id = "user.owner_is_creator_euid",
    .title = "The creator's effective UID is the owner of a new user namespace (NS_GET_OWNER_UID)",
    .source = {"user_namespaces(7)", "Capabilities"},
    .references = {"NS_GET_OWNER_UID(2const)", "ioctl_nsfs(2)",
                   "catalogue record item 9: read from the parent namespace; the value read from "
                   "inside the unmapped namespace is recorded"},
    .observe = "an unprivileged child (as root: ruid 65533, euid 65534) creates a user namespace; "
               "NS_GET_OWNER_UID on /proc/<child>/ns/user, read from the parent namespace, equals "
               "the child's euid",
    .control = "no CLONE_NEWUSER: the child's namespace is the parent's (owner 0), not owned by "
               "the child's euid (contradicts parent.owner_uid)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {4, 11}},
    .preconditions = {Given(ExpectCall("parent.ioctl", Succeeds()))},
    .expect = {ExpectSameValue("parent.owner_uid", "creator.euid"), Record("creator.ruid"),
               Record("inside.owner_uid")},
    .body = OwnerIsCreatorEuid,
});

// Flow: 1. child A drops to an unprivileged uid E, calls unshare(CLONE_NEWUSER) (namespace U,
// owner E) and waits; 2. sibling B1 drops to the sibling uid, records its CapEff in the parent
// namespace (empty) and calls setns() into U; 3. sibling B2 drops to the sibling uid and writes
// "0 <its euid> 1" to A's uid_map from the parent namespace. The sibling uid is E; in the
// control it is another uid (as root) — or, rootless, where only one uid exists, A creates no
// namespace at all.
void OwnerInParentHasAllCaps(const Probe& p) {
  userns::RequireSetnsReachesKernel(p);
  const bool root = userns::RealRoot();
  const uid_t sibling = p.control() && root ? userns::kOtherUid : userns::kNobody;
  const unsigned long newuser = p.control() && !root ? 0 : CLONE_NEWUSER;
  userns::ParkedChild a;
  const bool started = a.Start(0, [&] {
    BecomeUnprivileged(p);
    p.Value("owner.euid", geteuid());
    if (unshare(static_cast<int>(newuser)) == -1) userns::UserNsSetupFailed(p, "unshare(CLONE_NEWUSER)");
    return 0;
  });
  if (!started) return;
  UniqueFd target = OpenNs(a.pid(), "user");
  if (!target.valid()) p.SetupFailed("open /proc/<A>/ns/user");
  const PathBuf uid_map = ProcPath(a.pid(), "uid_map");

  ChildProcess b1 = Spawn(0, [&] {
    BecomeUnprivileged(p, sibling, sibling);
    p.Value("sibling.euid", geteuid());
    p.Value("b1.cap_eff_before", OwnStatusHex("CapEff"));
    userns::CallUnderTest(p, "b1.setns", setns(target.get(), CLONE_NEWUSER));
    return 0;
  });
  if (!b1.ok()) p.SetupFailed("fork");
  b1.Wait();
  ChildProcess b2 = Spawn(0, [&] {
    BecomeUnprivileged(p, sibling, sibling);
    const PathBuf line = userns::MapText(0, geteuid(), 1);
    p.Call("b2.uid_map_write", userns::OpenAndWrite(uid_map.c_str(), line.c_str(), line.size()));
    return 0;
  });
  if (!b2.ok()) p.SetupFailed("fork");
  b2.Wait();
  a.Release();
}

NSC_CASE({
    .id = "user.owner_in_parent_has_all_caps",
    .title = "A process in the parent namespace with the owner's euid has every capability in the child namespace",
    .source = {"user_namespaces(7)", "Capabilities"},
    .observe = "A (uid E) creates user namespace U; sibling B1 (uid E, no capabilities in the "
               "parent) joins U with setns(); sibling B2 (uid E) writes \"0 E 1\" to A's uid_map",
    .control = "as root the siblings use another uid than the owner: setns fails and uid_map "
               "cannot be opened; rootless, A creates no namespace, so there is no child "
               "namespace to act on (contradicts b1.setns and b2.uid_map_write)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("b1.cap_eff_before", Eq(0)))},
    .expect = {ExpectCall("b1.setns", Succeeds()),
               ExpectCall("b2.uid_map_write", Succeeds()), Record("owner.euid"),
               Record("sibling.euid")},
    .body = OwnerInParentHasAllCaps,
});

// Flow: 1. child A drops to an unprivileged uid, creates user namespace U1 and maps itself
// (setgroups deny, "0 E 1"); its child A2 is cloned with CLONE_NEWUSER into U2 (a grandchild
// of the initial namespace) and waits; 2. the body (root in the initial namespace, not the
// owner of U1) records U1's owner uid and its euid, checks NS_GET_PARENT(U2) == U1 and
// NS_GET_PARENT(U1) == its own namespace; 3. a child of the body calls setns() into U2.
void CapsInheritedByDescendantNs(const Probe& p) {
  userns::RequireSetnsReachesKernel(p);
  Barrier u2_ready, release;
  if (!u2_ready.ok() || !release.ok()) p.SetupFailed("pipe");
  Barrier pid_channel;
  if (!pid_channel.ok()) p.SetupFailed("pipe");
  ChildProcess a = Spawn(0, [&] {
    u2_ready.CloseReadEnd();
    release.CloseWriteEnd();
    pid_channel.CloseReadEnd();
    BecomeUnprivileged(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER) for U1");
    NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "mapping U1");
    ChildProcess a2 = Spawn(CLONE_NEWUSER, [&] {
      u2_ready.Signal();
      release.Wait();
      return 0;
    });
    if (!a2.ok()) p.SetupFailed("clone(CLONE_NEWUSER) for U2");
    pid_channel.Send(a2.pid());  // the PID as seen from A: A shares the body's PID namespace
    release.Wait();
    a2.Wait();
    return 0;
  });
  u2_ready.CloseWriteEnd();
  release.CloseReadEnd();
  pid_channel.CloseWriteEnd();
  if (!a.ok()) p.SetupFailed("fork");
  int64_t a2_pid = 0;
  if (!u2_ready.Wait() || !pid_channel.Receive(&a2_pid)) return;

  UniqueFd u1 = OpenNs(a.pid(), "user");
  UniqueFd u2 = OpenNs(static_cast<pid_t>(a2_pid), "user");
  if (!u1.valid() || !u2.valid()) p.SetupFailed("open the namespaces of A and A2");
  uid_t u1_owner = static_cast<uid_t>(-1);
  NSC_SETUP(p, ioctl(u1.get(), NS_GET_OWNER_UID, &u1_owner), "NS_GET_OWNER_UID of U1");
  p.Value("u1.owner_uid", u1_owner);
  p.Value("body.euid", geteuid());
  p.NsIdOfFd("u1", u1.get());
  UniqueFd u2_parent(ioctl(u2.get(), NS_GET_PARENT));
  p.NsIdOfFd("u2.parent", u2_parent.get());
  UniqueFd u1_parent(ioctl(u1.get(), NS_GET_PARENT));
  p.NsIdOfFd("u1.parent", u1_parent.get());
  p.NsId("body.user", "/proc/self/ns/user");

  ChildProcess joiner = Spawn(0, [&] {
    if (p.control()) NSC_SETUP(p, DropCapability(CAP_SYS_ADMIN), "dropping CAP_SYS_ADMIN (control)");
    userns::CallUnderTest(p, "setns_u2", setns(u2.get(), CLONE_NEWUSER));
    return 0;
  });
  if (!joiner.ok()) p.SetupFailed("fork");
  joiner.Wait();
  release.Signal();
  release.Signal();
  a.Wait();
}

NSC_CASE({
    .id = "user.caps_inherited_by_descendant_ns",
    .title = "A capability held in a user namespace is held in all its descendant namespaces",
    .source = {"user_namespaces(7)", "Capabilities"},
    .references = {"setns(2), Details for specific namespace types (User namespaces)",
                   "ioctl_nsfs(2), NS_GET_PARENT and NS_GET_OWNER_UID"},
    .observe = "an unprivileged process creates U1 and, below it, U2; root in the initial "
               "namespace (not U1's owner) joins U2 with setns(), by CAP_SYS_ADMIN inherited "
               "downwards; NS_GET_PARENT confirms U2 -> U1 -> initial namespace",
    .control = "the joining process drops CAP_SYS_ADMIN first: setns into U2 fails (contradicts "
               "setns_u2)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWUSER, .min_kernel = {4, 11}},
    .preconditions = {Given(ExpectDifferentValue("body.euid", "u1.owner_uid")),
                      Given(ExpectSameNs("u2.parent", "u1")),
                      Given(ExpectSameNs("u1.parent", "body.user"))},
    .expect = {ExpectCall("setns_u2", Succeeds())},
    .body = CapsInheritedByDescendantNs,
});

}  // namespace
}  // namespace nsc::cases
