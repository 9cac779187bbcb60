// Mount namespaces and the namespace API: the capabilities setns() needs to join a mount
// namespace, the CLONE_FS restrictions of setns() and clone(), unshare(CLONE_NEWNS) unsharing
// the filesystem attributes, and CAP_SYS_ADMIN for creating a mount namespace.
// Source: setns(2), 'Details for specific namespace types'; clone(2) and unshare(2), CLONE_NEWNS.
//
// Each body first enters a private mount namespace of its own (mnt_util.h EnterScratch), so even
// a control that succeeds in creating or joining a mount namespace stays inside the case's tree.
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt_util.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using namespace ::nsc::cases::mnt;

// Opens /proc/<pid>/ns/mnt (O_RDONLY|O_CLOEXEC) or fails the set-up.
UniqueFd OpenMntNs(const Probe& p, pid_t pid) {
  const PathBuf path = ProcPath(pid, "ns/mnt");
  UniqueFd fd = OpenFile(path.c_str(), O_RDONLY);
  if (!fd.valid()) p.SetupFailed("open of a /proc/PID/ns/mnt link");
  return fd;
}

// Runs `fn` in a plain child process and waits for it.
void InChild(const Probe& p, FunctionRef<void()> fn) {
  ChildProcess child = Spawn(0, [&] {
    fn();
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork of a helper process");
  const int status = child.Wait();
  if (status == -1 || !ExitedWith(status, 0)) _exit(0);  // it recorded a skip or a set-up error
}

// Flow: 1. private namespace A; B = clone(CLONE_NEWNS), parked; open B's ns link;
// 2. child 1 drops CAP_SYS_CHROOT and calls setns(fd, CLONE_NEWNS); 3. child 2 drops
// CAP_SYS_ADMIN and calls setns; 4. child 3 enters a new user namespace (full capabilities
// there, none over B's owner) and calls setns; 5. child 4 keeps every capability, calls setns
// and records its mount namespace.
void SetnsCaps(const Probe& p) {
  EnterScratch(p);
  NamespaceB b(p, CLONE_NEWNS, [] {});
  UniqueFd target = OpenMntNs(p, b.pid());
  p.NsIdOfFd("target.mnt", target.get());
  InChild(p, [&] {
    if (!p.control()) NSC_SETUP(p, DropCapability(CAP_SYS_CHROOT), "capset without CAP_SYS_CHROOT");
    p.Call("no_sys_chroot.setns", setns(target.get(), CLONE_NEWNS));
  });
  InChild(p, [&] {
    if (!p.control()) NSC_SETUP(p, DropCapability(CAP_SYS_ADMIN), "capset without CAP_SYS_ADMIN");
    p.Call("no_sys_admin.setns", setns(target.get(), CLONE_NEWNS));
  });
  InChild(p, [&] {
    if (!p.control() && EnterUserNamespace() == -1) {
      if (errno == EPERM || errno == ENOSPC || errno == EUSERS) {
        p.Skip(ReasonCode::kDisabledBySysctl, "a nested unshare(CLONE_NEWUSER) was refused");
      }
      p.SetupFailed("unshare(CLONE_NEWUSER) and id maps");
    }
    p.Call("not_owner_admin.setns", setns(target.get(), CLONE_NEWNS));
  });
  InChild(p, [&] {
    // The positive arm: with every capability the same call succeeds (a filter that refuses
    // setns makes the case SKIP instead of passing on the EPERMs above).
    const int r = setns(target.get(), CLONE_NEWNS);
    const int err = errno;
    p.Call("all_caps.setns", r);
    if (r == -1) NamespaceSetupFailed(p, err, "setns(CLONE_NEWNS) with every capability");
    p.NsId("all_caps.mnt_after", "/proc/self/ns/mnt");
  });
  b.Release();
}

NSC_CASE({
    .id = "mnt.setns_caps",
    .title = "Joining a mount namespace needs CAP_SYS_CHROOT and CAP_SYS_ADMIN here and "
             "CAP_SYS_ADMIN over its owner",
    .source = {"setns(2)", "Details for specific namespace types (Mount namespaces)"},
    .observe = "setns(mntns_fd, CLONE_NEWNS) returns EPERM without CAP_SYS_CHROOT, without "
               "CAP_SYS_ADMIN, and from a child user namespace (no CAP_SYS_ADMIN in the target's "
               "owner); with all of them it succeeds and the caller is then in the target",
    .control = "no capability is dropped and no user namespace entered: every setns succeeds "
               "(contradicts no_sys_chroot.setns, no_sys_admin.setns and not_owner_admin.setns)",
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWNS | CLONE_NEWUSER,
              .min_kernel = {3, 8}, .needs_userns = true},
    .preconditions = {Given(ExpectCall("all_caps.setns", Succeeds()))},
    .expect = {ExpectCall("no_sys_chroot.setns", FailsWith(EPERM)),
               ExpectCall("no_sys_admin.setns", FailsWith(EPERM)),
               ExpectCall("not_owner_admin.setns", FailsWith(EPERM)),
               ExpectSameNs("all_caps.mnt_after", "target.mnt")},
    .body = SetnsCaps,
});

// Flow: 1. private namespace A; B = clone(CLONE_NEWNS), parked; open B's ns link; 2. the
// positive arm: a plain child (no CLONE_FS) joins B with setns; 3. a child created with
// clone(CLONE_FS) (it shares the body's root, cwd and umask) calls setns(fd, CLONE_NEWNS) and
// records the result and errno.
void SetnsSharedFsEinval(const Probe& p) {
  EnterScratch(p);
  NamespaceB b(p, CLONE_NEWNS, [] {});
  UniqueFd target = OpenMntNs(p, b.pid());
  InChild(p, [&] {
    const int r = setns(target.get(), CLONE_NEWNS);
    const int err = errno;
    p.Call("plain.setns", r);
    if (r == -1) NamespaceSetupFailed(p, err, "setns(CLONE_NEWNS) with every capability");
  });
  ChildProcess sharer = Spawn(p.Flags(CLONE_FS, CLONE_FS), [&] {
    const int r = setns(target.get(), CLONE_NEWNS);
    p.Call("fs_sharer.setns", r);
    if (r == -1) p.Value("fs_sharer.errno", errno);
    return 0;
  });
  if (!sharer.ok()) p.SetupFailed("clone(CLONE_FS)");
  sharer.Wait();
  b.Release();
}

NSC_CASE({
    .id = "mnt.setns_shared_fs_einval",
    .title = "A process that shares its filesystem attributes (CLONE_FS) cannot join a mount "
             "namespace",
    .source = {"setns(2)", "Details for specific namespace types (Mount namespaces)"},
    .references = {"rules.md record list item 24 (the errno is not stated; EINVAL expected)"},
    .observe = "a child created with clone(CLONE_FS|SIGCHLD) calls setns into another mount "
               "namespace: it fails; the errno (EINVAL expected from the generic ERRORS entry) is "
               "recorded",
    .control = "the child is created without CLONE_FS: the setns succeeds (contradicts "
               "fs_sharer.setns)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("plain.setns", Succeeds()))},
    .expect = {ExpectCall("fs_sharer.setns", Fails()), Record("fs_sharer.errno")},
    .body = SetnsSharedFsEinval,
});

// Flow: 1. private namespace A; the positive arm: clone(CLONE_NEWNS|SIGCHLD) succeeds here (so
// an EINVAL below is not a filter refusing CLONE_NEWNS); 2. clone(CLONE_NEWNS|CLONE_FS|SIGCHLD)
// (a child that got created would exit at once); 3. the body moves its cwd to /tmp; a child sharing it (CLONE_FS) calls
// unshare(CLONE_NEWNS) and then chdir(/tmp/elsewhere); 4. the body checks whether its own cwd
// is still /tmp.
void CloneNewnsWithFsEinval(const Probe& p) {
  EnterScratch(p);
  const pid_t alone = CloneProcess(CLONE_NEWNS);
  if (alone == 0) _exit(0);
  const int alone_err = errno;
  p.Call("clone_newns_alone", alone);
  if (alone > 0) ChildProcess(alone).Wait();
  if (alone < 0) NamespaceSetupFailed(p, alone_err, "clone(CLONE_NEWNS) without CLONE_FS");
  const pid_t pid = CloneProcess(p.Flags(CLONE_NEWNS | CLONE_FS, CLONE_FS));
  if (pid == 0) _exit(0);
  p.Call("clone_newns_fs", pid);
  if (pid > 0) ChildProcess(pid).Wait();

  MakeDir(p, "/tmp/elsewhere");
  NSC_SETUP(p, chdir("/tmp"), "chdir to the scratch tmpfs");
  struct stat before;
  NSC_SETUP(p, stat(".", &before), "stat of the cwd");
  ChildProcess sharer = Spawn(CLONE_FS, [&] {
    p.Call("sharer.unshare", unshare(p.Flags(CLONE_NEWNS, CLONE_NEWNS)));
    p.Call("sharer.chdir", chdir("/tmp/elsewhere"));
    return 0;
  });
  if (!sharer.ok()) p.SetupFailed("clone(CLONE_FS)");
  sharer.Wait();
  struct stat after;
  NSC_SETUP(p, stat(".", &after), "stat of the cwd");
  p.Value("partner.cwd_unchanged",
          before.st_dev == after.st_dev && before.st_ino == after.st_ino ? 1 : 0);
}

NSC_CASE({
    .id = "mnt.clone_newns_with_fs_einval",
    .title = "clone() refuses CLONE_NEWNS|CLONE_FS; unshare(CLONE_NEWNS) unshares the fs "
             "attributes instead",
    .source = {"clone(2)", "CLONE_NEWNS"},
    .references = {"clone(2), ERRORS (EINVAL: CLONE_NEWNS and CLONE_FS)", "unshare(2), CLONE_NEWNS"},
    .observe = "clone(CLONE_NEWNS|CLONE_FS|SIGCHLD) returns EINVAL; a CLONE_FS-sharing child calls "
               "unshare(CLONE_NEWNS) (returns 0) and then chdir: its partner's cwd does not change",
    .control = "CLONE_FS is dropped from the clone (it succeeds) and CLONE_NEWNS from the unshare "
               "(the chdir then moves the partner too): contradicts clone_newns_fs and "
               "partner.cwd_unchanged",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 16}},
    .preconditions = {Given(ExpectCall("clone_newns_alone", Succeeds())),
                      Given(ExpectCall("sharer.chdir", Succeeds()))},
    .expect = {ExpectCall("clone_newns_fs", FailsWith(EINVAL)),
               ExpectCall("sharer.unshare", Succeeds()), Expect("partner.cwd_unchanged", Eq(1))},
    .body = CloneNewnsWithFsEinval,
});

// Flow: 1. private namespace A (the body holds CAP_SYS_ADMIN: real root, or root of the
// harness's user namespace); 2. the positive arm, with the capability: clone(CLONE_NEWNS) and
// unshare(CLONE_NEWNS) succeed (a filter refusing them makes the case SKIP, not PASS on the
// EPERMs below); 3. drop CAP_SYS_ADMIN; 4. clone(CLONE_NEWNS) and unshare(CLONE_NEWNS).
void RequiresCapSysAdmin(const Probe& p) {
  EnterScratch(p);
  const pid_t with_cap = CloneProcess(CLONE_NEWNS);
  const int clone_err = errno;
  if (with_cap == 0) _exit(0);
  p.Call("with_cap.clone", with_cap);
  if (with_cap > 0) ChildProcess(with_cap).Wait();
  if (with_cap < 0) NamespaceSetupFailed(p, clone_err, "clone(CLONE_NEWNS) with CAP_SYS_ADMIN");
  const int unshared = unshare(CLONE_NEWNS);
  const int unshare_err = errno;
  p.Call("with_cap.unshare", unshared);
  if (unshared == -1) NamespaceSetupFailed(p, unshare_err, "unshare(CLONE_NEWNS) with CAP_SYS_ADMIN");
  if (!p.control()) NSC_SETUP(p, DropCapability(CAP_SYS_ADMIN), "capset without CAP_SYS_ADMIN");
  const pid_t pid = CloneProcess(CLONE_NEWNS);
  if (pid == 0) _exit(0);
  p.Call("clone", pid);
  if (pid > 0) ChildProcess(pid).Wait();
  p.Call("unshare", unshare(CLONE_NEWNS));
}

NSC_CASE({
    .id = "mnt.requires_cap_sys_admin",
    .title = "Creating a mount namespace needs CAP_SYS_ADMIN: EPERM without it",
    .source = {"clone(2)", "CLONE_NEWNS"},
    .references = {"unshare(2), CLONE_NEWNS", "clone(2) and unshare(2), ERRORS (EPERM)"},
    .observe = "a caller without CAP_SYS_ADMIN in its user namespace (capability dropped with "
               "capset, equivalent to an unprivileged uid with no user namespace) gets EPERM from "
               "unshare(CLONE_NEWNS) and from clone(CLONE_NEWNS)",
    .control = "CAP_SYS_ADMIN is kept: both calls succeed (inside the case's private namespace): "
               "contradicts unshare and clone",
    .needs = {.privilege = Privilege::kNocap, .namespaces = CLONE_NEWNS, .min_kernel = {2, 6, 16},
              .needs_userns = true},
    .preconditions = {Given(ExpectCall("with_cap.clone", Succeeds())),
                      Given(ExpectCall("with_cap.unshare", Succeeds()))},
    .expect = {ExpectCall("unshare", FailsWith(EPERM)), ExpectCall("clone", FailsWith(EPERM))},
    .body = RequiresCapSysAdmin,
});

}  // namespace
}  // namespace nsc::cases
