// Mount namespaces: creation and isolation — the copied mount list, isolation of later mounts
// and unmounts, the per-namespace /proc/PID/mount* files, and unlinking a mount point that
// belongs to another namespace. Source: mount_namespaces(7), DESCRIPTION and 'Restrictions on
// mount namespaces'; proc_pid_mounts(5).
//
// Every body first enters a private mount namespace of its own with a scratch tmpfs on /tmp
// (mnt_util.h EnterScratch); controls never leave the namespaces the case created.
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt_util.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;
using namespace ::nsc::cases::mnt;

// True if the NUL-terminated `text` contains `needle`.
bool Contains(const char* text, const char* needle) {
  for (const char* s = text; *s != '\0'; ++s) {
    const char* a = s;
    const char* b = needle;
    while (*b != '\0' && *a == *b) {
      ++a;
      ++b;
    }
    if (*b == '\0') return true;
  }
  return false;
}

// 1 if the file at `path` contains `needle`, 0 if not; set-up failure if unreadable.
int64_t FileContains(const Probe& p, const char* path, const char* needle) {
  char buf[32 * 1024];
  if (ReadSmallFile(path, buf, sizeof buf) < 0) p.SetupFailed("reading a /proc/PID/mount* file");
  return Contains(buf, needle) ? 1 : 0;
}

// Flow: 1. enter a private mount namespace with the scratch tmpfs and one submount (so the list
// holds mounts this case made); 2. snapshot /proc/self/mountinfo; 3. unshare(CLONE_NEWNS);
// 4. snapshot again; 5. record the line counts, how many mount points do not occur equally often
// in both snapshots, and how many mount IDs of the new list also occur in the old one.
void CopyOnCreate(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/sub");
  Mountinfo before;
  before.LoadOrFail(p, kSelfMountinfo);
  if (!p.control()) NSC_SETUP(p, unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)");
  Mountinfo after;
  after.LoadOrFail(p, kSelfMountinfo);

  int64_t mountpoints_differing = 0;
  before.ForEach([&](const MountLine& l) {
    if (before.CountSpan(l.mountpoint, l.mountpoint_len) !=
        after.CountSpan(l.mountpoint, l.mountpoint_len)) {
      ++mountpoints_differing;
    }
  });
  int64_t ids_reused = 0;
  after.ForEach([&](const MountLine& l) {
    if (before.HasId(l.id)) ++ids_reused;
  });
  p.Value("before.mounts", before.Lines());
  p.Value("after.mounts", after.Lines());
  p.Value("mount_points_differing", mountpoints_differing);
  p.Value("after.ids_also_in_before", ids_reused);

  // Record list item 28: the mount-max limit is recorded, never exercised.
  char limit[32];
  if (ReadSmallFile("/proc/sys/fs/mount-max", limit, sizeof limit) > 0) {
    int64_t v = 0;
    for (const char* s = limit; *s >= '0' && *s <= '9'; ++s) v = v * 10 + (*s - '0');
    p.Value("fs.mount_max", v);
  }
}

NSC_CASE({
    .id = "mnt.copy_on_create",
    .title = "A new mount namespace starts with a copy of the creator's mount list, with new IDs",
    .source = {"mount_namespaces(7)", "DESCRIPTION"},
    .references = {"unshare(2), CLONE_NEWNS", "proc_pid_mountinfo(5)"},
    .observe = "mountinfo before and after unshare(CLONE_NEWNS): the same multiset of mount points "
               "(field 5), and none of the mount IDs (field 1) of the new list occurs in the old one",
    .control = "no unshare: the second snapshot is of the same namespace, so every mount ID recurs "
               "(contradicts after.ids_also_in_before)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(Expect("before.mounts", Gt(1)))},
    .expect = {ExpectSameValue("after.mounts", "before.mounts"),
               Expect("mount_points_differing", Eq(0)),
               Expect("after.ids_also_in_before", Eq(0)),
               Record("fs.mount_max")},
    .body = CopyOnCreate,
});

// Flow: 1. private namespace A with the scratch tmpfs and a tmpfs at /tmp/pre; 2. a child
// unshare(CLONE_NEWNS)s (B), makes / recursively private, mounts a tmpfs at /tmp/iso and
// unmounts its copy of /tmp/pre; 3. while the child stays in B, the body (still in A) counts
// /tmp/iso and /tmp/pre in its own mountinfo.
void IsolatedWhenPrivate(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/pre");
  MakeDir(p, "/tmp/iso");
  TwoWay chan;
  if (!chan.ok()) p.SetupFailed("pipe2 for barriers");
  ChildProcess child = Spawn(0, [&] {
    chan.BecomeChild();
    if (!p.control()) NSC_SETUP(p, unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS) in the child");
    p.Call("child.make_private", mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr));
    p.Call("child.mount", mount("nsc", "/tmp/iso", "tmpfs", 0, nullptr));
    p.Call("child.umount_pre", umount2("/tmp/pre", 0));
    p.Value("child.sees_own_mount", MountsAt(p, kSelfMountinfo, "/tmp/iso"));
    chan.ToParent();
    chan.FromParent();  // stay in the namespace while the body looks
    return 0;
  });
  StartedHelper(p, child, chan);
  if (!chan.FromChild()) HelperGone(p, child);
  p.Value("parent.sees_child_mount", MountsAt(p, kSelfMountinfo, "/tmp/iso"));
  p.Value("parent.still_has_pre", MountsAt(p, kSelfMountinfo, "/tmp/pre"));
  chan.ToChild();
  child.Wait();
}

NSC_CASE({
    .id = "mnt.isolated_when_private",
    .title = "With private mounts, mount() and umount() in one mount namespace do not affect another",
    .source = {"mount_namespaces(7)", "DESCRIPTION"},
    .observe = "a child in a new mount namespace makes / recursively private, mounts a tmpfs and "
               "unmounts an inherited one: the parent's mountinfo does not list the new mount and "
               "still lists the one the child removed",
    .control = "the child does not create a mount namespace (it shares the case's private one), so "
               "the parent sees the child's mount and loses the unmounted one "
               "(contradicts parent.sees_child_mount and parent.still_has_pre)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("child.make_private", Succeeds())),
                      Given(ExpectCall("child.mount", Succeeds())),
                      Given(ExpectCall("child.umount_pre", Succeeds())),
                      Given(Expect("child.sees_own_mount", Eq(1)))},
    .expect = {Expect("parent.sees_child_mount", Eq(0)),
               Expect("parent.still_has_pre", Eq(1))},
    .body = IsolatedWhenPrivate,
});

// Flow: 1. private namespace A with the scratch tmpfs; 2. child C is cloned with CLONE_NEWNS
// and forks a sibling process C2 that stays in C's namespace; 3. C mounts a tmpfs at /tmp/c and
// reports C2's PID; 4. the body, from A, reads /proc/C/{mountinfo,mounts,mountstats},
// /proc/C2/mountinfo and /proc/self/mountinfo and records which list /tmp/c.
void ProcMountFilesPerNs(const Probe& p) {
  EnterScratch(p);
  MakeDir(p, "/tmp/c");
  TwoWay chan;
  Barrier c2_pid;
  if (!chan.ok() || !c2_pid.ok()) p.SetupFailed("pipe2 for barriers");
  ChildProcess child = Spawn(p.Flags(CLONE_NEWNS, CLONE_NEWNS), [&] {
    chan.BecomeChild();
    Barrier never;
    ChildProcess sibling = Spawn(0, [&] {
      chan.CloseAll();
      never.CloseWriteEnd();
      never.Wait();  // parked until C kills it
      return 0;
    });
    if (!sibling.ok()) p.SetupFailed("fork of a second process in the child's namespace");
    NSC_SETUP(p, mount("nsc", "/tmp/c", "tmpfs", 0, nullptr), "mount of a tmpfs at /tmp/c");
    c2_pid.Send(sibling.pid());
    chan.ToParent();
    chan.FromParent();
    return 0;
  });
  StartedHelper(p, child, chan);
  if (!chan.FromChild()) HelperGone(p, child);
  int64_t sibling_pid = 0;
  if (!c2_pid.Receive(&sibling_pid)) p.SetupFailed("receiving the PID of the second process");

  const PathBuf c_mounts = ProcPath(child.pid(), "mounts");
  const PathBuf c_mountstats = ProcPath(child.pid(), "mountstats");
  p.Value("outside.child_mountinfo_lists",
          MountsAt(p, MountinfoOf(child.pid()).c_str(), "/tmp/c"));
  p.Value("outside.child_mounts_lists", FileContains(p, c_mounts.c_str(), " /tmp/c tmpfs "));
  p.Value("outside.child_mountstats_lists",
          FileContains(p, c_mountstats.c_str(), " mounted on /tmp/c with "));
  p.Value("outside.sibling_mountinfo_lists",
          MountsAt(p, MountinfoOf(static_cast<pid_t>(sibling_pid)).c_str(), "/tmp/c"));
  p.Value("outside.self_mountinfo_lists", MountsAt(p, kSelfMountinfo, "/tmp/c"));
  chan.ToChild();
  child.Wait();
}

NSC_CASE({
    .id = "mnt.proc_mount_files_per_ns",
    .title = "/proc/PID/mounts, mountinfo and mountstats describe the mount namespace of PID",
    .source = {"mount_namespaces(7)", "DESCRIPTION"},
    .references = {"proc_pid_mounts(5)", "proc_pid_mountinfo(5)", "proc_pid_mountstats(5)"},
    .observe = "child C mounts a tmpfs privately in its own mount namespace: /proc/C/mountinfo, "
               "/proc/C/mounts and /proc/C/mountstats read from outside list it, so does the "
               "mountinfo of another process in C's namespace; /proc/self/mountinfo outside does not",
    .control = "C is cloned without CLONE_NEWNS (it shares the case's private namespace): the "
               "reader's own mountinfo lists the mount too "
               "(contradicts outside.self_mountinfo_lists)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 26}},
    .expect = {Expect("outside.child_mountinfo_lists", Eq(1)),
               Expect("outside.child_mounts_lists", Eq(1)),
               Expect("outside.child_mountstats_lists", Eq(1)),
               Expect("outside.sibling_mountinfo_lists", Eq(1)),
               Expect("outside.self_mountinfo_lists", Eq(0))},
    .body = ProcMountFilesPerNs,
});

// Flow: 1. private namespace A with the scratch tmpfs: directory /tmp/d, files /tmp/f and
// /tmp/g, and a replacement file /tmp/g.new; 2. child B (clone CLONE_NEWNS) mounts a tmpfs on
// /tmp/d and bind-mounts a file on /tmp/f and /tmp/g; 3. from A, where none of them is a mount
// point, the body calls rmdir(/tmp/d), unlink(/tmp/f) and rename(/tmp/g.new, /tmp/g);
// 4. the body counts those mount points in /proc/B/mountinfo.
void UnlinkForeignMountpoint(const Probe& p) {
  EnterScratch(p);
  MakeDir(p, "/tmp/d");
  MakeFile(p, "/tmp/f");
  MakeFile(p, "/tmp/g");
  MakeFile(p, "/tmp/g.new");
  MakeFile(p, "/tmp/src");
  TwoWay chan;
  if (!chan.ok()) p.SetupFailed("pipe2 for barriers");
  ChildProcess child = Spawn(p.Flags(CLONE_NEWNS, CLONE_NEWNS), [&] {
    chan.BecomeChild();
    NSC_SETUP(p, mount("nsc", "/tmp/d", "tmpfs", 0, nullptr), "mount of a tmpfs on /tmp/d");
    NSC_SETUP(p, mount("/tmp/src", "/tmp/f", nullptr, MS_BIND, nullptr), "bind mount on /tmp/f");
    NSC_SETUP(p, mount("/tmp/src", "/tmp/g", nullptr, MS_BIND, nullptr), "bind mount on /tmp/g");
    chan.ToParent();
    chan.FromParent();
    return 0;
  });
  StartedHelper(p, child, chan);
  if (!chan.FromChild()) HelperGone(p, child);
  const PathBuf b_mountinfo = MountinfoOf(child.pid());
  p.Value("b.mounts_before", MountsAt(p, b_mountinfo.c_str(), "/tmp/d") +
                                 MountsAt(p, b_mountinfo.c_str(), "/tmp/f") +
                                 MountsAt(p, b_mountinfo.c_str(), "/tmp/g"));
  p.Call("a.rmdir", rmdir("/tmp/d"));
  p.Call("a.unlink", unlink("/tmp/f"));
  p.Call("a.rename_over", rename("/tmp/g.new", "/tmp/g"));
  p.Value("b.mounts_at_d", MountsAt(p, b_mountinfo.c_str(), "/tmp/d"));
  p.Value("b.mounts_at_f", MountsAt(p, b_mountinfo.c_str(), "/tmp/f"));
  p.Value("b.mounts_at_g", MountsAt(p, b_mountinfo.c_str(), "/tmp/g"));
  chan.ToChild();
  child.Wait();
}

NSC_CASE({
    .id = "mnt.unlink_foreign_mountpoint",
    .title = "A mount point of another mount namespace can be removed here; its mount goes away",
    .source = {"mount_namespaces(7)", "Restrictions on mount namespaces [6]"},
    .references = {"rules.md record list item 21 (EBUSY before Linux 3.18)"},
    .observe = "namespace B mounts on directory D and bind-mounts on files F and G; from namespace "
               "A, where they are not mount points, rmdir(D), unlink(F) and rename(new, G) return 0 "
               "and the three mounts vanish from B's mountinfo",
    .control = "the mounts are made in the case's own namespace (no CLONE_NEWNS), so the paths are "
               "local mount points: the calls fail with EBUSY and the mounts stay "
               "(contradicts a.rmdir, a.unlink, a.rename_over and b.mounts_at_*)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {3, 18}},
    .preconditions = {Given(Expect("b.mounts_before", Eq(3)))},
    .expect = {ExpectCall("a.rmdir", Succeeds()),
               ExpectCall("a.unlink", Succeeds()),
               ExpectCall("a.rename_over", Succeeds()),
               Expect("b.mounts_at_d", Eq(0)),
               Expect("b.mounts_at_f", Eq(0)),
               Expect("b.mounts_at_g", Eq(0))},
    .body = UnlinkForeignMountpoint,
});

}  // namespace
}  // namespace nsc::cases
