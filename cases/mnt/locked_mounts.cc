// Mount namespaces: locked mounts — what a less privileged mount namespace (one owned by a
// different user namespace than the namespace it was copied from) may not do with the mounts it
// inherited. Source: mount_namespaces(7), 'Restrictions on mount namespaces' [3]-[5];
// mount(2) and umount(2), ERRORS.
//
// Two user-namespace levels: the body (real root, or already root of a user namespace) sets up
// mounts in its private mount namespace A; an inner child then calls
// unshare(CLONE_NEWUSER|CLONE_NEWNS), which makes its copy of A less privileged. Every control
// creates the inner mount namespace without the new user namespace (same owner: nothing is
// locked), inside the case's own tree.
#include <sys/mount.h>
#include <unistd.h>

#include "mnt_util.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using namespace ::nsc::cases::mnt;

// Runs `fn` in a child that first enters the inner mount namespace: less privileged in the
// rule, same owner in the control. Returns after the child has exited.
void InInnerNamespace(const Probe& p, FunctionRef<void()> fn) {
  ChildProcess child = Spawn(0, [&] {
    EnterInnerMountNamespace(p, !p.control());
    fn();
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork of the inner process");
  const int status = child.Wait();
  if (status == -1 || !ExitedWith(status, 0)) _exit(0);  // it recorded a skip or a set-up error
}

// Flow: 1. namespace A: tmpfs M at /tmp/m with a tmpfs submount M/sub; 2. inner child:
// unshare(CLONE_NEWUSER|CLONE_NEWNS), umount2(M/sub, 0); 3. it counts M/sub.
void LockedMountUmountEinval(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m");
  MakeTmpfs(p, "/tmp/m/sub");
  InInnerNamespace(p, [&] {
    p.Call("inner.umount_sub", umount2("/tmp/m/sub", 0));
    p.Value("inner.mounts_at_sub", MountsAt(p, kSelfMountinfo, "/tmp/m/sub"));
  });
}

NSC_CASE({
    .id = "mnt.locked_mount_umount_einval",
    .title = "Mounts that arrived as one unit in a less privileged namespace cannot be unmounted "
             "alone: EINVAL",
    .source = {"mount_namespaces(7)", "Restrictions on mount namespaces [3]"},
    .references = {"umount(2), ERRORS"},
    .observe = "outer namespace: tmpfs M with submount M/sub; after "
               "unshare(CLONE_NEWUSER|CLONE_NEWNS), umount2(\"M/sub\", 0) returns EINVAL and M/sub "
               "stays mounted",
    .control = "the inner mount namespace is created without a new user namespace (same owner, "
               "nothing locked): the umount succeeds "
               "(contradicts inner.umount_sub and inner.mounts_at_sub)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS | CLONE_NEWUSER,
              .min_kernel = {3, 8}},
    .expect = {ExpectCall("inner.umount_sub", FailsWith(EINVAL)),
               Expect("inner.mounts_at_sub", Eq(1))},
    .body = LockedMountUmountEinval,
});

// Flow: 1. namespace A: tmpfs M at /tmp/m with a tmpfs submount M/sub; 2. inner child: mounts a
// tmpfs on top of M/sub, counts, unmounts it, counts again; 3. it tries to unmount what is left
// (the inherited, locked M/sub).
void LockedMountStackable(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m");
  MakeTmpfs(p, "/tmp/m/sub");
  InInnerNamespace(p, [&] {
    p.Call("inner.mount_on_top", mount("nsc", "/tmp/m/sub", "tmpfs", 0, nullptr));
    p.Value("inner.mounts_at_sub_stacked", MountsAt(p, kSelfMountinfo, "/tmp/m/sub"));
    p.Call("inner.umount_top", umount2("/tmp/m/sub", 0));
    p.Value("inner.mounts_at_sub_after", MountsAt(p, kSelfMountinfo, "/tmp/m/sub"));
    p.Call("inner.umount_inherited", umount2("/tmp/m/sub", 0));
  });
}

NSC_CASE({
    .id = "mnt.locked_mount_stackable",
    .title = "A less privileged namespace may stack a mount on a locked mount and unstack it again",
    .source = {"mount_namespaces(7)", "Restrictions on mount namespaces [3]"},
    .references = {"rules.md record list item 29 (tmpfs in a user namespace, Linux 3.9)"},
    .observe = "inner namespace: mount tmpfs on the locked M/sub returns 0 (two mounts there), "
               "umount2(M/sub) returns 0 and removes only the new mount: the inherited one stays, "
               "still locked (a second umount2 returns EINVAL)",
    .control = "the inner mount namespace has the same owner: the inherited M/sub is not locked, "
               "so the second umount2 succeeds "
               "(contradicts inner.umount_inherited; stacking is allowed either way)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS | CLONE_NEWUSER,
              .min_kernel = {3, 9}},
    .expect = {ExpectCall("inner.mount_on_top", Succeeds()),
               Expect("inner.mounts_at_sub_stacked", Eq(2)),
               ExpectCall("inner.umount_top", Succeeds()),
               Expect("inner.mounts_at_sub_after", Eq(1)),
               ExpectCall("inner.umount_inherited", FailsWith(EINVAL))},
    .body = LockedMountStackable,
});

// Flow (the page's recipe, on scratch tmpfs): 1. ns1 (the body's namespace A): tmpfs M at /tmp/m
// made shared, private tmpfs M/x and M/x/y; 2. ns2: an inner child enters
// unshare(CLONE_NEWUSER|CLONE_NEWNS) (its M is a slave) and waits; 3. ns1 recursively binds M/x
// at M/ppp and makes M/ppp private; the subtree propagates into ns2 as one unit; 4. in ns2:
// umount2(M/ppp/y, 0), then umount2(M/ppp, MNT_DETACH), counting the mounts before and after.
void LockedSubtreeWholeUmountOk(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", MS_SHARED);
  MakeTmpfs(p, "/tmp/m/x", MS_PRIVATE);
  MakeTmpfs(p, "/tmp/m/x/y", MS_PRIVATE);
  MakeDir(p, "/tmp/m/ppp");
  TwoWay chan;
  if (!chan.ok()) p.SetupFailed("pipe2 for barriers");
  ChildProcess child = Spawn(0, [&] {
    chan.BecomeChild();
    EnterInnerMountNamespace(p, !p.control());
    chan.ToParent();
    if (!chan.FromParent()) return 1;
    p.Value("ns2.mounts_at_ppp", MountsAt(p, kSelfMountinfo, "/tmp/m/ppp"));
    p.Value("ns2.mounts_at_ppp_y", MountsAt(p, kSelfMountinfo, "/tmp/m/ppp/y"));
    p.Call("ns2.umount_part", umount2("/tmp/m/ppp/y", 0));
    p.Call("ns2.umount_whole_detach", umount2("/tmp/m/ppp", MNT_DETACH));
    p.Value("ns2.mounts_at_ppp_after", MountsAt(p, kSelfMountinfo, "/tmp/m/ppp"));
    p.Value("ns2.mounts_at_ppp_y_after", MountsAt(p, kSelfMountinfo, "/tmp/m/ppp/y"));
    return 0;
  });
  StartedHelper(p, child, chan);
  if (!chan.FromChild()) HelperGone(p, child);
  NSC_SETUP(p, mount("/tmp/m/x", "/tmp/m/ppp", nullptr, MS_BIND | MS_REC, nullptr),
            "recursive bind of M/x at M/ppp in ns1");
  SetPropagation(p, "/tmp/m/ppp", MS_PRIVATE);
  chan.ToChild();
  child.Wait();
}

NSC_CASE({
    .id = "mnt.locked_subtree_whole_umount_ok",
    .title = "A subtree that propagated as a unit can be detached as a whole, not in parts",
    .source = {"mount_namespaces(7)", "Restrictions on mount namespaces [4]"},
    .observe = "the page's recipe: ns1 has shared M and private M/x, M/x/y; ns2 (nested user and "
               "mount namespaces) is created; ns1 does an rbind of M/x at M/ppp, which reaches ns2; "
               "in ns2 umount2(M/ppp/y) returns EINVAL and umount2(M/ppp, MNT_DETACH) returns 0 "
               "and removes both",
    .control = "ns2 is created without a new user namespace (same owner): M/ppp/y is not locked "
               "and unmounts on its own "
               "(contradicts ns2.umount_part)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS | CLONE_NEWUSER,
              .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("ns2.mounts_at_ppp", Eq(1))),
                      Given(Expect("ns2.mounts_at_ppp_y", Eq(1)))},
    .expect = {ExpectCall("ns2.umount_part", FailsWith(EINVAL)),
               ExpectCall("ns2.umount_whole_detach", Succeeds()),
               Expect("ns2.mounts_at_ppp_after", Eq(0)),
               Expect("ns2.mounts_at_ppp_y_after", Eq(0))},
    .body = LockedSubtreeWholeUmountOk,
});

// Flow: 1. namespace A: tmpfs mounts made read-only (a read-only bind remount), nosuid, noexec
// and noatime; 2. inner child: MS_REMOUNT|MS_BIND of each without that flag (for noatime: with
// MS_RELATIME); 3. a remount that keeps the read-only flag, for comparison.
void LockedFlagsRemountEperm(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/ro");
  NSC_SETUP(p, mount(nullptr, "/tmp/ro", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
            "read-only bind remount of a scratch tmpfs");
  MakeDir(p, "/tmp/nosuid");
  NSC_SETUP(p, mount("nsc", "/tmp/nosuid", "tmpfs", MS_NOSUID, nullptr), "nosuid tmpfs");
  MakeDir(p, "/tmp/noexec");
  NSC_SETUP(p, mount("nsc", "/tmp/noexec", "tmpfs", MS_NOEXEC, nullptr), "noexec tmpfs");
  MakeDir(p, "/tmp/noatime");
  NSC_SETUP(p, mount("nsc", "/tmp/noatime", "tmpfs", MS_NOATIME, nullptr), "noatime tmpfs");
  InInnerNamespace(p, [&] {
    p.Call("inner.remount_rw", mount(nullptr, "/tmp/ro", nullptr, MS_REMOUNT | MS_BIND, nullptr));
    p.Call("inner.remount_suid",
           mount(nullptr, "/tmp/nosuid", nullptr, MS_REMOUNT | MS_BIND, nullptr));
    p.Call("inner.remount_exec",
           mount(nullptr, "/tmp/noexec", nullptr, MS_REMOUNT | MS_BIND, nullptr));
    // An explicit atime flag: a remount without one keeps the mount's atime setting.
    p.Call("inner.remount_relatime",
           mount(nullptr, "/tmp/noatime", nullptr, MS_REMOUNT | MS_BIND | MS_RELATIME, nullptr));
    p.Call("inner.remount_keep_ro",
           mount(nullptr, "/tmp/ro", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr));
  });
}

NSC_CASE({
    .id = "mnt.locked_flags_remount_eperm",
    .title = "RDONLY, NOSUID, NOEXEC and atime flags are locked in a less privileged namespace: "
             "EPERM",
    .source = {"mount_namespaces(7)", "Restrictions on mount namespaces [5]"},
    .references = {"mount(2), ERRORS (EPERM)", "kernel commit 9566d6742852 (2014)"},
    .observe = "outer namespace: read-only bind R, nosuid, noexec and noatime tmpfs mounts; inner "
               "(user+mount) namespace: mount(NULL, R, NULL, MS_REMOUNT|MS_BIND, NULL) clearing "
               "RDONLY returns EPERM, likewise clearing NOSUID or NOEXEC and switching NOATIME to "
               "MS_RELATIME (without an atime flag a remount keeps the atime setting); a remount "
               "that keeps RDONLY succeeds",
    .control = "the inner mount namespace has the same owner: nothing is locked and every remount "
               "succeeds "
               "(contradicts the four inner.remount_* keys that clear a flag)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS | CLONE_NEWUSER,
              .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("inner.remount_keep_ro", Succeeds()))},
    .expect = {ExpectCall("inner.remount_rw", FailsWith(EPERM)),
               ExpectCall("inner.remount_suid", FailsWith(EPERM)),
               ExpectCall("inner.remount_exec", FailsWith(EPERM)),
               ExpectCall("inner.remount_relatime", FailsWith(EPERM))},
    .body = LockedFlagsRemountEperm,
});

// Flow: 1. namespace A: tmpfs M at /tmp/m with a tmpfs submount M/sub; 2. inner child:
// mount(M, /tmp/dst, MS_BIND) and mount(M, /tmp/rdst, MS_BIND|MS_REC).
void NonrecursiveBindLockedEinval(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m");
  MakeTmpfs(p, "/tmp/m/sub");
  MakeDir(p, "/tmp/dst");
  MakeDir(p, "/tmp/rdst");
  InInnerNamespace(p, [&] {
    p.Call("inner.bind", mount("/tmp/m", "/tmp/dst", nullptr, MS_BIND, nullptr));
    p.Call("inner.rbind", mount("/tmp/m", "/tmp/rdst", nullptr, MS_BIND | MS_REC, nullptr));
  });
}

NSC_CASE({
    .id = "mnt.nonrecursive_bind_locked_einval",
    .title = "In an unprivileged mount namespace a bind without MS_REC that would expose what lies "
             "under locked submounts fails with EINVAL",
    .source = {"mount(2)", "ERRORS"},
    .references = {"mount_namespaces(7), 'Restrictions on mount namespaces' [3]"},
    .observe = "inner namespace: mount(M, dst, NULL, MS_BIND, NULL), where M has a locked submount, "
               "returns EINVAL; MS_BIND|MS_REC succeeds",
    .control = "the inner mount namespace has the same owner: M/sub is not locked and the "
               "non-recursive bind succeeds "
               "(contradicts inner.bind)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS | CLONE_NEWUSER,
              .min_kernel = {3, 8}},
    .expect = {ExpectCall("inner.bind", FailsWith(EINVAL)),
               ExpectCall("inner.rbind", Succeeds())},
    .body = NonrecursiveBindLockedEinval,
});

}  // namespace
}  // namespace nsc::cases
