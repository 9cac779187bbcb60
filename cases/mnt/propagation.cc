// Mount namespaces: shared subtrees — the propagation types (shared, private, slave,
// unbindable), peer groups and their mountinfo tags, type transitions, and the bind/move rules
// that depend on them. Source: mount_namespaces(7), 'SHARED SUBTREES'; mount(2), ERRORS.
//
// Every body first enters a private mount namespace of its own with a scratch tmpfs on /tmp
// (mnt_util.h EnterScratch); the second namespace of an experiment is cloned from that one, and
// is owned by the same user namespace. Peer-group IDs are compared, never asserted (record list
// item 27); controls change a propagation type or drop a namespace inside the case's own tree.
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt_util.h"

// ioctl_nsfs(2), Linux 6.8: the ID of a mount namespace (the order the kernel's loop check uses).
#ifndef NS_GET_MNTNS_ID
#define NS_GET_MNTNS_ID _IOR(NSIO, 0x5, uint64_t)
#endif

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;
using namespace ::nsc::cases::mnt;

// Flow: 1. namespace A: tmpfs M at /tmp/m, made shared; 2. child B: clone(CLONE_NEWNS), same
// owner; 3. B mounts a tmpfs at M/b, A counts M/b; 4. A mounts at M/a, B counts M/a;
// 5. B unmounts M/b, A counts it; 6. A unmounts M/a, B counts it.
void SharedPropagatesBothWays(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", p.Pick(MS_SHARED, MS_PRIVATE));
  MakeDir(p, "/tmp/m/a");
  MakeDir(p, "/tmp/m/b");
  TwoWay chan;
  if (!chan.ok()) p.SetupFailed("pipe2 for barriers");
  ChildProcess child = Spawn(CLONE_NEWNS, [&] {
    chan.BecomeChild();
    p.Call("b.mount", mount("nsc", "/tmp/m/b", "tmpfs", 0, nullptr));
    chan.ToParent();
    if (!chan.FromParent()) return 1;
    p.Value("b.sees_a_mount", MountsAt(p, kSelfMountinfo, "/tmp/m/a"));
    p.Call("b.umount", umount2("/tmp/m/b", 0));
    chan.ToParent();
    if (!chan.FromParent()) return 1;
    p.Value("b.sees_a_mount_after_umount", MountsAt(p, kSelfMountinfo, "/tmp/m/a"));
    return 0;
  });
  StartedHelper(p, child, chan);
  if (!chan.FromChild()) HelperGone(p, child);
  p.Value("a.sees_b_mount", MountsAt(p, kSelfMountinfo, "/tmp/m/b"));
  p.Call("a.mount", mount("nsc", "/tmp/m/a", "tmpfs", 0, nullptr));
  chan.ToChild();
  if (!chan.FromChild()) HelperGone(p, child);
  p.Value("a.sees_b_mount_after_umount", MountsAt(p, kSelfMountinfo, "/tmp/m/b"));
  p.Call("a.umount", umount2("/tmp/m/a", 0));
  chan.ToChild();
  child.Wait();
}

NSC_CASE({
    .id = "mnt.shared_propagates_both_ways",
    .title = "Mount and unmount events beneath a shared mount reach all its peers, both ways",
    .source = {"mount_namespaces(7)", "SHARED SUBTREES (MS_SHARED)"},
    .references = {"mount_namespaces(7), 'MS_SHARED and MS_PRIVATE example'"},
    .observe = "tmpfs M made shared in namespace A; B = clone(CLONE_NEWNS) with the same owner: a "
               "mount under M in B appears under M in A and vice versa, and each unmount "
               "propagates back the same way",
    .control = "M is made private instead of shared: nothing propagates between A and B "
               "(contradicts a.sees_b_mount and b.sees_a_mount)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("b.mount", Succeeds())),
                      Given(ExpectCall("a.mount", Succeeds())),
                      Given(ExpectCall("b.umount", Succeeds())),
                      Given(ExpectCall("a.umount", Succeeds()))},
    .expect = {Expect("a.sees_b_mount", Eq(1)),
               Expect("b.sees_a_mount", Eq(1)),
               Expect("a.sees_b_mount_after_umount", Eq(0)),
               Expect("b.sees_a_mount_after_umount", Eq(0))},
    .body = SharedPropagatesBothWays,
});

// Flow: 1. namespace A: tmpfs M at /tmp/m, made private; 2. B = clone(CLONE_NEWNS) mounts at
// M/b; 3. A counts M/b and mounts at M/a; 4. B counts M/a; 5. M's tags in A are recorded.
void PrivateNoPropagation(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", p.Pick(MS_PRIVATE, MS_SHARED));
  MakeDir(p, "/tmp/m/a");
  MakeDir(p, "/tmp/m/b");
  TwoWay chan;
  if (!chan.ok()) p.SetupFailed("pipe2 for barriers");
  ChildProcess child = Spawn(CLONE_NEWNS, [&] {
    chan.BecomeChild();
    p.Call("b.mount", mount("nsc", "/tmp/m/b", "tmpfs", 0, nullptr));
    chan.ToParent();
    if (!chan.FromParent()) return 1;
    p.Value("b.sees_a_mount", MountsAt(p, kSelfMountinfo, "/tmp/m/a"));
    return 0;
  });
  StartedHelper(p, child, chan);
  if (!chan.FromChild()) HelperGone(p, child);
  p.Value("a.m.tags", MountAt(p, kSelfMountinfo, "/tmp/m").optional_fields);
  p.Value("a.sees_b_mount", MountsAt(p, kSelfMountinfo, "/tmp/m/b"));
  p.Call("a.mount", mount("nsc", "/tmp/m/a", "tmpfs", 0, nullptr));
  chan.ToChild();
  child.Wait();
}

NSC_CASE({
    .id = "mnt.private_no_propagation",
    .title = "A private mount has no peer group: mount events neither leave nor reach it",
    .source = {"mount_namespaces(7)", "SHARED SUBTREES (MS_PRIVATE)"},
    .observe = "tmpfs M made private in namespace A (no tag in mountinfo); B = clone(CLONE_NEWNS): "
               "a mount under M in either namespace is not visible in the other",
    .control = "M is made shared instead: the submounts propagate both ways "
               "(contradicts a.m.tags, a.sees_b_mount and b.sees_a_mount)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("b.mount", Succeeds())),
                      Given(ExpectCall("a.mount", Succeeds()))},
    .expect = {Expect("a.m.tags", Eq(0)),
               Expect("a.sees_b_mount", Eq(0)),
               Expect("b.sees_a_mount", Eq(0))},
    .body = PrivateNoPropagation,
});

// Flow: 1. namespace A: tmpfs M at /tmp/m, made shared; its peer group is recorded;
// 2. B = clone(CLONE_NEWNS) makes its M a slave and records M's tags, then mounts at M/b;
// 3. A counts M/b, then mounts at M/a; 4. B counts M/a.
void SlaveReceivesOnly(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", MS_SHARED);
  MakeDir(p, "/tmp/m/a");
  MakeDir(p, "/tmp/m/b");
  p.Value("a.m.shared", MountAt(p, kSelfMountinfo, "/tmp/m").shared);
  TwoWay chan;
  if (!chan.ok()) p.SetupFailed("pipe2 for barriers");
  ChildProcess child = Spawn(CLONE_NEWNS, [&] {
    chan.BecomeChild();
    if (!p.control()) SetPropagation(p, "/tmp/m", MS_SLAVE);
    const MountLine m = MountAt(p, kSelfMountinfo, "/tmp/m");
    p.Value("b.m.master", m.master);
    p.Value("b.m.shared", m.shared);
    p.Call("b.mount", mount("nsc", "/tmp/m/b", "tmpfs", 0, nullptr));
    chan.ToParent();
    if (!chan.FromParent()) return 1;
    p.Value("b.sees_a_mount", MountsAt(p, kSelfMountinfo, "/tmp/m/a"));
    return 0;
  });
  StartedHelper(p, child, chan);
  if (!chan.FromChild()) HelperGone(p, child);
  p.Value("a.sees_b_mount", MountsAt(p, kSelfMountinfo, "/tmp/m/b"));
  p.Call("a.mount", mount("nsc", "/tmp/m/a", "tmpfs", 0, nullptr));
  chan.ToChild();
  child.Wait();
}

NSC_CASE({
    .id = "mnt.slave_receives_only",
    .title = "A slave mount receives events from its master peer group but sends none back",
    .source = {"mount_namespaces(7)", "SHARED SUBTREES (MS_SLAVE)"},
    .references = {"mount_namespaces(7), 'MS_SLAVE example'"},
    .observe = "M shared in namespace A; namespace B makes its copy of M a slave (mountinfo "
               "master:X, X = A's shared:X): a mount under M in A appears in B, a mount under M in "
               "B does not appear in A",
    .control = "B leaves its M shared (no MS_SLAVE): no master tag, and B's mount reaches A "
               "(contradicts b.m.master, b.m.shared and a.sees_b_mount)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(Expect("a.m.shared", Gt(0))),
                      Given(ExpectCall("b.mount", Succeeds())),
                      Given(ExpectCall("a.mount", Succeeds()))},
    .expect = {ExpectSameValue("b.m.master", "a.m.shared"),
               Expect("b.m.shared", Eq(0)),
               Expect("b.sees_a_mount", Eq(1)),
               Expect("a.sees_b_mount", Eq(0))},
    .body = SlaveReceivesOnly,
});

// Flow: 1. tmpfs M at /tmp/m made unbindable (control: private); 2. mount(M, /tmp/dst, MS_BIND);
// 3. the same with MS_BIND|MS_REC.
void UnbindableBindEinval(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", p.Pick(MS_UNBINDABLE, MS_PRIVATE));
  MakeDir(p, "/tmp/dst");
  MakeDir(p, "/tmp/rdst");
  p.Value("m.unbindable", MountAt(p, kSelfMountinfo, "/tmp/m").unbindable ? 1 : 0);
  p.Call("bind", mount("/tmp/m", "/tmp/dst", nullptr, MS_BIND, nullptr));
  p.Call("rbind", mount("/tmp/m", "/tmp/rdst", nullptr, MS_BIND | MS_REC, nullptr));
}

NSC_CASE({
    .id = "mnt.unbindable_bind_einval",
    .title = "Bind-mounting an unbindable mount fails with EINVAL",
    .source = {"mount_namespaces(7)", "SHARED SUBTREES (MS_UNBINDABLE)"},
    .references = {"mount(2), ERRORS (EINVAL: bind mount of an unbindable mount)"},
    .observe = "mount(NULL, M, NULL, MS_UNBINDABLE, NULL) (mountinfo tag 'unbindable'), then "
               "mount(M, dst, NULL, MS_BIND, NULL) and the MS_BIND|MS_REC variant return EINVAL",
    .control = "M is made private instead of unbindable: both binds succeed "
               "(contradicts bind and rbind)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .expect = {Record("m.unbindable"),
               ExpectCall("bind", FailsWith(EINVAL)),
               ExpectCall("rbind", FailsWith(EINVAL))},
    .body = UnbindableBindEinval,
});

// Flow: 1. tmpfs A at /tmp/a with submounts A/u (unbindable; control: private) and A/n;
// 2. mount(A, /tmp/b, MS_BIND|MS_REC); 3. count the mounts at /tmp/b, /tmp/b/n and /tmp/b/u.
void RbindPrunesUnbindable(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/a");
  MakeTmpfs(p, "/tmp/a/u", p.Pick(MS_UNBINDABLE, MS_PRIVATE));
  MakeTmpfs(p, "/tmp/a/n");
  MakeDir(p, "/tmp/b");
  p.Call("rbind", mount("/tmp/a", "/tmp/b", nullptr, MS_BIND | MS_REC, nullptr));
  Mountinfo mi;
  mi.LoadOrFail(p, kSelfMountinfo);
  p.Value("mounts_at_b", mi.Count("/tmp/b"));
  p.Value("mounts_at_b_n", mi.Count("/tmp/b/n"));
  p.Value("mounts_at_b_u", mi.Count("/tmp/b/u"));
}

NSC_CASE({
    .id = "mnt.rbind_prunes_unbindable",
    .title = "A recursive bind skips the unbindable submounts of the copied subtree",
    .source = {"mount_namespaces(7)", "SHARED SUBTREES (MS_UNBINDABLE)"},
    .references = {"mount_namespaces(7), 'MS_UNBINDABLE example'"},
    .observe = "tmpfs A with unbindable submount A/u and ordinary submount A/n: MS_BIND|MS_REC of A "
               "to B creates B and B/n but nothing at B/u",
    .control = "A/u is private instead of unbindable: the recursive bind copies it to B/u "
               "(contradicts mounts_at_b_u)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("rbind", Succeeds()))},
    .expect = {Expect("mounts_at_b", Eq(1)),
               Expect("mounts_at_b_n", Eq(1)),
               Expect("mounts_at_b_u", Eq(0))},
    .body = RbindPrunesUnbindable,
});

// Flow: 1. namespace A: tmpfs M at /tmp/m shared, tmpfs P at M/p (shared by birth), then P made
// private (control: stays shared); 2. B = clone(CLONE_NEWNS), parked; 3. A mounts at M/p/x and
// at M/q, the body counts both in /proc/B/mountinfo; 4. A unmounts M/p/x and P itself, the
// body counts M/p in B.
void PropagationImmediateChildrenOnly(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", MS_SHARED);
  MakeTmpfs(p, "/tmp/m/p");
  if (!p.control()) SetPropagation(p, "/tmp/m/p", MS_PRIVATE);
  MakeDir(p, "/tmp/m/p/x");
  MakeDir(p, "/tmp/m/q");
  NamespaceB b(p, CLONE_NEWNS, [] {});
  const PathBuf b_mountinfo = b.mountinfo();
  p.Call("a.mount_under_p", mount("nsc", "/tmp/m/p/x", "tmpfs", 0, nullptr));
  p.Call("a.mount_under_m", mount("nsc", "/tmp/m/q", "tmpfs", 0, nullptr));
  p.Value("b.sees_mount_under_p", MountsAt(p, b_mountinfo.c_str(), "/tmp/m/p/x"));
  p.Value("b.sees_mount_under_m", MountsAt(p, b_mountinfo.c_str(), "/tmp/m/q"));
  p.Call("a.umount_p_child", umount2("/tmp/m/p/x", 0));
  p.Call("a.umount_p", umount2("/tmp/m/p", 0));
  p.Value("b.has_p_after_a_umount", MountsAt(p, b_mountinfo.c_str(), "/tmp/m/p"));
  b.Release();
}

NSC_CASE({
    .id = "mnt.propagation_immediate_children_only",
    .title = "A mount's propagation type governs only events immediately beneath it",
    .source = {"mount_namespaces(7)", "SHARED SUBTREES"},
    .references = {"mount_namespaces(7), 'Unmount semantics'"},
    .observe = "M shared, M/p private: a mount at M/p/x in namespace A does not reach B although M "
               "is shared, a mount at M/q does; unmounting M/p itself (its parent M is shared) "
               "removes B's copy of M/p as well",
    .control = "M/p is left shared: the mount at M/p/x propagates to B "
               "(contradicts b.sees_mount_under_p)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("a.mount_under_p", Succeeds())),
                      Given(ExpectCall("a.mount_under_m", Succeeds())),
                      Given(ExpectCall("a.umount_p_child", Succeeds())),
                      Given(ExpectCall("a.umount_p", Succeeds()))},
    .expect = {Expect("b.sees_mount_under_p", Eq(0)),
               Expect("b.sees_mount_under_m", Eq(1)),
               Expect("b.has_p_after_a_umount", Eq(0))},
    .body = PropagationImmediateChildrenOnly,
});

// Flow: 1. namespace A: tmpfs M at /tmp/m made shared (control: private); 2. B =
// clone(CLONE_NEWNS), parked; 3. A bind-mounts M at /tmp/bm and mounts a tmpfs at M/sub;
// 4. record the shared:N of M in A and in B, of the bind, and of the submount.
void PeerGroupMembership(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", p.Pick(MS_SHARED, MS_PRIVATE));
  MakeDir(p, "/tmp/m/sub");
  MakeDir(p, "/tmp/bm");
  NamespaceB b(p, CLONE_NEWNS, [] {});
  NSC_SETUP(p, mount("/tmp/m", "/tmp/bm", nullptr, MS_BIND, nullptr), "bind mount of M");
  NSC_SETUP(p, mount("nsc", "/tmp/m/sub", "tmpfs", 0, nullptr), "tmpfs under M");
  p.Value("a.m.shared", MountAt(p, kSelfMountinfo, "/tmp/m").shared);
  p.Value("b.m.shared", MountAt(p, b.mountinfo().c_str(), "/tmp/m").shared);
  p.Value("a.bind.shared", MountAt(p, kSelfMountinfo, "/tmp/bm").shared);
  p.Value("a.sub.shared", MountAt(p, kSelfMountinfo, "/tmp/m/sub").shared);
  b.Release();
}

NSC_CASE({
    .id = "mnt.peer_group_membership",
    .title = "Copies and binds of a shared mount are its peers; a new submount starts a new group",
    .source = {"mount_namespaces(7)", "SHARED SUBTREES"},
    .references = {"rules.md record list item 27 (peer-group IDs: compare, never assert values)"},
    .observe = "shared:X of M is the same in namespace A and in B created from it, a bind of M "
               "shows the same X, and a tmpfs mounted under M shows shared:Y with Y != X",
    .control = "M is private: no copy or bind joins a peer group and no shared: tag appears "
               "(contradicts a.m.shared and a.sub.shared)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .expect = {Expect("a.m.shared", Gt(0)),
               ExpectSameValue("b.m.shared", "a.m.shared"),
               ExpectSameValue("a.bind.shared", "a.m.shared"),
               Expect("a.sub.shared", Gt(0)),
               ExpectDifferentValue("a.sub.shared", "a.m.shared")},
    .body = PeerGroupMembership,
});

// Flow: 1. namespace A: tmpfs S shared, P private, U unbindable; G1 shared, bound at G2, G2 made
// slave then shared (slave of G1's group, own group); 2. B = clone(CLONE_NEWNS) makes its S and
// G2 slaves: S becomes a slave of A's group; G2 becomes a slave of G2's group, which has no
// member in B, while the group above it (G1's) has one: propagate_from; 3. the body records the
// tags of S, P, U, G1, G2 in A and of S, G2 in B.
void MountinfoPropagationTags(const Probe& p) {
  EnterScratch(p);
  // In the control no propagation type is set at all: every scratch mount stays private.
  auto set = [&](const char* path, unsigned long type) {
    if (!p.control()) SetPropagation(p, path, type);
  };
  MakeTmpfs(p, "/tmp/s");
  set("/tmp/s", MS_SHARED);
  MakeTmpfs(p, "/tmp/p", MS_PRIVATE);
  MakeTmpfs(p, "/tmp/u");
  set("/tmp/u", MS_UNBINDABLE);
  MakeTmpfs(p, "/tmp/g1");
  set("/tmp/g1", MS_SHARED);
  MakeDir(p, "/tmp/g2");
  NSC_SETUP(p, mount("/tmp/g1", "/tmp/g2", nullptr, MS_BIND, nullptr), "bind of G1 at G2");
  set("/tmp/g2", MS_SLAVE);
  set("/tmp/g2", MS_SHARED);

  NamespaceB b(p, CLONE_NEWNS, [&] {
    set("/tmp/s", MS_SLAVE);
    set("/tmp/g2", MS_SLAVE);
  });
  Mountinfo a;
  a.LoadOrFail(p, kSelfMountinfo);
  MountLine s, pr, u, g1, g2;
  if (!a.Find("/tmp/s", &s) || !a.Find("/tmp/p", &pr) || !a.Find("/tmp/u", &u) ||
      !a.Find("/tmp/g1", &g1) || !a.Find("/tmp/g2", &g2)) {
    p.SetupFailed("finding the scratch mounts in mountinfo");
  }
  p.Value("a.s.shared", s.shared);
  p.Value("a.s.tags", s.optional_fields);
  p.Value("a.p.tags", pr.optional_fields);
  p.Value("a.u.unbindable", u.unbindable ? 1 : 0);
  p.Value("a.u.tags", u.optional_fields);
  p.Value("a.g1.shared", g1.shared);
  p.Value("a.g2.shared", g2.shared);
  p.Value("a.g2.master", g2.master);

  const PathBuf b_path = b.mountinfo();
  const MountLine bs = MountAt(p, b_path.c_str(), "/tmp/s");
  const MountLine bg2 = MountAt(p, b_path.c_str(), "/tmp/g2");
  p.Value("b.s.master", bs.master);
  p.Value("b.s.tags", bs.optional_fields);
  p.Value("b.g2.master", bg2.master);
  p.Value("b.g2.propagate_from", bg2.propagate_from);
  p.Value("b.g2.tags", bg2.optional_fields);
  b.Release();
}

NSC_CASE({
    .id = "mnt.mountinfo_propagation_tags",
    .title = "mountinfo tags: shared:X, master:X (+ propagate_from:X), unbindable; none = private",
    .source = {"mount_namespaces(7)", "SHARED SUBTREES"},
    .references = {"mount_namespaces(7), 'The /proc/pid/mountinfo \"propagate_from\" tag'",
                   "proc_pid_mountinfo(5)"},
    .observe = "scratch tmpfs mounts given each type with mount(NULL, path, NULL, MS_xxx, NULL); "
               "the optional fields before ' - ' read shared:X (shared), nothing (private), "
               "unbindable, master:X (slave); a slave whose master group has no member in its "
               "namespace also shows propagate_from:Y, Y the nearest dominant group it can reach",
    .control = "no propagation type is set (every scratch mount stays private): no tags appear "
               "(contradicts the shared:, unbindable, master: and tag-count keys)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .expect = {Expect("a.s.shared", Gt(0)),
               Expect("a.s.tags", Eq(1)),
               Expect("a.p.tags", Eq(0)),
               Expect("a.u.unbindable", Eq(1)),
               Expect("a.u.tags", Eq(1)),
               Expect("a.g1.shared", Gt(0)),
               Expect("a.g2.shared", Gt(0)),
               ExpectDifferentValue("a.g2.shared", "a.g1.shared"),
               ExpectSameValue("a.g2.master", "a.g1.shared"),
               ExpectSameValue("b.s.master", "a.s.shared"),
               Expect("b.s.tags", Eq(1)),
               ExpectSameValue("b.g2.master", "a.g2.shared"),
               ExpectSameValue("b.g2.propagate_from", "a.g1.shared"),
               Expect("b.g2.tags", Eq(2))},
    .body = MountinfoPropagationTags,
});

// Flow: 1. tmpfs SP at /tmp/sp made shared (control: private), tmpfs PP at /tmp/pp private;
// 2. a new tmpfs under each; 3. record their tags.
void NewMountDefaultType(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/sp", p.Pick(MS_SHARED, MS_PRIVATE));
  MakeTmpfs(p, "/tmp/pp", MS_PRIVATE);
  MakeDir(p, "/tmp/sp/c");
  MakeDir(p, "/tmp/pp/c");
  p.Call("mount_under_shared", mount("nsc", "/tmp/sp/c", "tmpfs", 0, nullptr));
  p.Call("mount_under_private", mount("nsc", "/tmp/pp/c", "tmpfs", 0, nullptr));
  const MountLine under_shared = MountAt(p, kSelfMountinfo, "/tmp/sp/c");
  const MountLine under_private = MountAt(p, kSelfMountinfo, "/tmp/pp/c");
  p.Value("under_shared.shared", under_shared.shared);
  p.Value("under_shared.tags", under_shared.optional_fields);
  p.Value("under_private.tags", under_private.optional_fields);
}

NSC_CASE({
    .id = "mnt.new_mount_default_type",
    .title = "A new mount is shared if its parent mount is shared, and private otherwise",
    .source = {"mount_namespaces(7)", "NOTES"},
    .references = {"mount_namespaces(7), 'Mount semantics'",
                   "rules.md record list item 26 (the host default is never relied upon)"},
    .observe = "a tmpfs mounted under a shared parent shows a shared: tag (and only that); under a "
               "private parent it shows no tag",
    .control = "the first parent is private too: its new submount has no shared: tag "
               "(contradicts under_shared.shared and under_shared.tags)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("mount_under_shared", Succeeds())),
                      Given(ExpectCall("mount_under_private", Succeeds()))},
    .expect = {Expect("under_shared.shared", Gt(0)),
               Expect("under_shared.tags", Eq(1)),
               Expect("under_private.tags", Eq(0))},
    .body = NewMountDefaultType,
});

// Flow: 1. namespace A: tmpfs PEERED shared; 2. B = clone(CLONE_NEWNS), parked: PEERED now has a
// peer in B; then in A tmpfs LONE shared (alone in its group) and PRIV private; 3. MS_SLAVE on
// the three;
// 4. record the resulting tags (PEERED's old group recorded before).
void MakeSlaveTransitions(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/peered", MS_SHARED);
  // In the control B shares A: PEERED has no peer elsewhere.
  NamespaceB b(p, p.Flags(CLONE_NEWNS, CLONE_NEWNS), [] {});
  // Made after B exists, under the private scratch tmpfs: B holds no copy of these two.
  MakeTmpfs(p, "/tmp/lone", MS_SHARED);
  MakeTmpfs(p, "/tmp/priv", MS_PRIVATE);
  if (p.control()) {  // the lone mount gets a peer (a bind in A)
    MakeDir(p, "/tmp/lone_peer");
    NSC_SETUP(p, mount("/tmp/lone", "/tmp/lone_peer", nullptr, MS_BIND, nullptr), "bind of LONE");
  }
  p.Value("peered.shared_before", MountAt(p, kSelfMountinfo, "/tmp/peered").shared);
  p.Call("lone.make_slave", mount(nullptr, "/tmp/lone", nullptr, MS_SLAVE, nullptr));
  p.Call("priv.make_slave", mount(nullptr, "/tmp/priv", nullptr, MS_SLAVE, nullptr));
  p.Call("peered.make_slave", mount(nullptr, "/tmp/peered", nullptr, MS_SLAVE, nullptr));
  Mountinfo mi;
  mi.LoadOrFail(p, kSelfMountinfo);
  MountLine lone, priv, peered;
  if (!mi.Find("/tmp/lone", &lone) || !mi.Find("/tmp/priv", &priv) ||
      !mi.Find("/tmp/peered", &peered)) {
    p.SetupFailed("finding the scratch mounts in mountinfo");
  }
  p.Value("lone.tags", lone.optional_fields);
  p.Value("priv.tags", priv.optional_fields);
  p.Value("peered.master", peered.master);
  p.Value("peered.tags", peered.optional_fields);
  b.Release();
}

NSC_CASE({
    .id = "mnt.make_slave_transitions",
    .title = "MS_SLAVE: a shared mount becomes a slave of its group, or private if it was alone",
    .source = {"mount_namespaces(7)", "Propagation type transitions"},
    .observe = "a lone shared tmpfs given MS_SLAVE ends with no tags (private); a private tmpfs "
               "given MS_SLAVE keeps no tags; a shared tmpfs with a peer in another namespace "
               "given MS_SLAVE shows only master:X, X its old group",
    .control = "the peer membership is swapped: the lone mount gets a peer (a bind) and the other "
               "has none (no second namespace), so the first becomes a slave, the other private "
               "(contradicts lone.tags, peered.master and peered.tags)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("lone.make_slave", Succeeds())),
                      Given(ExpectCall("priv.make_slave", Succeeds())),
                      Given(ExpectCall("peered.make_slave", Succeeds())),
                      Given(Expect("peered.shared_before", Gt(0)))},
    .expect = {Expect("lone.tags", Eq(0)),
               Expect("priv.tags", Eq(0)),
               ExpectSameValue("peered.master", "peered.shared_before"),
               Expect("peered.tags", Eq(1))},
    .body = MakeSlaveTransitions,
});

// Flow: 1. namespace A: tmpfs M at /tmp/m shared; its group X recorded; 2. B = clone(CLONE_NEWNS)
// makes its M a slave (master:X), then shared; 3. B records M's tags.
void SlavePlusShared(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", MS_SHARED);
  p.Value("a.m.shared", MountAt(p, kSelfMountinfo, "/tmp/m").shared);
  ChildProcess child = Spawn(CLONE_NEWNS, [&] {
    if (!p.control()) SetPropagation(p, "/tmp/m", MS_SLAVE);
    p.Call("b.make_shared", mount(nullptr, "/tmp/m", nullptr, MS_SHARED, nullptr));
    const MountLine m = MountAt(p, kSelfMountinfo, "/tmp/m");
    p.Value("b.m.shared", m.shared);
    p.Value("b.m.master", m.master);
    p.Value("b.m.tags", m.optional_fields);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("clone(CLONE_NEWNS) of the helper");
  child.Wait();
}

NSC_CASE({
    .id = "mnt.slave_plus_shared",
    .title = "make-shared on a slave gives slave+shared: it keeps its master and gets a new group",
    .source = {"mount_namespaces(7)", "Propagation type transitions"},
    .observe = "starting from master:X (namespace B's copy of A's shared M made slave), MS_SHARED "
               "gives the tags shared:Y master:X with Y != X",
    .control = "B skips the MS_SLAVE step: MS_SHARED on a mount already in group X leaves it "
               "shared:X with no master "
               "(contradicts b.m.master, b.m.shared and b.m.tags)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(Expect("a.m.shared", Gt(0))),
                      Given(ExpectCall("b.make_shared", Succeeds()))},
    .expect = {ExpectSameValue("b.m.master", "a.m.shared"),
               Expect("b.m.shared", Gt(0)),
               ExpectDifferentValue("b.m.shared", "a.m.shared"),
               Expect("b.m.tags", Eq(2))},
    .body = SlavePlusShared,
});

// Records whether the topmost mount at `path` carries shared: and master: tags.
void RecordTypeOf(const Probe& p, const Mountinfo& mi, const char* path, const char* shared_key,
                  const char* master_key) {
  MountLine l;
  if (!mi.Find(path, &l)) l = MountLine{};
  p.Value(shared_key, l.shared != 0 ? 1 : 0);
  p.Value(master_key, l.master != 0 ? 1 : 0);
}

// Flow: 1. destinations: tmpfs DS shared (control: private) and DP private; sources: tmpfs SH
// shared, PR private, SL slave (bind of a shared tmpfs made slave), UB unbindable; 2. bind each
// source under each destination; 3. record which of shared:/master: each result carries, and
// the two unbindable binds' results.
void BindTypeTable(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/ds", p.Pick(MS_SHARED, MS_PRIVATE));
  MakeTmpfs(p, "/tmp/dp", MS_PRIVATE);
  MakeTmpfs(p, "/tmp/sh", MS_SHARED);
  MakeTmpfs(p, "/tmp/pr", MS_PRIVATE);
  MakeTmpfs(p, "/tmp/master", MS_SHARED);
  MakeDir(p, "/tmp/sl");
  NSC_SETUP(p, mount("/tmp/master", "/tmp/sl", nullptr, MS_BIND, nullptr), "bind for the slave");
  SetPropagation(p, "/tmp/sl", MS_SLAVE);
  MakeTmpfs(p, "/tmp/ub", MS_UNBINDABLE);
  for (const char* d : {"/tmp/ds/sh", "/tmp/ds/pr", "/tmp/ds/sl", "/tmp/ds/ub", "/tmp/dp/sh",
                        "/tmp/dp/pr", "/tmp/dp/sl", "/tmp/dp/ub"}) {
    MakeDir(p, d);
  }
  p.Call("ds.sh.bind", mount("/tmp/sh", "/tmp/ds/sh", nullptr, MS_BIND, nullptr));
  p.Call("ds.pr.bind", mount("/tmp/pr", "/tmp/ds/pr", nullptr, MS_BIND, nullptr));
  p.Call("ds.sl.bind", mount("/tmp/sl", "/tmp/ds/sl", nullptr, MS_BIND, nullptr));
  p.Call("ds.ub.bind", mount("/tmp/ub", "/tmp/ds/ub", nullptr, MS_BIND, nullptr));
  p.Call("dp.sh.bind", mount("/tmp/sh", "/tmp/dp/sh", nullptr, MS_BIND, nullptr));
  p.Call("dp.pr.bind", mount("/tmp/pr", "/tmp/dp/pr", nullptr, MS_BIND, nullptr));
  p.Call("dp.sl.bind", mount("/tmp/sl", "/tmp/dp/sl", nullptr, MS_BIND, nullptr));
  p.Call("dp.ub.bind", mount("/tmp/ub", "/tmp/dp/ub", nullptr, MS_BIND, nullptr));
  Mountinfo mi;
  mi.LoadOrFail(p, kSelfMountinfo);
  RecordTypeOf(p, mi, "/tmp/ds/sh", "ds.sh.shared", "ds.sh.master");
  RecordTypeOf(p, mi, "/tmp/ds/pr", "ds.pr.shared", "ds.pr.master");
  RecordTypeOf(p, mi, "/tmp/ds/sl", "ds.sl.shared", "ds.sl.master");
  RecordTypeOf(p, mi, "/tmp/dp/sh", "dp.sh.shared", "dp.sh.master");
  RecordTypeOf(p, mi, "/tmp/dp/pr", "dp.pr.shared", "dp.pr.master");
  RecordTypeOf(p, mi, "/tmp/dp/sl", "dp.sl.shared", "dp.sl.master");
}

NSC_CASE({
    .id = "mnt.bind_type_table",
    .title = "The type of a bind mount follows the source/destination table of mount_namespaces(7)",
    .source = {"mount_namespaces(7)", "Bind (MS_BIND) semantics"},
    .observe = "2x4 matrix of scratch tmpfs binds: under a shared destination a shared or private "
               "source gives shared, a slave source slave+shared; under a private destination the "
               "result is shared, private or slave like its source; an unbindable source is EINVAL",
    .control = "the shared destination is made private: binds under it copy the source's type, "
               "so the private and slave sources give no shared: tag "
               "(contradicts ds.pr.shared and ds.sl.shared)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("ds.sh.bind", Succeeds())),
                      Given(ExpectCall("ds.pr.bind", Succeeds())),
                      Given(ExpectCall("ds.sl.bind", Succeeds())),
                      Given(ExpectCall("dp.sh.bind", Succeeds())),
                      Given(ExpectCall("dp.pr.bind", Succeeds())),
                      Given(ExpectCall("dp.sl.bind", Succeeds()))},
    .expect = {ExpectCall("ds.ub.bind", FailsWith(EINVAL)),
               ExpectCall("dp.ub.bind", FailsWith(EINVAL)),
               Expect("ds.sh.shared", Eq(1)),
               Expect("ds.sh.master", Eq(0)),
               Expect("ds.pr.shared", Eq(1)),
               Expect("ds.pr.master", Eq(0)),
               Expect("ds.sl.shared", Eq(1)),
               Expect("ds.sl.master", Eq(1)),
               Expect("dp.sh.shared", Eq(1)),
               Expect("dp.sh.master", Eq(0)),
               Expect("dp.pr.shared", Eq(0)),
               Expect("dp.pr.master", Eq(0)),
               Expect("dp.sl.shared", Eq(0)),
               Expect("dp.sl.master", Eq(1))},
    .body = BindTypeTable,
});

// Flow: 1. tmpfs P at /tmp/P shared (control: private) with a tmpfs child P/c; MS_MOVE of P/c to
// /tmp/dst; 2. private tmpfs T at /tmp/T with an unbindable submount T/u, tmpfs SH at /tmp/SH
// shared (control: private); MS_MOVE of T to SH/t.
void MoveUnderSharedParentEinval(const Probe& p) {
  EnterScratch(p);
  const unsigned long shared = p.Pick(MS_SHARED, MS_PRIVATE);
  MakeTmpfs(p, "/tmp/P", shared);
  MakeTmpfs(p, "/tmp/P/c");
  MakeDir(p, "/tmp/dst");
  p.Call("move_child_of_shared", mount("/tmp/P/c", "/tmp/dst", nullptr, MS_MOVE, nullptr));

  MakeTmpfs(p, "/tmp/T", MS_PRIVATE);
  MakeTmpfs(p, "/tmp/T/u", MS_UNBINDABLE);
  MakeTmpfs(p, "/tmp/SH", shared);
  MakeDir(p, "/tmp/SH/t");
  p.Call("move_unbindable_tree_onto_shared",
         mount("/tmp/T", "/tmp/SH/t", nullptr, MS_MOVE, nullptr));
}

NSC_CASE({
    .id = "mnt.move_under_shared_parent_einval",
    .title = "MS_MOVE out of a shared parent, or of a tree with unbindable mounts onto a shared "
             "mount, fails with EINVAL",
    .source = {"mount_namespaces(7)", "Move (MS_MOVE) semantics"},
    .references = {"mount(2), ERRORS (EINVAL: MS_MOVE cases)"},
    .observe = "with a shared parent P and child P/c, mount(P/c, dst, NULL, MS_MOVE, NULL) returns "
               "EINVAL; moving a tree containing an unbindable mount under a shared mount returns "
               "EINVAL",
    .control = "P and the target mount are private: both moves succeed "
               "(contradicts move_child_of_shared and move_unbindable_tree_onto_shared)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .expect = {ExpectCall("move_child_of_shared", FailsWith(EINVAL)),
               ExpectCall("move_unbindable_tree_onto_shared", FailsWith(EINVAL))},
    .body = MoveUnderSharedParentEinval,
});

// Flow: 1. tmpfs M at /tmp/m; 2. mount(NULL, M, NULL, flags, NULL) with MS_SHARED|MS_PRIVATE
// and with MS_SHARED|MS_RDONLY; 3. the permitted extras MS_REC|MS_SILENT for comparison.
void PropagationFlagExclusiveEinval(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m");
  p.Call("shared_private",
         mount(nullptr, "/tmp/m", nullptr, p.Pick<unsigned long>(MS_SHARED | MS_PRIVATE, MS_SHARED), nullptr));
  p.Call("shared_rdonly",
         mount(nullptr, "/tmp/m", nullptr, p.Pick<unsigned long>(MS_SHARED | MS_RDONLY, MS_SHARED), nullptr));
  p.Call("private_rec_silent",
         mount(nullptr, "/tmp/m", nullptr, MS_PRIVATE | MS_REC | MS_SILENT, nullptr));
}

NSC_CASE({
    .id = "mnt.propagation_flag_exclusive_einval",
    .title = "A propagation change takes one type flag, plus only MS_REC/MS_SILENT, else EINVAL",
    .source = {"mount(2)", "ERRORS"},
    .observe = "mount(NULL, M, NULL, MS_SHARED|MS_PRIVATE, NULL) and MS_SHARED|MS_RDONLY return "
               "EINVAL; MS_PRIVATE|MS_REC|MS_SILENT succeeds",
    .control = "each call carries MS_SHARED alone: it succeeds "
               "(contradicts shared_private and shared_rdonly)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("private_rec_silent", Succeeds()))},
    .expect = {ExpectCall("shared_private", FailsWith(EINVAL)),
               ExpectCall("shared_rdonly", FailsWith(EINVAL))},
    .body = PropagationFlagExclusiveEinval,
});

// Flow: 1. namespace A: tmpfs SH at /tmp/sh shared (control: private) and PR at /tmp/pr private,
// a file in each; 2. B = clone(CLONE_NEWNS), parked: its copies of SH (a peer, so shared too) and
// PR (private) sit at the same paths; 3. so that the bind is not refused as a namespace loop, it
// is made in the namespace with the smaller ID (NS_GET_MNTNS_ID; creation order where the ioctl
// is missing) and binds the other one's link through /proc/self/fd/N: the body setns()es into B
// if B has the smaller ID; 4. bind the link onto the file in SH and onto the file in PR;
// 5. record the bind of the binder's own /proc/self/ns/mnt.
void BindMntnsLinkIntoSharedEinval(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/sh", p.Pick(MS_SHARED, MS_PRIVATE));
  MakeTmpfs(p, "/tmp/pr", MS_PRIVATE);
  MakeFile(p, "/tmp/sh/f");
  MakeFile(p, "/tmp/pr/f");
  MakeFile(p, "/tmp/pr/self");
  NamespaceB b(p, CLONE_NEWNS, [] {});
  UniqueFd ns_a = OpenFile("/proc/self/ns/mnt", O_RDONLY);
  const PathBuf b_link = ProcPath(b.pid(), "ns/mnt");
  UniqueFd ns_b = OpenFile(b_link.c_str(), O_RDONLY);
  if (!ns_a.valid() || !ns_b.valid()) p.SetupFailed("open of the /proc/PID/ns/mnt links");
  uint64_t id_a = 0, id_b = 0;
  const bool have_ids = ioctl(ns_a.get(), NS_GET_MNTNS_ID, &id_a) == 0 &&
                        ioctl(ns_b.get(), NS_GET_MNTNS_ID, &id_b) == 0;
  const bool bind_in_b = have_ids && id_b < id_a;
  p.Value("binder_is_second_ns", bind_in_b ? 1 : 0);
  if (bind_in_b) NSC_SETUP(p, setns(ns_b.get(), CLONE_NEWNS), "setns into B (the smaller ID)");
  PathBuf link("/proc/self/fd/");
  link.Add(bind_in_b ? ns_a.get() : ns_b.get());
  p.Call("bind_into_shared_parent", mount(link.c_str(), "/tmp/sh/f", nullptr, MS_BIND, nullptr));
  p.Call("bind_into_private_parent", mount(link.c_str(), "/tmp/pr/f", nullptr, MS_BIND, nullptr));
  p.Call("bind_own_link_into_private",
         mount("/proc/self/ns/mnt", "/tmp/pr/self", nullptr, MS_BIND, nullptr));
  umount2("/tmp/pr/f", MNT_DETACH);  // drop the references to the other namespace
  umount2("/tmp/sh/f", MNT_DETACH);
  b.Release();
}

NSC_CASE({
    .id = "mnt.bind_mntns_link_into_shared_einval",
    .title = "Binding a /proc/PID/ns/mnt link below a shared parent mount fails with EINVAL",
    .source = {"mount(2)", "ERRORS"},
    .references = {"mount_namespaces(7)", "namespaces(7), 'The /proc/[pid]/ns/ directory'",
                   "ioctl_nsfs(2), NS_GET_MNTNS_ID"},
    .observe = "mount(\"/proc/PID/ns/mnt\", shared_parent/file, NULL, MS_BIND, NULL) returns "
               "EINVAL; onto a file under a private parent the same call succeeds. The link is "
               "that of another mount namespace with a larger ID than the caller's (a link to the "
               "caller's own or an older namespace is refused as a loop whatever the parent: "
               "recorded)",
    .control = "the first parent is private too: the bind succeeds "
               "(contradicts bind_into_shared_parent)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("bind_into_private_parent", Succeeds()))},
    .expect = {ExpectCall("bind_into_shared_parent", FailsWith(EINVAL)),
               Record("bind_own_link_into_private"),
               Record("binder_is_second_ns")},
    .body = BindMntnsLinkIntoSharedEinval,
});

}  // namespace
}  // namespace nsc::cases
