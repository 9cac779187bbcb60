// Cgroup namespaces and mounts: the root a cgroup mount shows in mountinfo, and who may mount
// cgroupfs. Source: cgroup_namespaces(7), DESCRIPTION (example); user_namespaces(7), 'Effect of
// capabilities within a user namespace'.
//
// Touching the host: cgroup2 is mounted only inside a private mount namespace AND only by a
// process that is in a cgroup namespace the case created (or in a user namespace without any
// capability over the host's cgroup namespace). A cgroup2 mount made from the initial cgroup
// namespace would re-apply its (empty) mount options to the whole hierarchy, clearing flags such
// as nsdelegate on the host; that is never done. Both rules need the unified hierarchy to be
// visible already (a "0::" line): the first cgroup2 mount anywhere makes it visible system-wide.
// A child cgroup, where needed, is created under the case's own, and removed before the end.
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstring>

#include "../common/requires_cap_sys_admin.h"
#include "cgroup_util.h"
#include "nsconform/case.h"

namespace nsc::cases::cgroup {
namespace {

using ::testing::Eq;
using ::testing::StartsWith;

// The root field of the first (first == true) or last mountinfo entry mounted on `mountpoint`.
void MountRootAt(const char* mountpoint, bool first, char* root, size_t cap) {
  CopyString(root, cap, "(no such mount)", 15);
  ForEachMount([&](const MountEntry& e) {
    if (std::strcmp(e.mountpoint, mountpoint) != 0) return false;
    CopyString(root, cap, e.root, std::strlen(e.root));
    return first;
  });
}

// True if /proc/self/cgroup has the unified hierarchy's "0::" line.
bool UnifiedHierarchyVisible() {
  char text[4096];
  if (ReadSmallFile("/proc/self/cgroup", text, sizeof text) < 0) return false;
  char path[256];
  return CgroupLinePath(text, "0::", path, sizeof path);
}

// The fresh cgroup2 mount goes to a scratch directory: mounting the same superblock again on
// the mount point where it is already on top fails with EBUSY, and an inherited mount cannot
// always be unmounted (it is locked when the mount namespace belongs to a user namespace).
constexpr char kFreshMount[] = "/tmp/cg2";

// Flow:
//  1. Skip unless the unified hierarchy is mounted (reachable as the mount of a "0::" line).
//     The body creates child cgroup X in it under its own cgroup; if it cannot and its own v2
//     cgroup is the root, skip (nothing would show an ancestor path).
//  2. U is moved into X, enters a new cgroup namespace together with a private mount
//     namespace, and records field 4 of the inherited cgroup2 mount: "/.." or deeper.
//     Control: U enters only the private mount namespace (no new cgroup namespace): the field
//     reads "/". It then enters a new cgroup namespace, so that its fresh mount below is made
//     from one all the same.
//  3. U mounts cgroup2 afresh on a scratch directory (in its private mount namespace) and
//     records field 4 of that new mount: "/".
//  4. The body moves U back, lets it exit and removes X.
void MountinfoRootUntilRemount(const Probe& p) {
  Hierarchy v2;
  if (!FindV2Hierarchy(&v2)) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "the unified (v2) cgroup hierarchy is not mounted on this host");
  }
  Barrier moved, looked, release;
  if (!moved.ok() || !looked.ok() || !release.ok()) p.SetupFailed("pipes for the barriers");
  const NsFileId start_cgroup_ns = NsFileIdOf("/proc/self/ns/cgroup");
  CaseCgroup cg;
  const PathBuf name = CaseCgroupName("mi");
  const bool made = cg.Create(name.c_str(), true) == 0;
  if (!made && std::strcmp(v2.own_path, "/") == 0) {
    PathBuf why("in the v2 root cgroup and cannot create a child cgroup (mkdir: ");
    why.Add(strerrorname_np(errno)).Add(")");
    p.Skip(ReasonCode::kPreconditionUnmet, why.c_str());
  }
  ChildProcess u = Spawn(0, [&] {
    moved.CloseWriteEnd();
    looked.CloseReadEnd();
    release.CloseWriteEnd();
    if (!moved.Wait()) return 1;
    SetupStep(p, EnterPrivateMountNamespace(p.Flags(CLONE_NEWCGROUP, CLONE_NEWCGROUP)),
              "unshare(CLONE_NEWNS|CLONE_NEWCGROUP) and MS_PRIVATE on /");
    char root[256];
    MountRootAt(v2.mountpoint, true, root, sizeof root);
    p.Text("inherited.root", root);
    if (p.control()) SetupStep(p, unshare(CLONE_NEWCGROUP), "control: unshare(CLONE_NEWCGROUP)");
    if (!InOtherNamespace("/proc/self/ns/cgroup", start_cgroup_ns)) {
      p.SetupFailed("still in the body's cgroup namespace; refusing to mount cgroup2 there");
    }
    NSC_SETUP(p, mount("nsc-scratch", "/tmp", "tmpfs", 0, "mode=0755,size=1m"),
              "mounting a scratch tmpfs on /tmp in the private mount namespace");
    NSC_SETUP(p, mkdir(kFreshMount, 0755), "mkdir /tmp/cg2 on the scratch tmpfs");
    OperationCall(p, "remount", mount("none", kFreshMount, "cgroup2", 0, nullptr));
    MountRootAt(kFreshMount, false, root, sizeof root);
    p.Text("remounted.root", root);
    looked.Signal();
    release.Wait();
    return 0;
  });
  moved.CloseReadEnd();
  looked.CloseWriteEnd();
  release.CloseReadEnd();
  p.Text("setup.case_cgroup", made ? cg.dir() : "(none: the caller's own v2 cgroup is not the root)");
  const bool placed = u.ok() && (!made || cg.Move(u.pid()) == 0);
  if (placed) moved.Signal();
  moved.CloseWriteEnd();
  looked.Wait();
  if (made && u.ok()) cg.MoveBack(u.pid());
  release.CloseWriteEnd();
  u.Wait();
  RemoveOrFail(p, cg);
  if (!placed) p.SetupFailed("moving the case process into its child cgroup");
}

NSC_CASE({
    .id = "cgroup.mountinfo_root_until_remount",
    .title = "An inherited cgroup mount shows an ancestor root in mountinfo until remounted "
             "from inside the namespace",
    .source = {"cgroup_namespaces(7)", "DESCRIPTION"},
    .references = {"proc_pid_mountinfo(5)"},
    .observe = "in a new cgroup+mount namespace rooted at a case child cgroup, field 4 of the "
               "inherited cgroup2 mount starts with \"/..\"; cgroup2 mounted again from inside "
               "the namespace (on a scratch directory) shows \"/\" in field 4",
    .control = "no new cgroup namespace when mountinfo is read: the inherited mount's root "
               "reads \"/\", not an ancestor path (contradicts inherited.root)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWCGROUP | CLONE_NEWNS,
              .min_kernel = {4, 6}},
    .expect = {ExpectText("inherited.root", StartsWith("/..")),
               ExpectCall("remount", Succeeds()),
               ExpectText("remounted.root", "/"), Record("setup.case_cgroup")},
    .body = MountinfoRootUntilRemount,
});

// Flow:
//  1. Skip unless the unified hierarchy is already visible (a "0::" line).
//  2. C enters a new user namespace together with a new mount namespace and a new cgroup
//     namespace (owned by the new user namespace), makes its mounts private and mounts a
//     scratch tmpfs on /tmp.
//     Control: no new cgroup namespace: C's cgroup namespace is still owned by an ancestor
//     user namespace, over which C has no capability.
//  3. C mounts cgroup2 on /tmp/cg2 and the host's named v1 hierarchy ("none,name=...") on
//     /tmp/cg1. Without a named v1 hierarchy the case SKIPs: making one would create a new
//     hierarchy system-wide, visible in every process's /proc/PID/cgroup (never done).
void UsernsCanMountCgroup2(const Probe& p) {
  if (!UnifiedHierarchyVisible()) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "the unified (v2) cgroup hierarchy is not in use on this host; a cgroup2 mount "
           "would make it visible system-wide");
  }
  char named[96] = {};
  ForEachHierarchy([&](const Hierarchy& h) {
    if (h.v2 || !HasPrefix(h.controllers, "name=")) return false;
    CopyString(named, sizeof named, h.controllers, std::strlen(h.controllers));
    return true;
  });
  if (named[0] == '\0') {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "no named v1 cgroup hierarchy (name=...) on this host: the rule's named-v1 half "
           "cannot be observed without creating a hierarchy system-wide");
  }
  const NsFileId start_user_ns = NsFileIdOf("/proc/self/ns/user");
  ChildProcess c = Spawn(0, [&] {
    SetupStep(p, EnterUserNamespace(CLONE_NEWNS | p.Flags(CLONE_NEWCGROUP, CLONE_NEWCGROUP)),
              "unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWCGROUP) and id maps");
    if (!InOtherNamespace("/proc/self/ns/user", start_user_ns)) {
      p.SetupFailed("not in a new user namespace; refusing to mount cgroupfs");
    }
    NSC_SETUP(p, mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr),
              "making every mount private");
    NSC_SETUP(p, mount("nsc-scratch", "/tmp", "tmpfs", 0, "mode=0755,size=1m"),
              "mounting a scratch tmpfs on /tmp in the private mount namespace");
    NSC_SETUP(p, mkdir("/tmp/cg2", 0755), "mkdir /tmp/cg2");
    NSC_SETUP(p, mkdir("/tmp/cg1", 0755), "mkdir /tmp/cg1");
    OperationCall(p, "cgroup2.mount", mount("none", "/tmp/cg2", "cgroup2", 0, nullptr));
    PathBuf options("none,");
    options.Add(named);
    p.Text("v1_named.hierarchy", named);
    OperationCall(p, "v1_named.mount", mount("none", "/tmp/cg1", "cgroup", 0, options.c_str()));
    return 0;
  });
  p.Call("clone", c.pid());
  c.Wait();
}

NSC_CASE({
    .id = "cgroup.userns_can_mount_cgroup2",
    .title = "CAP_SYS_ADMIN over the cgroup namespace's owning user namespace suffices to mount "
             "cgroup2 (and named v1 hierarchies)",
    .source = {"user_namespaces(7)", "Effect of capabilities within a user namespace"},
    .references = {"cgroup_namespaces(7)", "mount(2)"},
    .observe = "in a new user+mount+cgroup namespace, mount(\"none\", dir, \"cgroup2\", 0, NULL) "
               "returns 0, and so does mounting the host's named v1 hierarchy with "
               "\"none,name=...\" (skipped where the host has no named v1 hierarchy)",
    .control = "no new cgroup namespace: the caller's cgroup namespace belongs to an ancestor "
               "user namespace and both mounts fail with EPERM (contradicts cgroup2.mount and "
               "v1_named.mount)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP,
              .min_kernel = {4, 6}},
    .preconditions = {Given(ExpectCall("clone", Succeeds()))},
    .expect = {ExpectCall("cgroup2.mount", Succeeds()), ExpectCall("v1_named.mount", Succeeds()),
               Record("v1_named.hierarchy")},
    .body = UsernsCanMountCgroup2,
});

}  // namespace
}  // namespace nsc::cases::cgroup
