// User namespaces: /proc/PID/setgroups — the deny-before-gid_map rule for unprivileged
// writers, when the file may be written, what "deny" does to setgroups(2), and that "deny" is
// inherited. Sources: user_namespaces(7), 'The /proc/pid/setgroups file', 'Defining user and
// group ID mappings', 'Interaction with system calls that change process UIDs or GIDs';
// getgroups(2), ERRORS. The file exists since 3.19 (and in many backports): its presence is
// probed rather than the version trusted (catalogue record item 18).
#include "user_common.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::StrEq;
using userns::BecomeUnprivileged;

// Skips when the kernel has no /proc/PID/setgroups (catalogue record item 18).
void RequireSetgroupsFile(const Probe& p) {
  if (access("/proc/self/setgroups", F_OK) == -1) {
    p.Skip(ReasonCode::kKernelTooOld, "no /proc/PID/setgroups (Linux 3.19, or a backport, needed)");
  }
}

// Skips when the caller's own user namespace already has setgroups "deny" (a container or a
// user namespace set up without CAP_SETGID): every namespace created below inherits it, so
// "allow" cannot be observed there.
void RequireSetgroupsAllowHere(const Probe& p) {
  if (userns::SetgroupsDeniedHere()) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "setgroups is already \"deny\" in the caller's user namespace (inherited below)");
  }
}

// Reads a setgroups file into `out` without the trailing newline.
void ReadSetgroups(const char* path, char* out, size_t size) {
  if (ReadSmallFile(path, out, size) < 0) {
    out[0] = '\0';
    return;
  }
  for (char* s = out; *s != '\0'; ++s) {
    if (*s == '\n') *s = '\0';
  }
}

// Flow: 1. an unprivileged child (uid E, gid G) enters a new user namespace; 2. it writes its
// own gid_map "0 G 1"; 3. it writes "deny" to /proc/self/setgroups; 4. it writes the same
// gid_map again. The control writes "deny" first.
void GidMapRequiresSetgroupsDeny(const Probe& p) {
  RequireSetgroupsFile(p);
  RequireSetgroupsAllowHere(p);
  ChildProcess child = Spawn(0, [&] {
    BecomeUnprivileged(p);
    const PathBuf line = userns::MapText(0, getegid(), 1);
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    if (p.control()) p.Call("deny", WriteSmallFile("/proc/self/setgroups", "deny"));
    p.Call("gid_map.before_deny", WriteSmallFile("/proc/self/gid_map", line.c_str()));
    if (!p.control()) p.Call("deny", WriteSmallFile("/proc/self/setgroups", "deny"));
    p.Call("gid_map.after_deny", WriteSmallFile("/proc/self/gid_map", line.c_str()));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.gid_map_requires_setgroups_deny",
    .title = "Without CAP_SETGID in the parent, gid_map may be written only after setgroups \"deny\"",
    .source = {"user_namespaces(7)", "Defining user and group ID mappings"},
    .references = {"user_namespaces(7), Interaction with system calls that change process UIDs or GIDs",
                   "catalogue record item 18: the file's presence is probed instead of gating on 3.19, "
                   "so backports run too"},
    .observe = "an unprivileged process in a new user namespace: writing its own gid_map "
               "\"0 G 1\" fails with EPERM; after writing \"deny\" to /proc/self/setgroups the "
               "same write succeeds",
    .control = "\"deny\" is written first: the first gid_map write succeeds (and the second then "
               "fails: maps are written once): contradicts gid_map.before_deny and "
               "gid_map.after_deny",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("deny", Succeeds()))},
    .expect = {ExpectCall("gid_map.before_deny", FailsWith(EPERM)),
               ExpectCall("gid_map.after_deny", Succeeds())},
    .body = GidMapRequiresSetgroupsDeny,
});

// Flow: (a) skip unless in the initial user namespace; read /proc/self/setgroups (control: of
// a new namespace after "deny"); (b) a child in a new user namespace writes "deny", then "allow";
// (c) a child Q that can write gid_map for a child namespace (real root, otherwise root of a
// user namespace it enters first) parks child C in a new user namespace, writes C's gid_map,
// then lets C write "deny" (control: C writes "deny" before the gid_map is written).
void SetgroupsFileRules(const Probe& p) {
  RequireSetgroupsFile(p);
  if (!userns::InInitialUserNs()) {
    p.Skip(ReasonCode::kPreconditionUnmet, "part (a) needs the initial user namespace");
  }
  ChildProcess a = Spawn(0, [&] {
    if (p.control()) {
      userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER) (control)");
      NSC_SETUP(p, WriteSmallFile("/proc/self/setgroups", "deny"), "deny (control)");
    }
    char value[32];
    ReadSetgroups("/proc/self/setgroups", value, sizeof value);
    p.Text("a.initial_ns", value);
    return 0;
  });
  if (!a.ok()) p.SetupFailed("fork");
  a.Wait();

  ChildProcess b = Spawn(0, [&] {
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    p.Call("b.deny", WriteSmallFile("/proc/self/setgroups", "deny"));
    p.Call("b.allow_after_deny", WriteSmallFile("/proc/self/setgroups", p.Pick("allow", "deny")));
    return 0;
  });
  if (!b.ok()) p.SetupFailed("fork");
  b.Wait();

  ChildProcess q = Spawn(0, [&] {
    const bool real_root = userns::RealRoot();
    p.Value("c.parent_is_real_root", real_root ? 1 : 0);
    if (!real_root) {
      userns::EnterMappedUserNs(p, 0, "entering a user namespace to be a privileged parent");
    }
    userns::ParkedChild c;
    const bool started = c.Start(
        0,
        [&] {
          userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
          if (p.control()) p.Call("c.child_deny", WriteSmallFile("/proc/self/setgroups", "deny"));
          return 0;
        },
        [&] {
          if (!p.control()) p.Call("c.child_deny", WriteSmallFile("/proc/self/setgroups", "deny"));
          return 0;
        });
    if (!started) return 0;
    p.Call("c.parent_gid_map",
           userns::WriteProcFile(c.pid(), "gid_map", userns::MapText(0, getegid(), 1).c_str()));
    c.Release();
    return 0;
  });
  if (!q.ok()) p.SetupFailed("fork");
  q.Wait();
}

NSC_CASE({
    .id = "user.setgroups_file_rules",
    .title = "/proc/PID/setgroups reads allow/deny, is \"allow\" initially, and may be written only before gid_map",
    .source = {"user_namespaces(7)", "The /proc/pid/setgroups file"},
    .references = {"catalogue record item 18 (the file's presence is probed)"},
    .observe = "(a) in the initial namespace the file reads \"allow\"; (b) in a new namespace "
               "\"deny\" succeeds and a following \"allow\" fails with EPERM; (c) once a "
               "privileged parent (real root; rootless: root of a user namespace entered first) "
               "has written the child's gid_map, the child's \"deny\" fails with EPERM",
    .control = "(a) a new namespace's file after \"deny\" is read; (b) \"deny\" is written twice; "
               "(c) the child writes \"deny\" before the gid_map exists: all succeed (contradicts "
               "a.initial_ns, b.allow_after_deny and c.child_deny)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("b.deny", Succeeds())),
                      Given(ExpectCall("c.parent_gid_map", Succeeds()))},
    .expect = {ExpectText("a.initial_ns", StrEq("allow")),
               ExpectCall("b.allow_after_deny", FailsWith(EPERM)),
               ExpectCall("c.child_deny", FailsWith(EPERM)), Record("c.parent_is_real_root")},
    .body = SetgroupsFileRules,
});

// One parked child C in a new user namespace below the caller, which holds CAP_SETUID and
// CAP_SETGID over it (real root, or root of a user namespace U0): the caller prepares C's
// setgroups/maps as `setup` says — uid_map "0 <outside_uid> 1", gid_map "0 0 1" — then C
// records whether it holds CAP_SETGID and calls setgroups(1, {0}).
enum class GroupsSetup { kNothing, kDenyAndMaps, kMapsOnly };
void TrySetgroups(const Probe& p, const char* key, const char* cap_key, GroupsSetup setup,
                  uid_t outside_uid) {
  userns::ParkedChild c;
  const bool started = c.Start(
      0,
      [&] {
        userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
        return 0;
      },
      [&] {
        if (cap_key != nullptr) p.Value(cap_key, HasEffectiveCapability(CAP_SETGID));
        const gid_t group = 0;
        p.Call(key, syscall(SYS_setgroups, 1, &group));
        return 0;
      });
  if (!started) p.SetupFailed("parked child");
  if (setup == GroupsSetup::kDenyAndMaps) {
    NSC_SETUP(p, userns::WriteProcFile(c.pid(), "setgroups", "deny"), "setgroups deny");
  }
  if (setup != GroupsSetup::kNothing) {
    const PathBuf uid_line = userns::MapText(0, outside_uid, 1);
    NSC_SETUP(p, userns::WriteProcFile(c.pid(), "uid_map", uid_line.c_str()), "uid_map");
    NSC_SETUP(p, userns::WriteProcFile(c.pid(), "gid_map", "0 0 1\n"), "gid_map");
  }
  c.Release();
}

// Flow: a child Q that can write a child namespace's maps with setgroups still "allow" where it
// can (real root; otherwise it becomes root of a mapped user namespace U0, whose "deny" every
// namespace below inherits) starts three children, each in a new user namespace with every
// capability there; each records CAP_SETGID and calls setgroups(1, {0}): (1) after Q wrote
// "deny" and the maps; (2) with no maps at all; (3) after Q wrote the maps only (recorded: it
// succeeds below real root, and meets the inherited "deny" below U0).
void SetgroupsDeniedOrUnmappedEperm(const Probe& p) {
  RequireSetgroupsFile(p);
  const bool real_root = userns::RealRoot();
  if (p.control() && !real_root) {
    p.Skip(ReasonCode::kInsufficientPrivilege,
           "the control needs a map writer whose setgroups is \"allow\": real root");
  }
  ChildProcess q = Spawn(0, [&] {
    p.Value("writer_is_real_root", real_root ? 1 : 0);
    if (!real_root) userns::EnterMappedUserNs(p, 0, "entering a user namespace to write maps from");
    // Real root maps a non-zero uid, which needs no CAP_SETFCAP; in U0 only uid 0 is mapped.
    const uid_t outside = real_root ? userns::kNobody : 0;
    TrySetgroups(p, "denied.setgroups", "denied.cap_setgid",
                 p.Pick(GroupsSetup::kDenyAndMaps, GroupsSetup::kMapsOnly), outside);
    TrySetgroups(p, "unmapped.setgroups", "unmapped.cap_setgid",
                 p.Pick(GroupsSetup::kNothing, GroupsSetup::kMapsOnly), outside);
    TrySetgroups(p, "allowed.setgroups", nullptr, GroupsSetup::kMapsOnly, outside);
    return 0;
  });
  if (!q.ok()) p.SetupFailed("fork");
  q.Wait();
}

NSC_CASE({
    .id = "user.setgroups_denied_or_unmapped_eperm",
    .title = "setgroups(2) fails with EPERM when setgroups is \"deny\" or gid_map is unwritten",
    .source = {"user_namespaces(7)", "The /proc/pid/setgroups file"},
    .references = {"getgroups(2), ERRORS", "catalogue record item 18 (the file's presence is probed)"},
    .observe = "in a new user namespace with every capability (CAP_SETGID checked): after "
               "\"deny\" and the maps, setgroups(1, {0}) fails with EPERM; with no gid_map it "
               "fails with EPERM. Recorded: with \"allow\" and maps written by real root in the "
               "parent it succeeds (rootless, \"deny\" is inherited from the writer's namespace)",
    .control = "real root writes the maps with \"allow\" for all three: every setgroups() "
               "succeeds (contradicts denied.setgroups and unmapped.setgroups); rootless there "
               "is no writer with \"allow\", so the control skips",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(Expect("denied.cap_setgid", Eq(1))),
                      Given(Expect("unmapped.cap_setgid", Eq(1)))},
    .expect = {ExpectCall("denied.setgroups", FailsWith(EPERM)),
               ExpectCall("unmapped.setgroups", FailsWith(EPERM)), Record("allowed.setgroups"),
               Record("writer_is_real_root")},
    .body = SetgroupsDeniedOrUnmappedEperm,
});

// Flow: a child enters U1, writes "deny" and its maps ("0 E 1"), then enters U2 below U1;
// it reads U2's setgroups and writes "allow" to it. The control skips U1: U2 is a direct child
// of the caller's namespace.
void SetgroupsDenyInherited(const Probe& p) {
  RequireSetgroupsFile(p);
  if (p.control()) RequireSetgroupsAllowHere(p);
  ChildProcess child = Spawn(0, [&] {
    if (!p.control()) {
      userns::EnterMappedUserNs(p, 0, "unshare(CLONE_NEWUSER) for U1 (deny and maps)");
    }
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER) for U2");
    char value[32];
    ReadSetgroups("/proc/self/setgroups", value, sizeof value);
    p.Text("u2.setgroups", value);
    p.Call("u2.write_allow", WriteSmallFile("/proc/self/setgroups", "allow"));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.setgroups_deny_inherited",
    .title = "A child user namespace inherits setgroups \"deny\", which cannot be reversed below",
    .source = {"user_namespaces(7)", "The /proc/pid/setgroups file"},
    .references = {"catalogue record item 18 (the file's presence is probed)"},
    .observe = "in U1 \"deny\" and the maps are written, then unshare(CLONE_NEWUSER): the new "
               "namespace's setgroups reads \"deny\", and writing \"allow\" there fails with EPERM",
    .control = "the new namespace is created directly below the caller's (\"allow\"): it reads "
               "\"allow\" and writing \"allow\" succeeds (contradicts u2.setgroups and "
               "u2.write_allow)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .expect = {ExpectText("u2.setgroups", StrEq("deny")),
               ExpectCall("u2.write_allow", FailsWith(EPERM))},
    .body = SetgroupsDenyInherited,
});

}  // namespace
}  // namespace nsc::cases
