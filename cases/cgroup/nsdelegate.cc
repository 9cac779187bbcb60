// Cgroup namespaces as delegation boundaries: the cgroup2 "nsdelegate" mount option.
// Source: cgroups(7), 'Cgroups v2 delegation: nsdelegate and cgroup namespaces'.
//
// These rules need root in the initial mount namespace and the host's cgroup2 mounted with
// nsdelegate. The suite NEVER remounts the host's cgroup hierarchy to get there (the option is
// global to the hierarchy): both rules check at run time and skip with a reason otherwise.
// Touching the host: the body creates a child cgroup under its own v2 cgroup, moves only case
// processes into it, moves them back while they are alive and removes it before it ends.
#include <sys/stat.h>

#include <cstring>

#include "../common/requires_cap_sys_admin.h"
#include "cgroup_util.h"
#include "nsconform/case.h"

namespace nsc::cases::cgroup {
namespace {

using ::testing::Eq;

// Skips the case unless the body is in the initial mount namespace and the unified hierarchy is
// mounted with nsdelegate; fills `v2` otherwise.
void RequireNsdelegate(const Probe& p, Hierarchy* v2) {
  if (!FindV2Hierarchy(v2)) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "the unified (v2) cgroup hierarchy is not mounted on this host");
  }
  bool nsdelegate = false;
  ForEachMount([&](const MountEntry& e) {
    if (std::strcmp(e.fstype, "cgroup2") != 0 || std::strcmp(e.mountpoint, v2->mountpoint) != 0) {
      return false;
    }
    nsdelegate = ListHas(e.super_options, std::strlen(e.super_options), "nsdelegate", 10);
    return true;
  });
  if (!nsdelegate) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "cgroup2 is mounted without nsdelegate; the suite never remounts the host's cgroup "
           "hierarchy to enable it");
  }
  const NsFileId init_mnt = NsFileIdOf("/proc/1/ns/mnt");
  if (!init_mnt.known) {
    PathBuf why("cannot tell whether this is the initial mount namespace: /proc/1/ns/mnt: ");
    why.Add(strerrorname_np(errno));
    p.Skip(ReasonCode::kPreconditionUnmet, why.c_str());
  }
  if (!NsFileIdOf("/proc/self/ns/mnt").SameAs(init_mnt)) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "not running in the initial mount namespace (that of PID 1)");
  }
}

// Flow:
//  1. Skip unless root in the initial mount namespace with cgroup2 mounted with nsdelegate.
//  2. The body creates child cgroup X under its own v2 cgroup and moves U into it.
//  3. U: unshare(CLONE_NEWCGROUP) (X becomes the namespace root); it writes the current value
//     back to a non-delegatable interface file of X (pids.max if the pids controller is enabled
//     there, else cgroup.max.descendants): EPERM. Writing "0" (itself) to X's cgroup.procs,
//     a delegatable file, succeeds.
//     Control: unshare without CLONE_NEWCGROUP: X is not a namespace root, both writes succeed.
//  4. The body moves U back, lets it exit and removes X.
void NsdelegateRootControllerEperm(const Probe& p) {
  Hierarchy v2;
  RequireNsdelegate(p, &v2);
  Barrier moved, done, release;
  if (!moved.ok() || !done.ok() || !release.ok()) p.SetupFailed("pipes for the barriers");
  CaseCgroup cg;
  const PathBuf name = CaseCgroupName("deleg");
  if (cg.Create(name.c_str(), true) == -1) p.SetupFailed("mkdir of a child cgroup in cgroup2");
  ChildProcess u = Spawn(0, [&] {
    moved.CloseWriteEnd();
    done.CloseReadEnd();
    release.CloseWriteEnd();
    if (!moved.Wait()) return 1;
    SetupCall(p, "unshare", unshare(p.Flags(CLONE_NEWCGROUP, CLONE_NEWCGROUP)));
    PathBuf file(cg.dir());
    file.Add("/pids.max");
    struct stat st;
    if (stat(file.c_str(), &st) == -1) {
      file = PathBuf(cg.dir());
      file.Add("/cgroup.max.descendants");
    }
    p.Text("ns_root.interface_file", file.c_str());
    char value[64];
    if (ReadSmallFile(file.c_str(), value, sizeof value) < 0) p.SetupFailed("reading it");
    p.Call("ns_root.write_interface_file", WriteSmallFile(file.c_str(), value));
    PathBuf procs(cg.dir());
    procs.Add("/cgroup.procs");
    p.Call("ns_root.write_cgroup_procs", WriteSmallFile(procs.c_str(), "0"));
    done.Signal();
    release.Wait();
    return 0;
  });
  moved.CloseReadEnd();
  done.CloseWriteEnd();
  release.CloseReadEnd();
  const bool placed = u.ok() && cg.Move(u.pid()) == 0;
  if (placed) moved.Signal();
  moved.CloseWriteEnd();
  done.Wait();
  if (u.ok()) cg.MoveBack(u.pid());
  release.CloseWriteEnd();
  u.Wait();
  RemoveOrFail(p, cg);
  if (!placed) p.SetupFailed("moving the case process into its child cgroup");
}

NSC_CASE({
    .id = "cgroup.nsdelegate_root_controller_eperm",
    .title = "With nsdelegate, interface files of a cgroup-namespace root are read-only from "
             "inside, except the delegatable ones",
    .source = {"cgroups(7)", "Cgroups v2 delegation: nsdelegate and cgroup namespaces"},
    .observe = "with cgroup2 mounted with nsdelegate, a process in a cgroup namespace rooted at "
               "case cgroup X gets EPERM writing a non-delegatable interface file of X "
               "(pids.max, or cgroup.max.descendants), while writing X's cgroup.procs succeeds",
    .control = "no new cgroup namespace: X is not a namespace root and the interface file "
               "write succeeds (contradicts ns_root.write_interface_file)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWCGROUP, .min_kernel = {4, 13}},
    .preconditions = {Given(ExpectCall("unshare", Succeeds()))},
    .expect = {ExpectCall("ns_root.write_interface_file", FailsWith(EPERM)),
               ExpectCall("ns_root.write_cgroup_procs", Succeeds()),
               Record("ns_root.interface_file")},
    .body = NsdelegateRootControllerEperm,
});

// Flow:
//  1. Skip unless root in the initial mount namespace with cgroup2 mounted with nsdelegate.
//  2. The body creates X and X/in under its own v2 cgroup and moves U into X/in.
//  3. U: unshare(CLONE_NEWCGROUP) (X/in becomes the namespace root), then writes "0" (itself)
//     into X/cgroup.procs — outside its namespace root, reached through the host's mount:
//     ENOENT.
//     Control: unshare without CLONE_NEWCGROUP: the move succeeds.
//  4. The body moves U back, lets it exit and removes the cgroups.
void NsdelegateCrossBoundaryEnoent(const Probe& p) {
  Hierarchy v2;
  RequireNsdelegate(p, &v2);
  Barrier moved, done, release;
  if (!moved.ok() || !done.ok() || !release.ok()) p.SetupFailed("pipes for the barriers");
  CaseCgroup cg;
  const PathBuf name = CaseCgroupName("cross");
  if (cg.Create(name.c_str(), true) == -1) p.SetupFailed("mkdir of a child cgroup in cgroup2");
  if (cg.MakeSub("in") == -1) {
    cg.Remove();
    p.SetupFailed("mkdir of the sub-cgroup in");
  }
  ChildProcess u = Spawn(0, [&] {
    moved.CloseWriteEnd();
    done.CloseReadEnd();
    release.CloseWriteEnd();
    if (!moved.Wait()) return 1;
    SetupCall(p, "unshare", unshare(p.Flags(CLONE_NEWCGROUP, CLONE_NEWCGROUP)));
    PathBuf procs(cg.dir());
    procs.Add("/cgroup.procs");
    p.Call("outside_root.write_cgroup_procs", WriteSmallFile(procs.c_str(), "0"));
    done.Signal();
    release.Wait();
    return 0;
  });
  moved.CloseReadEnd();
  done.CloseWriteEnd();
  release.CloseReadEnd();
  const bool placed = u.ok() && cg.Move(u.pid(), "in") == 0;
  if (placed) moved.Signal();
  moved.CloseWriteEnd();
  done.Wait();
  if (u.ok()) cg.MoveBack(u.pid());
  release.CloseWriteEnd();
  u.Wait();
  RemoveOrFail(p, cg, "removing the case's child cgroups under ");
  if (!placed) p.SetupFailed("moving the case process into its child cgroup");
}

NSC_CASE({
    .id = "cgroup.nsdelegate_cross_boundary_enoent",
    .title = "With nsdelegate, moving a process across the cgroup-namespace boundary fails "
             "with ENOENT",
    .source = {"cgroups(7)", "Cgroups v2 delegation: nsdelegate and cgroup namespaces"},
    .observe = "with cgroup2 mounted with nsdelegate, a process in a cgroup namespace rooted at "
               "case cgroup X/in writes its PID into X/cgroup.procs (outside the namespace "
               "root, through the host's mount): ENOENT",
    .control = "no new cgroup namespace: the write moves the process into X (contradicts "
               "outside_root.write_cgroup_procs)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWCGROUP, .min_kernel = {4, 13}},
    .preconditions = {Given(ExpectCall("unshare", Succeeds()))},
    .expect = {ExpectCall("outside_root.write_cgroup_procs", FailsWith(ENOENT))},
    .body = NsdelegateCrossBoundaryEnoent,
});

}  // namespace
}  // namespace nsc::cases::cgroup
