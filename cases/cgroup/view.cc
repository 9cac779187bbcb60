// Cgroup namespaces: the view of /proc/PID/cgroup — the creator's cgroups become the root,
// other paths are shown relative to it, and setns() changes the view, never the membership.
// Source: cgroup_namespaces(7), DESCRIPTION; setns(2), 'Details for specific namespace types'.
//
// Works on v2, v1 and hybrid hosts (cgroup_util.h). Touching the host: where a rule needs a
// child cgroup, the body creates it under its own cgroup (v2 preferred), moves only case
// processes into it, moves them back while they are alive and removes it before it ends, in the
// rule and in the control. No cgroup hierarchy is mounted or remounted.
#include <sys/stat.h>

#include <cstring>

#include "../common/requires_cap_sys_admin.h"
#include "cgroup_util.h"
#include "nsconform/case.h"

namespace nsc::cases::cgroup {
namespace {

using ::testing::Eq;
using ::testing::Gt;

// Records /proc/<pid>/cgroup (pid 0: self) as one line, "ID:CONTROLLERS:PATH;..." (the report
// truncates long texts).
void RecordCgroupFile(const Probe& p, const char* key, pid_t pid) {
  const PathBuf file = ProcPath(pid, "cgroup");
  char text[4096];
  if (ReadSmallFile(file.c_str(), text, sizeof text) < 0) {
    p.Text(key, "(unreadable)");
    return;
  }
  for (char* c = text; *c != '\0'; ++c) {
    if (*c == '\n') *c = c[1] == '\0' ? '\0' : ';';
  }
  p.Text(key, text);
}

// FNV-1a hash of /proc/<pid>/cgroup: every hierarchy's path at once, or -1 if unreadable.
int64_t HashCgroupFile(pid_t pid) {
  const PathBuf file = ProcPath(pid, "cgroup");
  char text[4096];
  if (ReadSmallFile(file.c_str(), text, sizeof text) < 0) return -1;
  uint64_t h = 1469598103934665603ull;
  for (const char* c = text; *c != '\0'; ++c) {
    h ^= static_cast<unsigned char>(*c);
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h >> 1);
}

// Records the path of hierarchy `prefix` in /proc/<pid>/cgroup (pid 0: self).
void RecordPath(const Probe& p, const char* key, pid_t pid, const char* prefix) {
  char path[256];
  if (CgroupPathOf(pid, prefix, path, sizeof path) == -1 && path[0] != '(') {
    CopyString(path, sizeof path, "(unreadable)", 12);
  }
  p.Text(key, path);
}

// Flow:
//  1. The body creates a child cgroup X under its own cgroup in the first writable hierarchy
//     (v2 first); unprivileged callers usually cannot, and then work in their current cgroups.
//  2. U is moved into X (when it exists). It counts the lines of /proc/self/cgroup whose path
//     is not "/" (none at all: nothing to observe, skip), then unshare(CLONE_NEWCGROUP) and
//     counts again: every line now reads "/".
//     Control: unshare without CLONE_NEWCGROUP: the paths stay what they were.
//  3. The body moves U back, lets it exit and removes X.
void RootIsCurrentCgroup(const Probe& p) {
  Barrier moved, looked, release;
  if (!moved.ok() || !looked.ok() || !release.ok()) p.SetupFailed("pipes for the barriers");
  CaseCgroup cg;
  const PathBuf name = CaseCgroupName("root");
  const bool made = cg.Create(name.c_str(), false) == 0;
  const int mkdir_errno = errno;
  PathBuf where(made ? cg.dir() : "(none: mkdir failed with ");
  if (!made) where.Add(strerrorname_np(mkdir_errno)).Add(")");
  p.Text("setup.case_cgroup", where.c_str());
  ChildProcess u = Spawn(0, [&] {
    moved.CloseWriteEnd();
    looked.CloseReadEnd();
    release.CloseWriteEnd();
    if (!moved.Wait()) return 1;
    CgroupLineCount before;
    if (CountSelfCgroupLines(&before) == -1) p.SetupFailed("reading /proc/self/cgroup");
    if (before.not_root == 0) {
      p.Skip(ReasonCode::kPreconditionUnmet,
             "the caller is in the root cgroup of every hierarchy and cannot create a child "
             "cgroup, so a new namespace root would be indistinguishable");
    }
    p.Value("before.lines_not_root", before.not_root);
    SetupCall(p, "unshare", unshare(p.Flags(CLONE_NEWCGROUP, CLONE_NEWCGROUP)));
    CgroupLineCount after;
    if (CountSelfCgroupLines(&after) == -1) p.SetupFailed("reading /proc/self/cgroup");
    p.Value("after.lines", after.lines);
    p.Value("after.lines_not_root", after.not_root);
    RecordCgroupFile(p, "after.cgroup", 0);
    looked.Signal();
    release.Wait();  // EOF: the body has moved U back
    return 0;
  });
  moved.CloseReadEnd();
  looked.CloseWriteEnd();
  release.CloseReadEnd();
  p.Call("body.clone", u.pid());
  const bool placed = !made || (u.ok() && cg.Move(u.pid()) == 0);
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
    .id = "cgroup.root_is_current_cgroup",
    .title = "A new cgroup namespace's root is the creator's cgroup, in every hierarchy",
    .source = {"cgroup_namespaces(7)", "DESCRIPTION"},
    .references = {"unshare(2), CLONE_NEWCGROUP", "cgroups(7), /proc/[pid]/cgroup"},
    .observe = "from a non-root cgroup (a child cgroup the case creates under its own where it "
               "can, v2 first), unshare(CLONE_NEWCGROUP): every line of /proc/self/cgroup, v1 "
               "and v2 alike, then shows the path \"/\"",
    .control = "unshare without CLONE_NEWCGROUP: the lines keep their non-root paths "
               "(contradicts after.lines_not_root)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWCGROUP, .min_kernel = {4, 6}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(Expect("before.lines_not_root", Gt(0)), ReasonCode::kPreconditionUnmet),
                      Given(ExpectCall("unshare", Succeeds())),
                      Given(Expect("after.lines", Gt(0)))},
    .expect = {Expect("after.lines_not_root", Eq(0)), Record("after.cgroup"),
               Record("setup.case_cgroup")},
    .body = RootIsCurrentCgroup,
});

// Flow:
//  1. The body creates X, X/b and X/c under its own cgroup (first writable hierarchy, v2
//     first); it skips if it cannot (unprivileged).
//  2. Sibling S is moved into X/c and reader U into X/b.
//  3. U: unshare(CLONE_NEWCGROUP), then reads that hierarchy's line of /proc/S/cgroup
//     ("/../c"), of /proc/<body>/cgroup (the body is in X's parent: "/../..") and of
//     /proc/self/cgroup ("/"); /proc/1/cgroup is recorded.
//     Control: unshare without CLONE_NEWCGROUP: the paths stay absolute.
//  4. The body moves S and U back, lets them exit and removes the cgroups.
void PathsRelativeToReader(const Probe& p) {
  Barrier moved, looked, release;
  if (!moved.ok() || !looked.ok() || !release.ok()) p.SetupFailed("pipes for the barriers");
  CaseCgroup cg;
  const PathBuf name = CaseCgroupName("rel");
  if (cg.Create(name.c_str(), false) == -1) {
    PathBuf why("cannot create a child cgroup under the case's own cgroup (mkdir: ");
    why.Add(strerrorname_np(errno)).Add(")");
    p.Skip(ReasonCode::kPreconditionUnmet, why.c_str());
  }
  if (cg.MakeSub("b") == -1 || cg.MakeSub("c") == -1) {
    cg.Remove();
    p.SetupFailed("mkdir of the sub-cgroups b and c");
  }
  const pid_t body = RawGetpid();
  const char* prefix = cg.hierarchy().prefix;
  ChildProcess s = Spawn(0, [&] {
    moved.CloseReadEnd();
    moved.CloseWriteEnd();
    looked.CloseReadEnd();
    looked.CloseWriteEnd();
    release.CloseWriteEnd();
    release.Wait();
    return 0;
  });
  ChildProcess u = Spawn(0, [&] {
    moved.CloseWriteEnd();
    looked.CloseReadEnd();
    release.CloseWriteEnd();
    if (!moved.Wait()) return 1;
    SetupCall(p, "reader.unshare", unshare(p.Flags(CLONE_NEWCGROUP, CLONE_NEWCGROUP)));
    RecordPath(p, "view.sibling", s.pid(), prefix);
    RecordPath(p, "view.ancestor", body, prefix);
    RecordPath(p, "view.self", 0, prefix);
    RecordPath(p, "view.pid1", 1, prefix);
    looked.Signal();
    release.Wait();
    return 0;
  });
  moved.CloseReadEnd();
  looked.CloseWriteEnd();
  release.CloseReadEnd();
  p.Text("setup.hierarchy", prefix);
  const bool placed = s.ok() && u.ok() && cg.Move(s.pid(), "c") == 0 && cg.Move(u.pid(), "b") == 0;
  if (placed) moved.Signal();
  moved.CloseWriteEnd();
  looked.Wait();
  if (s.ok()) cg.MoveBack(s.pid());
  if (u.ok()) cg.MoveBack(u.pid());
  release.CloseWriteEnd();
  u.Wait();
  s.Wait();
  RemoveOrFail(p, cg);
  if (!placed) p.SetupFailed("moving the case processes into the child cgroups");
}

NSC_CASE({
    .id = "cgroup.paths_relative_to_reader",
    .title = "/proc/PID/cgroup paths are relative to the reader's cgroup-namespace root",
    .source = {"cgroup_namespaces(7)", "DESCRIPTION"},
    .references = {"cgroups(7), /proc/[pid]/cgroup"},
    .observe = "a reader in case cgroup X/b unshares its cgroup namespace: a sibling in X/c "
               "reads \"/../c\", the body (in X's parent) \"/../..\", the reader itself \"/\"; "
               "PID 1's entry is recorded",
    .control = "unshare without CLONE_NEWCGROUP: the paths are shown absolute (contradicts "
               "view.sibling, view.ancestor and view.self)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWCGROUP, .min_kernel = {4, 6}},
    .preconditions = {Given(ExpectCall("reader.unshare", Succeeds()))},
    .expect = {ExpectText("view.sibling", "/../c"),
               ExpectText("view.ancestor", "/../.."),
               ExpectText("view.self", "/"), Record("view.pid1"),
               Record("setup.hierarchy")},
    .body = PathsRelativeToReader,
});

// Flow:
//  1. The body creates child cgroup X (skip if it cannot). Target T is moved into X and
//     unshares its cgroup namespace (root: X).
//  2. The body, an outside observer, records joiner C's /proc/C/cgroup: that hierarchy's path
//     and a hash of all lines.
//  3. C: setns() into T's cgroup namespace, then records its own view of its cgroup ("/..").
//     Control (the one factor removed: C's membership staying put): the body migrates C into
//     X before C joins; the observer then sees C's cgroup change, and C's view is "/".
//  4. The body records /proc/C/cgroup again: unchanged.
//  5. The body moves T (and C) back, lets them exit and removes X.
void SetnsNoMigration(const Probe& p) {
  Barrier moved, ready, go, joined, release;
  if (!moved.ok() || !ready.ok() || !go.ok() || !joined.ok() || !release.ok()) {
    p.SetupFailed("pipes for the barriers");
  }
  CaseCgroup cg;
  const PathBuf name = CaseCgroupName("setns");
  if (cg.Create(name.c_str(), false) == -1) {
    PathBuf why("cannot create a child cgroup under the case's own cgroup (mkdir: ");
    why.Add(strerrorname_np(errno)).Add(")");
    p.Skip(ReasonCode::kPreconditionUnmet, why.c_str());
  }
  const char* prefix = cg.hierarchy().prefix;
  ChildProcess t = Spawn(0, [&] {
    moved.CloseWriteEnd();
    ready.CloseReadEnd();
    go.CloseReadEnd();
    go.CloseWriteEnd();
    joined.CloseReadEnd();
    joined.CloseWriteEnd();
    release.CloseWriteEnd();
    if (!moved.Wait()) return 1;
    SetupCall(p, "target.unshare", unshare(CLONE_NEWCGROUP));
    ready.Signal();
    release.Wait();
    return 0;
  });
  ChildProcess c = Spawn(0, [&] {
    moved.CloseReadEnd();
    moved.CloseWriteEnd();
    ready.CloseReadEnd();
    ready.CloseWriteEnd();
    go.CloseWriteEnd();
    joined.CloseReadEnd();
    release.CloseWriteEnd();
    if (!go.Wait()) return 1;
    const PathBuf target = ProcPath(t.pid(), "ns/cgroup");
    UniqueFd ns = OpenFile(target.c_str(), O_RDONLY);
    if (!ns.valid()) p.SetupFailed("open the cgroup namespace file to join");
    OperationCall(p, "joiner.setns", setns(ns.get(), CLONE_NEWCGROUP));
    RecordPath(p, "joiner.own_view", 0, prefix);
    joined.Signal();
    release.Wait();
    return 0;
  });
  moved.CloseReadEnd();
  ready.CloseWriteEnd();
  go.CloseReadEnd();
  joined.CloseWriteEnd();
  release.CloseReadEnd();
  p.Text("setup.hierarchy", prefix);
  const bool placed = t.ok() && c.ok() && cg.Move(t.pid()) == 0;
  if (placed) {
    moved.Signal();
    if (ready.Wait()) {
      RecordPath(p, "outside.before", c.pid(), prefix);
      p.Value("outside.before_all", HashCgroupFile(c.pid()));
      if (p.control() && cg.Move(c.pid()) == -1) p.SetupFailed("control: migrating the joiner");
      go.Signal();
      joined.Wait();
      RecordPath(p, "outside.after", c.pid(), prefix);
      p.Value("outside.after_all", HashCgroupFile(c.pid()));
    }
  }
  if (t.ok()) cg.MoveBack(t.pid());
  if (c.ok()) cg.MoveBack(c.pid());
  moved.CloseWriteEnd();
  go.CloseWriteEnd();
  release.CloseWriteEnd();
  t.Wait();
  c.Wait();
  RemoveOrFail(p, cg);
  if (!placed) p.SetupFailed("moving the target into the child cgroup");
}

NSC_CASE({
    .id = "cgroup.setns_no_migration",
    .title = "setns() into a cgroup namespace changes the caller's view, not its cgroups",
    .source = {"setns(2)", "Details for specific namespace types"},
    .references = {"cgroup_namespaces(7)"},
    .observe = "an outside observer reads the joiner's /proc/PID/cgroup (absolute paths) before "
               "and after the joiner setns()es into a target's cgroup namespace rooted at a "
               "case child cgroup: all lines are unchanged, while the joiner's own view of its "
               "cgroup becomes \"/..\"",
    .control = "the joiner is migrated into the target's cgroup before it joins: the observer "
               "sees a different cgroup and the joiner's view is \"/\", not \"/..\" (contradicts "
               "outside.after, outside.after_all and joiner.own_view)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWCGROUP, .min_kernel = {4, 6}},
    .preconditions = {Given(ExpectCall("target.unshare", Succeeds()))},
    .expect = {ExpectCall("joiner.setns", Succeeds()),
               ExpectSameText("outside.after", "outside.before"),
               ExpectSameValue("outside.after_all", "outside.before_all"),
               ExpectText("joiner.own_view", "/.."), Record("setup.hierarchy")},
    .body = SetnsNoMigration,
});

}  // namespace
}  // namespace nsc::cases::cgroup
