// PID namespaces: nesting — the namespaces form one tree (the creator's namespace is the
// parent), a process's parent lives in its namespace or the parent namespace, and the tree is
// at most 32 levels deep (ENOSPC).
// Source: pid_namespaces(7), 'Nesting PID namespaces' and 'setns(2) and unshare(2) semantics';
// clone(2) and unshare(2), ERRORS; NS_GET_PARENT in ioctl_nsfs(2).
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "nsconform/case.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;

// Number of fields of the NSpid line of /proc/self/status: how many PID namespaces, counted
// from the one of the procfs instance at /proc, the caller is a member of. -1 on error.
int NsPidFieldCount() {
  int64_t ids[64];
  return ReadStatusIds(0, "NSpid", ids, 64);
}

// The caller's PID as numbered by the procfs instance at /proc (first NSpid field), or -1.
int64_t ProcfsPid() {
  int64_t ids[64];
  return ReadStatusIds(0, "NSpid", ids, 64) > 0 ? ids[0] : -1;
}

// Opens /proc/<procfs_pid>/ns/pid; SetupFailed on error.
UniqueFd OpenPidNsOf(const Probe& p, int64_t procfs_pid) {
  const PathBuf path = ProcPath(static_cast<pid_t>(procfs_pid), "ns/pid");
  UniqueFd fd = OpenFile(path.c_str(), O_RDONLY);
  if (!fd.valid()) p.SetupFailed("open /proc/<pid>/ns/pid");
  return fd;
}

// Records ioctl(ns_fd, NS_GET_PARENT) under `call_key` and the identity of the namespace it
// returns under `ns_key` (a failed ioctl records a failed identity).
void RecordNsParent(const Probe& p, const char* call_key, const char* ns_key, int ns_fd) {
  UniqueFd parent(ioctl(ns_fd, NS_GET_PARENT));
  p.Call(call_key, parent.get());
  p.NsIdOfFd(ns_key, parent.get());
}

// Flow:
//  1. The body B clones P1 with CLONE_NEWPID (namespace ns1). P1 clones P2 with CLONE_NEWPID
//     (ns2), P2 forks P3 (also in ns2). Each records getppid() and sends its /proc name to B,
//     then waits for B. (The control drops both CLONE_NEWPIDs.)
//  2. B, the outside observer, compares namespaces: for P1 and P2 (getppid() == 0) the
//     parent's namespace is NS_GET_PARENT of the child's; for P3 (getppid() > 0) parent and
//     child share a namespace.
//  3. Recorded, not judged: a process X of B's namespace setns()es into ns2 and forks Y; the
//     number of levels between Y's namespace and X's (NSpid field counts) is recorded.
void ParentSameOrParentNs(const Probe& p) {
  const int body_fields = NsPidFieldCount();
  if (body_fields <= 0) p.SetupFailed("read NSpid of /proc/self/status");
  Barrier p1_name, p2_name, p3_name, release;
  if (!p1_name.ok() || !p2_name.ok() || !p3_name.ok() || !release.ok()) p.SetupFailed("pipe");
  const unsigned long newpid = p.Flags(CLONE_NEWPID, CLONE_NEWPID);
  ChildProcess p1 = Spawn(newpid, [&] {
    release.CloseWriteEnd();
    p.Value("p1.getppid", getppid());
    p1_name.Send(ProcfsPid());
    p1_name.CloseWriteEnd();
    ChildProcess p2 = Spawn(newpid, [&] {
      p.Value("p2.getppid", getppid());
      p2_name.Send(ProcfsPid());
      p2_name.CloseWriteEnd();
      ChildProcess p3 = Spawn(0, [&] {
        p.Value("p3.getppid", getppid());
        p3_name.Send(ProcfsPid());
        p3_name.CloseWriteEnd();
        release.Wait();
        return 0;
      });
      p3_name.CloseWriteEnd();
      release.Wait();
      p3.Wait();
      return 0;
    });
    p2_name.CloseWriteEnd();
    p3_name.CloseWriteEnd();
    release.Wait();
    p2.Wait();
    return 0;
  });
  if (!p1.ok()) p.SetupFailed("clone of P1");
  p1_name.CloseWriteEnd();
  p2_name.CloseWriteEnd();
  p3_name.CloseWriteEnd();
  int64_t p1_pid, p2_pid, p3_pid;
  if (!p1_name.Receive(&p1_pid) || !p2_name.Receive(&p2_pid) || !p3_name.Receive(&p3_pid)) {
    p.SetupFailed("the three levels were not created");
  }
  UniqueFd p1_ns = OpenPidNsOf(p, p1_pid), p2_ns = OpenPidNsOf(p, p2_pid),
           p3_ns = OpenPidNsOf(p, p3_pid);
  p.NsId("body.ns", "/proc/self/ns/pid");
  p.NsIdOfFd("p1.ns", p1_ns.get());
  p.NsIdOfFd("p2.ns", p2_ns.get());
  p.NsIdOfFd("p3.ns", p3_ns.get());
  RecordNsParent(p, "p1.ns_get_parent", "p1.ns_parent", p1_ns.get());
  RecordNsParent(p, "p2.ns_get_parent", "p2.ns_parent", p2_ns.get());

  // setns() into a grandchild namespace, then fork: recorded.
  ChildProcess x = Spawn(0, [&] {
    const int joined = setns(p2_ns.get(), CLONE_NEWPID);
    p.Call("via_setns.setns", joined);
    if (joined == -1) return 0;
    const int x_fields = NsPidFieldCount();
    ChildProcess y = Spawn(0, [&] {
      p.Value("via_setns.levels_from_parent_to_child", NsPidFieldCount() - x_fields);
      return 0;
    });
    y.Wait();
    return 0;
  });
  x.Wait();
  release.CloseWriteEnd();
  p1.Wait();
}

NSC_CASE({
    .id = "pid.parent_same_or_parent_ns",
    .title = "A process's parent is in the same PID namespace or in its immediate parent",
    .source = {"pid_namespaces(7)", "setns(2) and unshare(2) semantics"},
    .references = {"NS_GET_PARENT(2const)"},
    .observe = "three levels built with clone(CLONE_NEWPID): the two namespace inits see "
               "getppid() == 0 and, seen from the outermost process, their parent's namespace "
               "is NS_GET_PARENT of their own; the third process sees getppid() > 0 and shares "
               "its parent's namespace. Recorded: the level distance between a child forked "
               "after setns() into a grandchild namespace and its parent",
    .control = "no CLONE_NEWPID: every parent is visible (getppid() > 0) and NS_GET_PARENT of "
               "the caller's own namespace is out of its scope",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 9}},
    .expect = {Expect("p1.getppid", Eq(0)), ExpectSameNs("p1.ns_parent", "body.ns"),
               Expect("p2.getppid", Eq(0)), ExpectSameNs("p2.ns_parent", "p1.ns"),
               Expect("p3.getppid", Gt(0)), ExpectSameNs("p3.ns", "p2.ns"),
               Record("via_setns.setns"), Record("via_setns.levels_from_parent_to_child")},
    .body = ParentSameOrParentNs,
});

// Flow:
//  1. clone path: the body clones C with CLONE_NEWPID; NS_GET_PARENT on /proc/C/ns/pid is the
//     body's own /proc/self/ns/pid.
//  2. unshare path: the body clones X with CLONE_NEWPID (so the creator is itself in a
//     non-initial namespace); X calls unshare(CLONE_NEWPID) and forks Y; NS_GET_PARENT on X's
//     pid_for_children (Y's namespace) is X's own /proc/self/ns/pid.
//  The control drops every CLONE_NEWPID (and unshares with 0).
void NestingTreeParent(const Probe& p) {
  Barrier c_name, release;
  if (!c_name.ok() || !release.ok()) p.SetupFailed("pipe");
  const unsigned long newpid = p.Flags(CLONE_NEWPID, CLONE_NEWPID);
  ChildProcess c = Spawn(newpid, [&] {
    release.CloseWriteEnd();
    c_name.Send(ProcfsPid());
    c_name.CloseWriteEnd();
    release.Wait();
    return 0;
  });
  if (!c.ok()) p.SetupFailed("clone of C");
  c_name.CloseWriteEnd();
  int64_t c_pid;
  if (!c_name.Receive(&c_pid)) p.SetupFailed("C could not read its NSpid");
  UniqueFd c_ns = OpenPidNsOf(p, c_pid);
  p.NsId("clone.creator_ns", "/proc/self/ns/pid");
  RecordNsParent(p, "clone.ns_get_parent", "clone.new_ns_parent", c_ns.get());
  release.Signal();

  ChildProcess x = Spawn(newpid, [&] {
    Barrier y_release;
    if (!y_release.ok()) p.SetupFailed("pipe");
    p.Call("unshare.unshare", unshare(newpid));
    ChildProcess y = Spawn(0, [&] {
      y_release.CloseWriteEnd();
      y_release.Wait();
      return 0;
    });
    if (!y.ok()) p.SetupFailed("fork after unshare");
    UniqueFd y_ns = OpenFile("/proc/self/ns/pid_for_children", O_RDONLY);
    if (!y_ns.valid()) p.SetupFailed("open /proc/self/ns/pid_for_children");
    p.NsId("unshare.creator_ns", "/proc/self/ns/pid");
    RecordNsParent(p, "unshare.ns_get_parent", "unshare.new_ns_parent", y_ns.get());
    y_release.Signal();
    y.Wait();
    return 0;
  });
  if (!x.ok()) p.SetupFailed("clone of X");
  x.Wait();
  c.Wait();
}

NSC_CASE({
    .id = "pid.nesting_tree_parent",
    .title = "The creator's PID namespace, with clone() or unshare(), is the new namespace's "
             "parent",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .references = {"NS_GET_PARENT(2const)"},
    .observe = "NS_GET_PARENT on a namespace made by clone(CLONE_NEWPID) gives the creator's "
               "/proc/self/ns/pid (same st_dev/st_ino); likewise for one made by "
               "unshare(CLONE_NEWPID) from inside a non-initial namespace",
    .control = "no new namespaces: NS_GET_PARENT is applied to the creator's own namespace, "
               "whose parent is outside its scope (EPERM), so no identity matches",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 9}},
    .expect = {ExpectSameNs("clone.new_ns_parent", "clone.creator_ns"),
               ExpectCall("unshare.unshare", Succeeds()),
               ExpectSameNs("unshare.new_ns_parent", "unshare.creator_ns"),
               Record("clone.ns_get_parent"), Record("unshare.ns_get_parent")},
    .body = NestingTreeParent,
});

// Levels of unshare the nesting chain attempts at most: far beyond the documented 32, so a
// kernel without a limit shows up as a successful last unshare.
constexpr int kMaxNestingAttempts = 64;

// One level of the chain: unshare(CLONE_NEWPID); on success fork the new namespace's init,
// which does the same. The process where unshare fails records the result and the depth.
int DescendUntilRefused(const Probe& p, int created, int attempts, int start_fields) {
  const long r = unshare(CLONE_NEWPID);
  if (r == -1 || created + 1 == attempts) {
    p.Call("deepest.unshare", r);
    const int made = r == -1 ? created : created + 1;
    p.Value("levels_created", made);
    // Level of the namespace whose creation was refused, counted from the namespace of the
    // procfs at /proc (level 0 when that is the initial namespace).
    if (r == -1) p.Value("refused_level", (start_fields - 1) + made + 1);
    return 0;
  }
  ChildProcess next = Spawn(0, [&] { return DescendUntilRefused(p, created + 1, attempts, start_fields); });
  if (!next.ok()) p.SetupFailed("fork of the next level's init");
  const int status = next.Wait();
  return ExitedWith(status, 0) ? 0 : 1;
}

// Flow:
//  1. The body reads its starting depth (NSpid field count) and max_pid_namespaces.
//  2. A chain: each process calls unshare(CLONE_NEWPID) and forks the new namespace's init,
//     which repeats; the process whose unshare fails records the call (ENOSPC) and the depth.
//     In the control the chain stops after one unshare, which succeeds.
//  3. Each level waits for the next and exits; the deepest exits first.
void NestingLimitEnospc(const Probe& p) {
  const int start_fields = NsPidFieldCount();
  if (start_fields <= 0) p.SetupFailed("read NSpid of /proc/self/status");
  p.Value("start.nspid_fields", start_fields);
  char limit[32];
  const ssize_t n = ReadSmallFile("/proc/sys/user/max_pid_namespaces", limit, sizeof limit);
  if (n > 0 && limit[n - 1] == '\n') limit[n - 1] = '\0';
  p.Text("max_pid_namespaces", n >= 0 ? limit : "unreadable");
  const int attempts = p.Pick(kMaxNestingAttempts, 1);
  ChildProcess chain = Spawn(0, [&] { return DescendUntilRefused(p, 0, attempts, start_fields); });
  if (!chain.ok()) p.SetupFailed("fork of the chain");
  chain.Wait();
}

NSC_CASE({
    .id = "pid.nesting_limit_enospc",
    .title = "PID namespace nesting is capped (32 levels); exceeding it fails with ENOSPC",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .references = {"clone(2), ERRORS (ENOSPC)", "unshare(2), ERRORS (ENOSPC)"},
    .observe = "repeated unshare(CLONE_NEWPID) + fork() from each new init: some unshare fails "
               "with ENOSPC. Recorded: the levels created, the refused level counted from the "
               "namespace of /proc (33 on 6.18 from the initial namespace), the starting depth "
               "and max_pid_namespaces",
    .control = "the chain stops after a single unshare(CLONE_NEWPID), far below the limit: "
               "it succeeds",
    // ENOSPC since 3.7; the chain uses unshare(CLONE_NEWPID), which exists since 3.8.
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    .expect = {ExpectCall("deepest.unshare", FailsWith(ENOSPC)), Record("levels_created"),
               Record("refused_level"), Record("start.nspid_fields"),
               Record("max_pid_namespaces")},
    .body = NestingLimitEnospc,
});

}  // namespace
}  // namespace nsc::cases
