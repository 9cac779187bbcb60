// Mount namespaces owned by a less privileged user namespace: shared mounts arrive as slaves,
// and (recorded, record list item 29) which filesystem types the root of such a user namespace
// may mount on this kernel. Source: mount_namespaces(7), 'Restrictions on mount namespaces'
// [1], [2]; user_namespaces(7), 'Interaction of user namespaces and other types of namespaces'.
//
// The body's private mount namespace A is the outer level; an inner child enters
// unshare(CLONE_NEWUSER|CLONE_NEWNS). The control keeps the owner (CLONE_NEWNS only).
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include "mnt_util.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;
using namespace ::nsc::cases::mnt;

// Item 29: tries each filesystem type a user-namespace root may mount, as the init of new PID,
// network and IPC namespaces owned by the caller's user namespace (proc, sysfs and mqueue need
// them). Every result is recorded, none judged: conditions differ per type and per version.
void RecordUsernsRootMounts(const Probe& p) {
  // proc and sysfs while the PID and network namespaces still belong to an ancestor user
  // namespace (proc then needs CAP_SYS_ADMIN over the PID namespace).
  p.Call("userns_root.mount.proc_unowned_pidns",
         mount("proc", "/tmp/fs/proc_unowned", "proc", 0, nullptr));
  p.Call("userns_root.mount.sysfs_unowned_netns",
         mount("sysfs", "/tmp/fs/sysfs_unowned", "sysfs", 0, nullptr));
  const int unshared = unshare(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC);
  p.Call("userns_root.unshare_pid_net_ipc", unshared);
  if (unshared == -1) return;
  ChildProcess init = Spawn(0, [&] {
    p.Call("userns_root.mount.tmpfs", mount("nsc", "/tmp/fs/tmpfs", "tmpfs", 0, nullptr));
    p.Call("userns_root.mount.ramfs", mount("nsc", "/tmp/fs/ramfs", "ramfs", 0, nullptr));
    p.Call("userns_root.mount.devpts",
           mount("devpts", "/tmp/fs/devpts", "devpts", 0, "newinstance,ptmxmode=0666"));
    p.Call("userns_root.mount.mqueue", mount("mqueue", "/tmp/fs/mqueue", "mqueue", 0, nullptr));
    p.Call("userns_root.mount.proc", mount("proc", "/tmp/fs/proc", "proc", 0, nullptr));
    p.Call("userns_root.mount.sysfs", mount("sysfs", "/tmp/fs/sysfs", "sysfs", 0, nullptr));
    p.Call("userns_root.mount.bpf", mount("bpf", "/tmp/fs/bpf", "bpf", 0, nullptr));
    p.Call("userns_root.mount.overlay",
           mount("overlay", "/tmp/fs/overlay", "overlay", 0,
                 "lowerdir=/tmp/fs/lower,upperdir=/tmp/fs/upper,workdir=/tmp/fs/work"));
    return 0;
  });
  p.Call("userns_root.fork_pid_init", init.pid());
  if (init.ok()) init.Wait();
}

// Flow: 1. namespace A: tmpfs M at /tmp/m made shared, its group recorded; scratch directories
// for item 29; 2. inner child: unshare(CLONE_NEWUSER|CLONE_NEWNS), records M's tags in its own
// mountinfo; 3. it records which filesystem types it may mount (item 29).
void LessPrivilegedSharedToSlave(const Probe& p) {
  EnterScratch(p);
  MakeTmpfs(p, "/tmp/m", MS_SHARED);
  p.Value("outer.m.shared", MountAt(p, kSelfMountinfo, "/tmp/m").shared);
  MakeDir(p, "/tmp/fs");
  for (const char* d : {"/tmp/fs/tmpfs", "/tmp/fs/ramfs", "/tmp/fs/devpts", "/tmp/fs/mqueue",
                        "/tmp/fs/proc", "/tmp/fs/sysfs", "/tmp/fs/bpf", "/tmp/fs/overlay",
                        "/tmp/fs/lower", "/tmp/fs/upper", "/tmp/fs/work", "/tmp/fs/proc_unowned",
                        "/tmp/fs/sysfs_unowned"}) {
    MakeDir(p, d);
  }
  ChildProcess child = Spawn(0, [&] {
    EnterInnerMountNamespace(p, !p.control());
    const MountLine m = MountAt(p, kSelfMountinfo, "/tmp/m");
    p.Value("inner.m.master", m.master);
    p.Value("inner.m.shared", m.shared);
    p.Value("inner.m.tags", m.optional_fields);
    if (!p.control()) RecordUsernsRootMounts(p);
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork of the inner process");
  child.Wait();
}

NSC_CASE({
    .id = "mnt.less_privileged_shared_to_slave",
    .title = "Creating a less privileged mount namespace turns its shared mounts into slaves",
    .source = {"mount_namespaces(7)", "Restrictions on mount namespaces [1], [2]"},
    .references = {"rules.md record list item 29 (filesystems a user-namespace root may mount)",
                   "user_namespaces(7)"},
    .observe = "the outer namespace makes tmpfs M shared (shared:X); a child does "
               "unshare(CLONE_NEWUSER|CLONE_NEWNS): in its mountinfo M shows master:X and no "
               "shared: tag. Also recorded: which of tmpfs, ramfs, devpts, mqueue, proc, sysfs, "
               "bpf, overlay the inner root may mount (as init of its own PID/net/IPC namespaces), and "
               "proc/sysfs while those namespaces still belong to an ancestor",
    .control = "the child unshares CLONE_NEWNS only (same owner): M stays shared:X, no master "
               "(contradicts inner.m.master and inner.m.shared)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS | CLONE_NEWUSER,
              .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("outer.m.shared", Gt(0)))},
    .expect = {ExpectSameValue("inner.m.master", "outer.m.shared"),
               Expect("inner.m.shared", Eq(0)),
               Expect("inner.m.tags", Eq(1)),
               Record("userns_root.unshare_pid_net_ipc"),
               Record("userns_root.fork_pid_init"),
               Record("userns_root.mount.tmpfs"),
               Record("userns_root.mount.ramfs"),
               Record("userns_root.mount.devpts"),
               Record("userns_root.mount.mqueue"),
               Record("userns_root.mount.proc"),
               Record("userns_root.mount.sysfs"),
               Record("userns_root.mount.bpf"),
               Record("userns_root.mount.overlay"),
               Record("userns_root.mount.proc_unowned_pidns"),
               Record("userns_root.mount.sysfs_unowned_netns")},
    .body = LessPrivilegedSharedToSlave,
});

}  // namespace
}  // namespace nsc::cases
