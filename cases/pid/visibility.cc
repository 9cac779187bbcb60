// PID namespaces: who sees whom — a process has a PID in its own namespace and in every
// ancestor, nothing in an ancestor can be addressed from inside, system calls use the
// caller's numbering, getpid() is the innermost PID, and /proc/PID/status lists them all.
// Source: pid_namespaces(7), 'Nesting PID namespaces'; proc_pid_status(5).
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "nsconform/case.h"
#include "creation.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

constexpr int kMaxLevels = 64;

// One ID line of /proc/self/status ("NSpid", "NStgid", ...), split into its fields.
struct IdLine {
  int64_t ids[kMaxLevels];
  int count = -1;

  explicit IdLine(const char* field) { count = ReadStatusIds(0, field, ids, kMaxLevels); }
  bool ok() const { return count > 0; }
  int64_t innermost() const { return ok() ? ids[count - 1] : -1; }
  // The ID as numbered in the namespace of a process whose own line has `fields` entries
  // (an ancestor's level, counted from the procfs's namespace), or -1.
  int64_t AtLevelOf(int fields) const { return fields >= 1 && fields <= count ? ids[fields - 1] : -1; }
};

// SKIP (PRECONDITION_UNMET) unless `line` was read: /proc/PID/status has no NS* lines before
// Linux 4.1, and a missing line is never compared as a value.
void RequireLine(const Probe& p, const IdLine& line) {
  if (!line.ok()) p.Skip(ReasonCode::kPreconditionUnmet, "no NS* id lines in /proc/self/status");
}

// The number of NSpid fields of the caller (its depth below the procfs's namespace, plus 1).
int OwnNsPidFields(const Probe& p) {
  IdLine own("NSpid");
  RequireLine(p, own);
  return own.count;
}

// Flow:
//  1. The body B clones I with CLONE_NEWPID (an ordinary child in the control).
//  2. I records getpid() and its NSpid line: one more field than B's, the last one 1, the one
//     at B's level the PID B knows it by. I then waits.
//  3. B records clone()'s result and kill(pid, 0) on it, then releases I.
void VisibleInOwnAndAncestorNs(const Probe& p) {
  const int body_fields = OwnNsPidFields(p);
  Barrier observed, release;
  if (!observed.ok() || !release.ok()) p.SetupFailed("pipe");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    release.CloseWriteEnd();
    p.Value("init.getpid", RawGetpid());
    IdLine nspid("NSpid");
    RequireLine(p, nspid);
    p.Value("init.nspid_fields_beyond_parent", nspid.count - body_fields);
    p.Value("init.nspid_innermost", nspid.innermost());
    p.Value("init.nspid_at_parent_level", nspid.AtLevelOf(body_fields));
    observed.Signal();
    release.Wait();
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  observed.CloseWriteEnd();
  if (!observed.Wait()) p.SetupFailed("the init died before observing");
  p.Value("parent.clone_ret", init.pid());
  p.Call("parent.kill_0", kill(init.pid(), 0));
  release.Signal();
  init.Wait();
}

NSC_CASE({
    .id = "pid.visible_in_own_and_ancestor_ns",
    .title = "A process has a PID in its own namespace and in each ancestor, and NSpid lists them",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .observe = "the parent's kill(child_outer_pid, 0) returns 0; inside, the same process is "
               "PID 1; its NSpid line has one more field than the parent's, the field at the "
               "parent's level is the outer PID and the last one is 1",
    .control = "no CLONE_NEWPID: the child has one PID only, not 1, and one NSpid field at the "
               "parent's depth, contradicting init.getpid, init.nspid_fields_beyond_parent and "
               "init.nspid_innermost",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 1}},
    .expect = {ExpectCall("parent.kill_0", Succeeds()), Expect("init.getpid", Eq(1)),
               Expect("init.nspid_fields_beyond_parent", Eq(1)),
               Expect("init.nspid_innermost", Eq(1)),
               ExpectSameValue("init.nspid_at_parent_level", "parent.clone_ret")},
    .body = VisibleInOwnAndAncestorNs,
});

// Flow:
//  1. The body B notes its own PID and nice value.
//  2. B clones I with CLONE_NEWPID (an ordinary child in the control). In the new namespace
//     I is the only process, PID 1, so B's PID (> 1) names no in-namespace process.
//  3. I calls kill(B, 0) and setpriority(PRIO_PROCESS, B, B's current nice): both ESRCH. (The
//     unchanged nice value keeps the control, where B is visible, harmless.)
void AncestorInvisible(const Probe& p) {
  const pid_t body_pid = RawGetpid();
  errno = 0;
  const int nice_value = getpriority(PRIO_PROCESS, 0);
  if (nice_value == -1 && errno != 0) p.SetupFailed("getpriority");
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    // The highest PID in a fresh namespace holding only its init is 1.
    if (body_pid <= 1) p.SetupFailed("the outer PID is not above every in-namespace PID");
    p.Call("init.kill_ancestor", kill(body_pid, 0));
    p.Call("init.setpriority_ancestor", setpriority(PRIO_PROCESS, body_pid, nice_value));
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  init.Wait();
}

NSC_CASE({
    .id = "pid.ancestor_invisible",
    .title = "Processes in a child PID namespace cannot address processes in ancestor namespaces",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .observe = "inside a new namespace whose only process is its init (PID 1), kill(P, 0) and "
               "setpriority(PRIO_PROCESS, P, ...) on the parent's outer PID P (> 1) both fail "
               "with ESRCH",
    .control = "no CLONE_NEWPID: the parent is visible, so both calls succeed (setpriority "
               "sets the parent's current nice value, changing nothing), contradicting "
               "init.kill_ancestor and init.setpriority_ancestor",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID,
              .min_kernel = {2, 6, 24}},
    .expect = {ExpectCall("init.kill_ancestor", FailsWith(ESRCH)),
               ExpectCall("init.setpriority_ancestor", FailsWith(ESRCH))},
    .body = AncestorInvisible,
});

// Flow:
//  1. The body B clones C with CLONE_NEWPID. C records getpid() (1), sends its /proc name and
//     waits.
//  2. B reads C's NSpid line through its procfs: the field at B's level equals clone()'s
//     result.
//  3. B releases C and waitpid(clone's result) reaps it, returning that PID.
//  The control drops CLONE_NEWPID: C's own getpid() is then the same number B uses.
void SyscallsUseCallersView(const Probe& p) {
  const int body_fields = OwnNsPidFields(p);
  Barrier named, release;
  if (!named.ok() || !release.ok()) p.SetupFailed("pipe");
  ChildProcess child = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    release.CloseWriteEnd();
    p.Value("child.getpid", RawGetpid());
    IdLine nspid("NSpid");
    RequireLine(p, nspid);
    named.Send(nspid.ids[0]);
    release.Wait();
    return 0;
  });
  RequireCreated(p, child, "clone of the child");
  named.CloseWriteEnd();
  int64_t procfs_pid;
  if (!named.Receive(&procfs_pid) || procfs_pid <= 0) p.SetupFailed("the child's /proc name");
  int64_t ids[kMaxLevels];
  const int n = ReadStatusIds(static_cast<pid_t>(procfs_pid), "NSpid", ids, kMaxLevels);
  if (n < body_fields) p.SetupFailed("read the child's NSpid through /proc");
  const pid_t ret = child.Release();
  p.Value("parent.clone_ret", ret);
  p.Value("parent.child_nspid_at_caller_level", ids[body_fields - 1]);
  release.Signal();
  int status;
  pid_t reaped;
  do {
    reaped = waitpid(ret, &status, 0);
  } while (reaped == -1 && errno == EINTR);
  p.Call("parent.waitpid", reaped);
  p.Value("parent.waitpid_ret", reaped);
}

NSC_CASE({
    .id = "pid.syscalls_use_callers_view",
    .title = "System calls take and return PIDs as numbered in the caller's namespace",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .observe = "clone(CLONE_NEWPID) returns the NSpid field at the caller's level of the child's "
               "status read through the caller's procfs (the first field when the harness runs "
               "in the procfs's namespace), which differs from the child's own getpid(); "
               "waitpid() on that number reaps the child and returns it",
    .control = "no CLONE_NEWPID: the child's own getpid() is the same number, so the two views "
               "no longer differ, contradicting child.getpid (different from parent.clone_ret)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 1}},
    .expect = {ExpectSameValue("parent.child_nspid_at_caller_level", "parent.clone_ret"),
               ExpectDifferentValue("child.getpid", "parent.clone_ret"),
               ExpectCall("parent.waitpid", Succeeds()),
               ExpectSameValue("parent.waitpid_ret", "parent.clone_ret")},
    .body = SyscallsUseCallersView,
});

// Flow:
//  1. The body B clones C with CLONE_NEWPID (an ordinary child in the control). C records
//     getpid(), the last field of its NSpid line, and the field at B's level.
//  2. A second child U calls unshare(CLONE_NEWPID) (unshare(0) in the control) and records
//     getpid() and its last NSpid field: unshare does not change the namespace it was
//     created in.
void GetpidIsCreationNsPid(const Probe& p) {
  const int body_fields = OwnNsPidFields(p);
  ChildProcess child = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    IdLine nspid("NSpid");
    RequireLine(p, nspid);
    p.Value("child.getpid", RawGetpid());
    p.Value("child.nspid_innermost", nspid.innermost());
    p.Value("child.nspid_at_parent_level", nspid.AtLevelOf(body_fields));
    return 0;
  });
  RequireCreated(p, child, "clone of the child");
  child.Wait();
  ChildProcess unsharer = Spawn(0, [&] {
    p.Call("unsharer.unshare", unshare(p.Flags(CLONE_NEWPID, CLONE_NEWPID)));
    IdLine nspid("NSpid");
    RequireLine(p, nspid);
    p.Value("unsharer.getpid", RawGetpid());
    p.Value("unsharer.nspid_innermost", nspid.innermost());
    return 0;
  });
  RequireCreated(p, unsharer, "fork of the unsharing child");
  unsharer.Wait();
}

NSC_CASE({
    .id = "pid.getpid_is_creation_ns_pid",
    .title = "getpid() reports the PID in the namespace the process was created in (innermost)",
    .source = {"pid_namespaces(7)", "Nesting PID namespaces"},
    .observe = "in a child of clone(CLONE_NEWPID), getpid() equals the last NSpid field and "
               "differs from the field at the parent's level; after unshare(CLONE_NEWPID) the "
               "caller's getpid() still equals its last NSpid field",
    .control = "no CLONE_NEWPID: the child's innermost namespace is the parent's, so its getpid() "
               "equals the field at the parent's level, contradicting child.getpid",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 1}},
    .preconditions = {Given(ExpectCall("unsharer.unshare", Succeeds()),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectSameValue("child.getpid", "child.nspid_innermost"),
               ExpectDifferentValue("child.getpid", "child.nspid_at_parent_level"),
               ExpectSameValue("unsharer.getpid", "unsharer.nspid_innermost")},
    .body = GetpidIsCreationNsPid,
});

// The four ID lines of proc_pid_status(5), with the report keys for each.
struct IdField {
  const char* name;
  const char* levels_key;
  const char* inner_key;
  const char* outer_key;
};
constexpr IdField kIdFields[] = {
    {"NStgid", "init.NStgid.levels", "init.NStgid.innermost", "init.NStgid.at_parent_level"},
    {"NSpid", "init.NSpid.levels", "init.NSpid.innermost", "init.NSpid.at_parent_level"},
    {"NSpgid", "init.NSpgid.levels", "init.NSpgid.innermost", "init.NSpgid.at_parent_level"},
    {"NSsid", "init.NSsid.levels", "init.NSsid.innermost", "init.NSsid.at_parent_level"},
};

// Flow:
//  1. The body B clones I with CLONE_NEWPID (an ordinary child in the control).
//  2. I calls setsid(), so its thread group, process group and session are all itself.
//  3. I reads /proc/self/status through the inherited procfs (not remounted): each of NStgid,
//     NSpid, NSpgid and NSsid has one field more than B's levels (2 from B's level down), the
//     field at B's level is clone()'s result and the last field is 1. The first NSpid field is
//     also checked against readlink("/proc/self"), the PID in the procfs's namespace.
void NspidStatusFields(const Probe& p) {
  const int body_fields = OwnNsPidFields(p);
  ChildProcess init = Spawn(p.Flags(CLONE_NEWPID, CLONE_NEWPID), [&] {
    NSC_SETUP(p, setsid(), "setsid");
    for (const IdField& f : kIdFields) {
      IdLine line(f.name);
      RequireLine(p, line);
      p.Value(f.levels_key, line.count - body_fields + 1);
      p.Value(f.inner_key, line.innermost());
      p.Value(f.outer_key, line.AtLevelOf(body_fields));
    }
    IdLine nspid("NSpid");
    RequireLine(p, nspid);
    p.Value("init.NSpid.first", nspid.ids[0]);
    char self[32];
    const ssize_t n = readlink("/proc/self", self, sizeof self - 1);
    if (n <= 0) p.SetupFailed("readlink /proc/self");
    int64_t proc_self = 0;
    for (ssize_t i = 0; i < n && self[i] >= '0' && self[i] <= '9'; ++i) {
      proc_self = proc_self * 10 + (self[i] - '0');
    }
    p.Value("init.proc_self", proc_self);
    return 0;
  });
  RequireCreated(p, init, "clone of the namespace init");
  p.Value("parent.clone_ret", init.pid());
  init.Wait();
}

NSC_CASE({
    .id = "pid.nspid_status_fields",
    .title = "NStgid, NSpid, NSpgid and NSsid list the ID in each namespace, outermost first",
    .source = {"proc_pid_status(5)", "NStgid, NSpid, NSpgid, NSsid"},
    .observe = "a namespace init that called setsid() reads its status through the parent's "
               "procfs: each of the four lines ends in '<outer> 1' (two fields from the "
               "parent's level, the outer one equal to clone()'s result), and the first NSpid "
               "field is the PID /proc/self names",
    .control = "no CLONE_NEWPID: each line has a single field from the parent's level on, and "
               "it is not 1, contradicting the .levels and .innermost keys",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWPID, .min_kernel = {4, 1}},
    .expect = {Expect("init.NStgid.levels", Eq(2)), Expect("init.NStgid.innermost", Eq(1)),
               ExpectSameValue("init.NStgid.at_parent_level", "parent.clone_ret"),
               Expect("init.NSpid.levels", Eq(2)), Expect("init.NSpid.innermost", Eq(1)),
               ExpectSameValue("init.NSpid.at_parent_level", "parent.clone_ret"),
               Expect("init.NSpgid.levels", Eq(2)), Expect("init.NSpgid.innermost", Eq(1)),
               ExpectSameValue("init.NSpgid.at_parent_level", "parent.clone_ret"),
               Expect("init.NSsid.levels", Eq(2)), Expect("init.NSsid.innermost", Eq(1)),
               ExpectSameValue("init.NSsid.at_parent_level", "parent.clone_ret"),
               ExpectSameValue("init.NSpid.first", "init.proc_self")},
    .body = NspidStatusFields,
});

}  // namespace
}  // namespace nsc::cases
