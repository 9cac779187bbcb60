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
#include "creation.h"

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

// The caller's NSpid field count, or SKIP (PRECONDITION_UNMET) where /proc/self/status has no
// NSpid line (Linux < 4.1, or a procfs that does not provide it).
int RequireNsPidFields(const Probe& p) {
  const int fields = NsPidFieldCount();
  if (fields <= 0) p.Skip(ReasonCode::kPreconditionUnmet, "no NSpid line in /proc/self/status");
  return fields;
}

// The caller's procfs PID (first NSpid field), or SKIP as RequireNsPidFields.
int64_t RequireProcfsPid(const Probe& p) {
  const int64_t pid = ProcfsPid();
  if (pid <= 0) p.Skip(ReasonCode::kPreconditionUnmet, "no NSpid line in /proc/self/status");
  return pid;
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
//     then waits for B. (The control drops P2's CLONE_NEWPID only: P2 is then an ordinary
//     child of P1 in ns1, so NS_GET_PARENT stays within B's scope and every identity readable.)
//  2. B, the outside observer, compares namespaces: for P1 and P2 (getppid() == 0) the
//     parent's namespace is NS_GET_PARENT of the child's; for P3 (getppid() > 0) parent and
//     child share a namespace.
//  3. Recorded, not judged: a process X of B's namespace setns()es into ns2 and forks Y; the
//     number of levels between Y's namespace and X's (NSpid field counts) is recorded.
void ParentSameOrParentNs(const Probe& p) {
  RequireNsPidFields(p);
  Barrier p1_name, p2_name, p3_name, release;
  if (!p1_name.ok() || !p2_name.ok() || !p3_name.ok() || !release.ok()) p.SetupFailed("pipe");
  ChildProcess p1 = Spawn(CLONE_NEWPID, [&] {
    release.CloseWriteEnd();
    p.Value("p1.getppid", getppid());
    p1_name.Send(RequireProcfsPid(p));
    p1_name.CloseWriteEnd();
    ChildProcess p2 = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
      p.Value("p2.getppid", getppid());
      p2_name.Send(RequireProcfsPid(p));
      p2_name.CloseWriteEnd();
      ChildProcess p3 = Spawn(0, [&] {
        p.Value("p3.getppid", getppid());
        p3_name.Send(RequireProcfsPid(p));
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
  RequireCreated(p, p1, "clone of P1");
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
    .control = "P2 is created without CLONE_NEWPID (P1's level keeps it): P2's parent P1 is "
               "visible and P2's namespace is P1's, whose parent is B's, contradicting "
               "p2.getppid and p2.ns_parent",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 9}},
    .expect = {Expect("p1.getppid", Eq(0)), ExpectSameNs("p1.ns_parent", "body.ns"),
               Expect("p2.getppid", Eq(0)), ExpectSameNs("p2.ns_parent", "p1.ns"),
               Expect("p3.getppid", Gt(0)), ExpectSameNs("p3.ns", "p2.ns"),
               Record("p1.ns_get_parent"), Record("p2.ns_get_parent"),
               Record("via_setns.setns"), Record("via_setns.levels_from_parent_to_child")},
    .body = ParentSameOrParentNs,
});

// Flow (the creator X is itself in a non-initial namespace, so that "the creator's namespace"
// differs from the body's and from the initial one):
//  1. The body B clones X with CLONE_NEWPID (namespace ns1). X sends its /proc name.
//  2. clone path: X clones C with CLONE_NEWPID. unshare path: X calls unshare(CLONE_NEWPID)
//     and forks U. C and U send their /proc names and wait. (The control drops only these
//     two CLONE_NEWPIDs, X's own level kept: C and U then stay in ns1.)
//  3. B, in an ancestor of every namespace here, opens /proc/<C|U|X>/ns/pid and applies
//     NS_GET_PARENT: C's and U's namespaces have X's as parent, which is not B's; X's has B's.
void NestingTreeParent(const Probe& p) {
  RequireNsPidFields(p);
  Barrier x_name, c_name, u_name, release;
  if (!x_name.ok() || !c_name.ok() || !u_name.ok() || !release.ok()) p.SetupFailed("pipe");
  const unsigned long inner_newpid = p.Flags(CLONE_NEWPID, CLONE_NEWPID);
  ChildProcess x = Spawn(CLONE_NEWPID, [&] {
    release.CloseWriteEnd();
    x_name.Send(RequireProcfsPid(p));
    x_name.CloseWriteEnd();
    auto report_and_wait = [&](Barrier& name) {
      name.Send(RequireProcfsPid(p));
      name.CloseWriteEnd();
      release.Wait();
      return 0;
    };
    ChildProcess c = Spawn(inner_newpid, [&] { return report_and_wait(c_name); });
    RequireCreated(p, c, "clone of C");
    p.Call("unshare.unshare", unshare(inner_newpid));
    ChildProcess u = Spawn(0, [&] { return report_and_wait(u_name); });
    RequireCreated(p, u, "fork after unshare");
    c_name.CloseWriteEnd();
    u_name.CloseWriteEnd();
    release.Wait();
    c.Wait();
    u.Wait();
    return 0;
  });
  RequireCreated(p, x, "clone of X");
  x_name.CloseWriteEnd();
  c_name.CloseWriteEnd();
  u_name.CloseWriteEnd();
  int64_t x_pid, c_pid, u_pid;
  if (!x_name.Receive(&x_pid) || !c_name.Receive(&c_pid) || !u_name.Receive(&u_pid)) {
    p.SetupFailed("the namespaces were not created");
  }
  UniqueFd x_ns = OpenPidNsOf(p, x_pid), c_ns = OpenPidNsOf(p, c_pid), u_ns = OpenPidNsOf(p, u_pid);
  p.NsId("body.ns", "/proc/self/ns/pid");
  p.NsIdOfFd("creator.ns", x_ns.get());
  RecordNsParent(p, "creator.ns_get_parent", "creator.ns_parent", x_ns.get());
  RecordNsParent(p, "clone.ns_get_parent", "clone.new_ns_parent", c_ns.get());
  RecordNsParent(p, "unshare.ns_get_parent", "unshare.new_ns_parent", u_ns.get());
  release.CloseWriteEnd();
  x.Wait();
}

NSC_CASE({
    .id = "pid.nesting_tree_parent",
    .title = "The creator's PID namespace, with clone() or unshare(), is the new namespace's "
             "parent",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .references = {"NS_GET_PARENT(2const)"},
    .observe = "A creator X inside a new PID namespace ns1 makes one namespace with "
               "clone(CLONE_NEWPID) and one with unshare(CLONE_NEWPID) + fork(). Seen from the "
               "outermost process, NS_GET_PARENT of each is X's namespace (same st_dev/st_ino), "
               "not the outer process's, and NS_GET_PARENT of ns1 is the outer process's: the "
               "namespaces form one tree through their creators",
    .control = "X creates the two children without CLONE_NEWPID (its own ns1 kept): they are in "
               "X's namespace, whose parent is the outer one, contradicting clone.new_ns_parent "
               "and unshare.new_ns_parent (same as X's, different from the outer one)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 9}},
    .preconditions = {Given(ExpectCall("unshare.unshare", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectSameNs("clone.new_ns_parent", "creator.ns"),
               ExpectDifferentNs("clone.new_ns_parent", "body.ns"),
               ExpectSameNs("unshare.new_ns_parent", "creator.ns"),
               ExpectDifferentNs("unshare.new_ns_parent", "body.ns"),
               ExpectSameNs("creator.ns_parent", "body.ns"),
               Record("creator.ns_get_parent"), Record("clone.ns_get_parent"),
               Record("unshare.ns_get_parent")},
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
  RequireCreated(p, next, "fork of the next level's init");
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
  const int start_fields = RequireNsPidFields(p);
  p.Value("start.nspid_fields", start_fields);
  char limit[32];
  const ssize_t n = ReadSmallFile("/proc/sys/user/max_pid_namespaces", limit, sizeof limit);
  if (n > 0 && limit[n - 1] == '\n') limit[n - 1] = '\0';
  p.Text("max_pid_namespaces", n >= 0 ? limit : "unreadable");
  const int attempts = p.Pick(kMaxNestingAttempts, 1);
  ChildProcess chain = Spawn(0, [&] { return DescendUntilRefused(p, 0, attempts, start_fields); });
  RequireCreated(p, chain, "fork of the chain");
  chain.Wait();
}

NSC_CASE({
    .id = "pid.nesting_limit_enospc",
    .title = "PID namespace nesting is capped (32 levels); exceeding it fails with ENOSPC",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .references = {"clone(2), ERRORS (ENOSPC)", "unshare(2), ERRORS (ENOSPC)"},
    .observe = "repeated unshare(CLONE_NEWPID) + fork() from each new init (the first one must "
               "succeed): some unshare fails with ENOSPC. Recorded: the levels created, the refused level counted from the "
               "namespace of /proc (33 on 6.18 from the initial namespace), the starting depth "
               "and max_pid_namespaces",
    .control = "the chain stops after a single unshare(CLONE_NEWPID), far below the limit: "
               "it succeeds, contradicting deepest.unshare",
    // ENOSPC since 3.7; the chain uses unshare(CLONE_NEWPID), which exists since 3.8.
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {3, 8}},
    // A first level that cannot be created at all (a seccomp filter, a max_pid_namespaces of
    // 0) says nothing about the nesting limit.
    .preconditions = {Given(Expect("levels_created", ::testing::Ge(1)),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectCall("deepest.unshare", FailsWith(ENOSPC)), Record("refused_level"),
               Record("start.nspid_fields"), Record("max_pid_namespaces")},
    .body = NestingLimitEnospc,
});

}  // namespace
}  // namespace nsc::cases
