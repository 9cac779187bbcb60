// User namespaces: uid_map, gid_map and projid_map — initial contents, how they read from
// different namespaces, and who may write which ranges, how often, in which format.
// Sources: user_namespaces(7), 'User and group ID mappings: uid_map and gid_map', 'Defining user
// and group ID mappings: writing to uid_map and gid_map', 'Unmapped user and group IDs',
// 'Project ID mappings: projid_map'.
#include <sys/mman.h>
#include <sys/utsname.h>

#include "user_common.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::StrEq;
using userns::BecomeUnprivileged;
using userns::MapLine;
using userns::MapText;

// Reads a map file and records its line count and the fields of its first line as
// <prefix>.lines/.first/.lower/.count.
struct MapKeys {
  const char* lines;
  const char* first;
  const char* lower;
  const char* count;
};
void RecordMap(const Probe& p, const char* path, const MapKeys& keys) {
  char text[4096];
  MapLine line;
  int lines = -1;
  if (ReadSmallFile(path, text, sizeof text) >= 0) lines = userns::ParseMap(text, &line, 1);
  if (keys.lines != nullptr) p.Value(keys.lines, lines);
  p.Value(keys.first, line.first);
  p.Value(keys.lower, line.lower);
  p.Value(keys.count, line.count);
}

// A child A in a new user namespace U1 (setgroups deny, maps "0 E 1") with its own child B in a
// user namespace U2 below U1. `in_a` runs in A once B is parked (with B's pid); then A reports
// B's pid (same PID namespace as the body) and waits for Release().
class NestedPair {
 public:
  bool Start(const Probe& p, FunctionRef<void()> a_setup, FunctionRef<void(pid_t)> in_a) {
    if (!report_.ok() || !release_.ok()) p.SetupFailed("pipe");
    a_ = Spawn(0, [&] {
      report_.CloseReadEnd();
      release_.CloseWriteEnd();
      userns::EnterMappedUserNs(p, 0, "unshare(CLONE_NEWUSER) for U1");
      a_setup();
      userns::ParkedChild b;
      if (!b.Start(CLONE_NEWUSER, [] { return 0; })) p.SetupFailed("clone(CLONE_NEWUSER) for U2");
      in_a(b.pid());
      report_.Send(b.pid());
      release_.Wait();
      b.Release();
      return 0;
    });
    report_.CloseWriteEnd();
    release_.CloseReadEnd();
    if (!a_.ok()) p.SetupFailed("fork");
    int64_t pid = 0;
    if (!report_.Receive(&pid)) return false;
    b_pid_ = static_cast<pid_t>(pid);
    return true;
  }
  pid_t b_pid() const { return b_pid_; }
  void Release() {
    release_.Signal();
    a_.Wait();
  }

 private:
  Barrier report_, release_;
  ChildProcess a_;
  pid_t b_pid_ = -1;
};

// Flow: a child calls unshare(CLONE_NEWUSER) and reads its /proc/self/uid_map and gid_map.
void UidMapInitiallyEmpty(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    userns::UnshareOrSkip(p, p.Flags(CLONE_NEWUSER, CLONE_NEWUSER), "unshare(CLONE_NEWUSER)");
    char buf[4096];
    p.Call("uid_map.read_bytes", ReadSmallFile("/proc/self/uid_map", buf, sizeof buf));
    p.Call("gid_map.read_bytes", ReadSmallFile("/proc/self/gid_map", buf, sizeof buf));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.uid_map_initially_empty",
    .title = "A new user namespace has no mappings: uid_map and gid_map read as empty",
    .source = {"user_namespaces(7)", "User and group ID mappings: uid_map and gid_map"},
    .observe = "right after unshare(CLONE_NEWUSER), reading /proc/self/uid_map and gid_map "
               "returns 0 bytes",
    .control = "no CLONE_NEWUSER: the maps of the caller's namespace are read, which are not "
               "empty (contradicts uid_map.read_bytes and gid_map.read_bytes)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 5}},
    .expect = {ExpectCall("uid_map.read_bytes", SucceedsWith(Eq(0))),
               ExpectCall("gid_map.read_bytes", SucceedsWith(Eq(0)))},
    .body = UidMapInitiallyEmpty,
});

// Flow: 1. skip unless the body is in the initial user namespace (nsfs inode
// PROC_USER_INIT_INO); 2. a child (control: after entering a new, mapped user namespace) parses
// /proc/self/uid_map and gid_map.
void InitialNsDummyMap(const Probe& p) {
  if (!userns::InInitialUserNs()) {
    p.Skip(ReasonCode::kPreconditionUnmet, "not running in the initial user namespace");
  }
  ChildProcess child = Spawn(0, [&] {
    if (p.control()) userns::EnterMappedUserNs(p, 0, "unshare(CLONE_NEWUSER) (control)");
    RecordMap(p, "/proc/self/uid_map", {"uid.lines", "uid.first", "uid.lower", "uid.count"});
    RecordMap(p, "/proc/self/gid_map", {"gid.lines", "gid.first", "gid.lower", "gid.count"});
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.initial_ns_dummy_map",
    .title = "The initial user namespace's maps are the single identity line \"0 0 4294967295\"",
    .source = {"user_namespaces(7)", "User and group ID mappings: uid_map and gid_map"},
    .observe = "in the initial user namespace, uid_map and gid_map each hold one line with the "
               "fields 0, 0, 4294967295 (so (uid_t)-1 stays unmapped)",
    .control = "the maps of a new user namespace mapping one id are read instead (contradicts "
               "uid.count and gid.count)",
    .needs = {.privilege = Privilege::kNone, .min_kernel = {3, 5}},
    .expect = {Expect("uid.lines", Eq(1)), Expect("uid.first", Eq(0)), Expect("uid.lower", Eq(0)),
               Expect("uid.count", Eq(4294967295LL)), Expect("gid.lines", Eq(1)),
               Expect("gid.first", Eq(0)), Expect("gid.lower", Eq(0)),
               Expect("gid.count", Eq(4294967295LL))},
    .body = InitialNsDummyMap,
});

// Flow: 1. child U drops to an unprivileged uid E, records E, enters a new user namespace with
// the map "0 E 1" and records its own uid_map (the reader is inside U); it stays parked;
// 2. the body (parent namespace) reads /proc/U/uid_map; 3. child S drops to E, enters its own
// new user namespace with the map "0 E 1" and reads /proc/U/uid_map.
void UidMapViewRelativeToReader(const Probe& p) {
  userns::ParkedChild u;
  const bool started = u.Start(0, [&] {
    BecomeUnprivileged(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    p.Value("creator.euid", uid);
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "mapping U");
    RecordMap(p, "/proc/self/uid_map", {nullptr, "inside.first", "inside.lower", "inside.count"});
    return 0;
  });
  if (!started) return;
  const PathBuf u_map = ProcPath(u.pid(), "uid_map");
  RecordMap(p, u_map.c_str(), {nullptr, "parent.first", "parent.lower", "parent.count"});
  ChildProcess s = Spawn(0, [&] {
    BecomeUnprivileged(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    if (!p.control()) {
      userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER) for the sibling");
      NSC_SETUP(p, WriteIdMaps(0, 0, uid, 0, gid), "mapping S");
    }
    RecordMap(p, u_map.c_str(), {nullptr, "sibling.first", "sibling.lower", "sibling.count"});
    return 0;
  });
  if (!s.ok()) p.SetupFailed("fork");
  s.Wait();
  u.Release();
}

NSC_CASE({
    .id = "user.uid_map_view_relative_to_reader",
    .title = "The second field of uid_map is shown in the reader's namespace (parent's, when read from inside)",
    .source = {"user_namespaces(7)", "User and group ID mappings: uid_map and gid_map"},
    .observe = "namespace U with map \"0 E 1\": read from the parent namespace it shows "
               "\"0 E 1\"; from inside U also \"0 E 1\" (the parent's view); from a sibling "
               "namespace S that also maps \"0 E 1\" it shows \"0 0 1\"",
    .control = "the sibling reader stays in the parent namespace: it sees \"0 E 1\" "
               "(contradicts sibling.lower)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 5}},
    .expect = {Expect("parent.first", Eq(0)), ExpectSameValue("parent.lower", "creator.euid"),
               Expect("parent.count", Eq(1)), Expect("inside.first", Eq(0)),
               ExpectSameValue("inside.lower", "creator.euid"), Expect("inside.count", Eq(1)),
               Expect("sibling.first", Eq(0)), Expect("sibling.lower", Eq(0)),
               Expect("sibling.count", Eq(1))},
    .body = UidMapViewRelativeToReader,
});

// Flow: 1. a child calls unshare(CLONE_NEWUSER) and writes its own uid_map "0 E 1", then
// setgroups "deny" and gid_map "0 G 1"; 2. it writes both maps again (control: first enters a
// nested user namespace, whose maps are still unwritten, and writes "0 0 1" there).
void UidMapWriteOnce(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    userns::PrepareOwnIdMapping(p);
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    const PathBuf uid_line = MapText(0, uid, 1);
    const PathBuf gid_line = MapText(0, gid, 1);
    p.Call("first.uid_map", WriteSmallFile("/proc/self/uid_map", uid_line.c_str()));
    NSC_SETUP(p, WriteSmallFile("/proc/self/setgroups", "deny"), "setgroups deny");
    p.Call("first.gid_map", WriteSmallFile("/proc/self/gid_map", gid_line.c_str()));
    const PathBuf nested_line = MapText(0, 0, 1);
    if (p.control()) NSC_SETUP(p, unshare(CLONE_NEWUSER), "nested unshare (control)");
    p.Call("second.uid_map", WriteSmallFile("/proc/self/uid_map",
                                            p.Pick(uid_line.c_str(), nested_line.c_str())));
    p.Call("second.gid_map", WriteSmallFile("/proc/self/gid_map",
                                            p.Pick(gid_line.c_str(), nested_line.c_str())));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

NSC_CASE({
    .id = "user.uid_map_write_once",
    .title = "uid_map and gid_map can be written only once; a later write fails with EPERM",
    .source = {"user_namespaces(7)",
               "Defining user and group ID mappings: writing to uid_map and gid_map"},
    .observe = "in a new user namespace the first write of \"0 E 1\" to uid_map (and of \"0 G 1\" "
               "to gid_map after setgroups deny) succeeds; writing the same line again fails "
               "with EPERM",
    .control = "the second write goes to the still unwritten maps of a nested namespace and "
               "succeeds (contradicts second.uid_map and second.gid_map)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 5}},
    .preconditions = {Given(ExpectCall("first.uid_map", Succeeds())),
                      Given(ExpectCall("first.gid_map", Succeeds()))},
    .expect = {ExpectCall("second.uid_map", FailsWith(EPERM)),
               ExpectCall("second.gid_map", FailsWith(EPERM))},
    .body = UidMapWriteOnce,
});

// One malformed write to the own uid_map of a fresh user namespace: write(text) at `offset`.
// In the control the write is the valid "0 E 1\n" at offset 0 (a page of it for `page`).
enum class Malformed { kCountZero, kOverlapLower, kOverlapFirst, kOffset1, kNonNumeric, kPageSize };
void TryMalformedMap(const Probe& p, const char* key, Malformed what) {
  ChildProcess child = Spawn(0, [&] {
    userns::PrepareOwnIdMapping(p);
    const uid_t uid = geteuid();
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    UniqueFd map = OpenFile("/proc/self/uid_map", O_WRONLY);
    if (!map.valid()) p.SetupFailed("open /proc/self/uid_map");
    const PathBuf valid = MapText(0, uid, 1);
    const char* text = valid.c_str();
    size_t len = valid.size();
    off_t offset = 0;
    if (what == Malformed::kPageSize) {
      // "0 E 1", blanks, "\n": a valid line of exactly one page (one byte less in the control).
      const size_t page = static_cast<size_t>(getpagesize());
      char* buf = static_cast<char*>(
          mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (buf == MAP_FAILED) p.SetupFailed("mmap");
      for (size_t i = 0; i < page; ++i) buf[i] = ' ';
      for (size_t i = 0; i + 1 < valid.size(); ++i) buf[i] = valid.c_str()[i];
      len = p.control() ? page - 1 : page;
      buf[len - 1] = '\n';
      text = buf;
    } else if (!p.control()) {
      switch (what) {
        case Malformed::kCountZero: text = "0 0 0\n"; break;
        case Malformed::kOverlapLower: text = "0 0 1\n1 0 1\n"; break;
        case Malformed::kOverlapFirst: text = "0 0 1\n0 1 1\n"; break;
        case Malformed::kNonNumeric: text = "a 0 1\n"; break;
        case Malformed::kOffset1: offset = 1; break;
        case Malformed::kPageSize: break;
      }
      if (what != Malformed::kOffset1) {
        len = 0;
        while (text[len] != '\0') ++len;
      }
    }
    // Not pwrite(): /proc/PID/uid_map is a seq_file, which refuses pwrite with ESPIPE.
    if (offset != 0) NSC_SETUP(p, static_cast<int>(lseek(map.get(), offset, SEEK_SET)), "lseek");
    p.Call(key, write(map.get(), text, len));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

// Flow: for each malformed write — count 0, ranges overlapping in field 2, ranges overlapping
// in field 1, a write at offset 1 (lseek, then write), a non-numeric field, a write of a whole page — a fresh child
// enters a new user namespace and writes it to its own uid_map.
void UidMapSyntaxEinval(const Probe& p) {
  TryMalformedMap(p, "count_zero", Malformed::kCountZero);
  TryMalformedMap(p, "overlap_lower", Malformed::kOverlapLower);
  TryMalformedMap(p, "overlap_first", Malformed::kOverlapFirst);
  TryMalformedMap(p, "offset_1", Malformed::kOffset1);
  TryMalformedMap(p, "non_numeric", Malformed::kNonNumeric);
  TryMalformedMap(p, "page_size", Malformed::kPageSize);
}

NSC_CASE({
    .id = "user.uid_map_syntax_einval",
    .title = "Map writes that break the format rules fail with EINVAL",
    .source = {"user_namespaces(7)",
               "Defining user and group ID mappings: writing to uid_map and gid_map"},
    .observe = "each of \"0 0 0\\n\", \"0 0 1\\n1 0 1\\n\" (overlap in field 2), "
               "\"0 0 1\\n0 1 1\\n\" (overlap in field 1), a write at file offset 1 (lseek; "
               "pwrite is refused with ESPIPE by the seq_file), \"a 0 1\\n\", "
               "and a valid line padded to a whole page, written to a fresh namespace's own "
               "uid_map, fails with EINVAL (format checks precede the permission checks)",
    .control = "each write is the valid \"0 E 1\\n\" at offset 0 (padded to one byte less than a "
               "page): all succeed (contradicts every key)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 5}},
    .expect = {ExpectCall("count_zero", FailsWith(EINVAL)),
               ExpectCall("overlap_lower", FailsWith(EINVAL)),
               ExpectCall("overlap_first", FailsWith(EINVAL)),
               ExpectCall("offset_1", FailsWith(EINVAL)),
               ExpectCall("non_numeric", FailsWith(EINVAL)),
               ExpectCall("page_size", FailsWith(EINVAL))},
    .body = UidMapSyntaxEinval,
});

// Builds `lines` one-wide, non-overlapping lines "k 1000+k 1\n" (parent uid 0 stays unmapped,
// so the writer needs CAP_SETUID but not CAP_SETFCAP).
void BuildLines(userns::TextBuf& text, int lines) {
  for (int k = 0; k < lines; ++k) text.Add(k).Add(" ").Add(1000 + k).Add(" 1\n");
}

// Flow: 1. two children enter new user namespaces and park; 2. the body (root in the initial
// namespace) writes 340 lines "k 1000+k 1" to the first one's uid_map and reads it back; 3. it
// writes 341 such lines to the second one's uid_map.
void UidMapLineLimit(const Probe& p) {
  userns::ParkedChild at_limit, over_limit;
  auto enter = [&] { return unshare(CLONE_NEWUSER) == 0 ? 0 : 1; };
  if (!at_limit.Start(0, enter) || !over_limit.Start(0, enter)) p.SetupFailed("parked children");
  userns::TextBuf lines340, lines341;
  BuildLines(lines340, 340);
  BuildLines(lines341, p.Pick(341, 340));
  const PathBuf map340 = ProcPath(at_limit.pid(), "uid_map");
  const PathBuf map341 = ProcPath(over_limit.pid(), "uid_map");
  p.Call("write_340", userns::OpenAndWrite(map340.c_str(), lines340.c_str(), lines340.size()));
  char back[16384];  // 340 lines of "%10u %10u %10u\n"
  userns::MapLine first;
  p.Value("read_back_lines",
          ReadSmallFile(map340.c_str(), back, sizeof back) >= 0 ? userns::ParseMap(back, &first, 1) : -1);
  p.Call("write_341", userns::OpenAndWrite(map341.c_str(), lines341.c_str(), lines341.size()));
  at_limit.Release();
  over_limit.Release();
}

NSC_CASE({
    .id = "user.uid_map_line_limit",
    .title = "A map may have at most 340 lines (since 4.15)",
    .source = {"user_namespaces(7)",
               "Defining user and group ID mappings: writing to uid_map and gid_map"},
    .references = {"catalogue record item 16: 5 lines up to 4.14; gated on 4.15"},
    .observe = "root in the parent writes 340 one-wide non-overlapping lines to a child "
               "namespace's uid_map: it succeeds and reads back as 340 lines; 341 lines fail "
               "with EINVAL",
    .control = "the second write also has 340 lines: it succeeds (contradicts write_341)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWUSER, .min_kernel = {4, 15}},
    .preconditions = {Given(ExpectCall("write_340", Succeeds()))},
    .expect = {Expect("read_back_lines", Eq(340)), ExpectCall("write_341", FailsWith(EINVAL))},
    .body = UidMapLineLimit,
});

// Flow: 1. child A enters U1 (maps "0 E 1"), and its child B enters U2 below U1 and parks;
// 2. the body — in U1's parent, i.e. the namespace of U2's grandparent; real root when run as
// root — opens /proc/B/uid_map and writes "0 <its euid> 1". In the control A, in U2's parent
// U1, writes "0 0 1" instead.
void UidMapWriterLocation(const Probe& p) {
  NestedPair pair;
  const bool started = pair.Start(
      p, [] {},
      [&](pid_t b) {
        if (!p.control()) return;
        const PathBuf map = ProcPath(b, "uid_map");
        const PathBuf line = MapText(0, 0, 1);
        p.Call("write", userns::OpenAndWrite(map.c_str(), line.c_str(), line.size()));
      });
  if (!started) return;
  p.Value("writer.euid", geteuid());
  if (!p.control()) {
    const PathBuf map = ProcPath(pair.b_pid(), "uid_map");
    const PathBuf line = MapText(0, geteuid(), 1);
    p.Call("write", userns::OpenAndWrite(map.c_str(), line.c_str(), line.size()));
  }
  pair.Release();
}

NSC_CASE({
    .id = "user.uid_map_writer_location",
    .title = "Only a process in the target namespace or its parent may write its maps",
    .source = {"user_namespaces(7)",
               "Defining user and group ID mappings: writing to uid_map and gid_map"},
    .observe = "U1 is created, and U2 inside it; a process in U1's parent namespace (real root "
               "when run as root) opens U2's /proc/PID/uid_map and writes a valid line: EPERM",
    .control = "a process in U1, U2's parent, writes the map instead: it succeeds (contradicts "
               "write)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 5}},
    .expect = {ExpectCall("write", FailsWith(EPERM)), Record("writer.euid")},
    .body = UidMapWriterLocation,
});

// Flow: child A enters U1 (maps "0 E 1": only E is mapped), its child B enters U2 and parks,
// and A — with every capability in U1 — writes "0 5 1" to B's uid_map (parent id 5 is not
// mapped in U1).
void UidMapParentMustMap(const Probe& p) {
  NestedPair pair;
  const bool started = pair.Start(p, [] {}, [&](pid_t b) {
    const PathBuf map = ProcPath(b, "uid_map");
    const char* line = p.Pick("0 5 1\n", "0 0 1\n");
    size_t len = 0;
    while (line[len] != '\0') ++len;
    p.Call("write", userns::OpenAndWrite(map.c_str(), line, len));
  });
  if (!started) return;
  pair.Release();
}

NSC_CASE({
    .id = "user.uid_map_parent_must_map",
    .title = "Every id range written to a map must be mapped in the parent namespace",
    .source = {"user_namespaces(7)",
               "Defining user and group ID mappings: writing to uid_map and gid_map"},
    .observe = "inside U1 (map \"0 E 1\"), a process with every capability there writes "
               "\"0 5 1\" to the uid_map of U2 below U1: EPERM, parent id 5 is unmapped in U1",
    .control = "the write maps parent id 0, which U1 maps: it succeeds (contradicts write)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 5}},
    .expect = {ExpectCall("write", FailsWith(EPERM))},
    .body = UidMapParentMustMap,
});

// One write to the own uid_map of a fresh namespace by an unprivileged creator (uid E):
// variant 0 "0 E 1", 1 "0 O 1" (O another id), 2 "0 E 1\n1 O 1"; the control always writes
// "0 E 1".
void TryOwnMapWrite(const Probe& p, const char* key, int variant) {
  ChildProcess child = Spawn(0, [&] {
    BecomeUnprivileged(p);
    const int64_t own = geteuid();
    const int64_t other = own == 0 ? 1 : own - 1;
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    PathBuf text;
    if (variant == 0 || p.control()) {
      text = MapText(0, own, 1);
    } else if (variant == 1) {
      text = MapText(0, other, 1);
    } else {
      text = MapText(0, own, 1);
      text.Add(MapText(1, other, 1).c_str());
    }
    p.Call(key, WriteSmallFile("/proc/self/uid_map", text.c_str()));
    return 0;
  });
  if (!child.ok()) p.SetupFailed("fork");
  child.Wait();
}

// Flow: three unprivileged children (uid E) each enter a new user namespace and write their own
// uid_map: "0 E 1"; "0 O 1" with another id O; the two lines "0 E 1\n1 O 1".
void UnprivilegedMapSingleOwnId(const Probe& p) {
  TryOwnMapWrite(p, "own_id", 0);
  TryOwnMapWrite(p, "other_id", 1);
  TryOwnMapWrite(p, "two_lines", 2);
}

NSC_CASE({
    .id = "user.unprivileged_map_single_own_id",
    .title = "Without CAP_SETUID in the parent, a writer may map only its own euid, on one line",
    .source = {"user_namespaces(7)",
               "Defining user and group ID mappings: writing to uid_map and gid_map"},
    .observe = "an unprivileged creator (uid E) writing its new namespace's uid_map: \"0 E 1\" "
               "succeeds; \"0 O 1\" (O another id) and \"0 E 1\\n1 O 1\" fail with EPERM",
    .control = "every write maps only the writer's own id on one line: all succeed (contradicts "
               "other_id and two_lines)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 5}},
    .preconditions = {Given(ExpectCall("own_id", Succeeds()))},
    .expect = {ExpectCall("other_id", FailsWith(EPERM)),
               ExpectCall("two_lines", FailsWith(EPERM))},
    .body = UnprivilegedMapSingleOwnId,
});

// Flow: 1. a child C (root) enters a new user namespace and parks; the body records C's
// setgroups; 2. a child of the body (root with CAP_SETUID/CAP_SETGID in the initial namespace)
// writes "0 100000 10" to C's uid_map and "0 0 1" to C's gid_map, with no setgroups deny.
void PrivilegedMapArbitrary(const Probe& p) {
  userns::ParkedChild c;
  if (!c.Start(0, [] { return unshare(CLONE_NEWUSER) == 0 ? 0 : 1; })) p.SetupFailed("parked child");
  char setgroups[32];
  if (ReadSmallFile(ProcPath(c.pid(), "setgroups").c_str(), setgroups, sizeof setgroups) < 0) {
    p.SetupFailed("reading /proc/<C>/setgroups");
  }
  for (char* s = setgroups; *s != '\0'; ++s) {
    if (*s == '\n') *s = '\0';
  }
  p.Text("setgroups_before", setgroups);
  ChildProcess writer = Spawn(0, [&] {
    if (p.control()) {
      NSC_SETUP(p, DropCapability(CAP_SETUID), "dropping CAP_SETUID (control)");
      NSC_SETUP(p, DropCapability(CAP_SETGID), "dropping CAP_SETGID (control)");
    }
    p.Call("uid_map", WriteSmallFile(ProcPath(c.pid(), "uid_map").c_str(), "0 100000 10\n"));
    p.Call("gid_map", WriteSmallFile(ProcPath(c.pid(), "gid_map").c_str(), "0 0 1\n"));
    return 0;
  });
  if (!writer.ok()) p.SetupFailed("fork");
  writer.Wait();
  c.Release();
}

NSC_CASE({
    .id = "user.privileged_map_arbitrary",
    .title = "A writer with CAP_SETUID/CAP_SETGID in the parent namespace may map any parent ids",
    .source = {"user_namespaces(7)",
               "Defining user and group ID mappings: writing to uid_map and gid_map"},
    .observe = "root in the parent writes \"0 100000 10\" to a child namespace's uid_map and "
               "\"0 0 1\" to its gid_map while its setgroups still reads \"allow\": both succeed",
    .control = "the writer drops CAP_SETUID and CAP_SETGID first: both writes fail (contradicts "
               "uid_map and gid_map)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 5}},
    .preconditions = {Given(ExpectText("setgroups_before", StrEq("allow")))},
    .expect = {ExpectCall("uid_map", Succeeds()),
               ExpectCall("gid_map", Succeeds())},
    .body = PrivilegedMapArbitrary,
});

// How a map write ended, as a child's exit code: the caller decides on the version gate with it.
enum MapWriteOutcome { kMapWritten = 0, kMapRefusedEperm = 1, kMapOtherError = 2 };
int OutcomeOf(long ret) {
  if (ret == 0) return kMapWritten;
  return errno == EPERM ? kMapRefusedEperm : kMapOtherError;
}

// A child (optionally without CAP_SETFCAP) enters a new user namespace and writes "0 0 1" to
// its own uid_map. Returns the child's wait status (exit code: a MapWriteOutcome).
int SelfMapRoot(const Probe& p, const char* key, bool drop_setfcap) {
  ChildProcess child = Spawn(0, [&] {
    if (drop_setfcap) NSC_SETUP(p, DropCapability(CAP_SETFCAP), "dropping CAP_SETFCAP");
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    const long r = WriteSmallFile("/proc/self/uid_map", "0 0 1\n");
    const int outcome = OutcomeOf(r);
    p.Call(key, r);
    return outcome;
  });
  if (!child.ok()) p.SetupFailed("fork");
  return child.Wait();
}

// A parked child C enters a new user namespace (its creator holds CAP_SETFCAP); a writer in the
// parent namespace (optionally without CAP_SETFCAP) writes "0 0 1" to C's uid_map. Returns the
// writer's wait status (exit code: a MapWriteOutcome).
int ParentMapRoot(const Probe& p, const char* key, bool drop_setfcap) {
  userns::ParkedChild c;
  if (!c.Start(0, [&] {
        userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
        return 0;
      })) {
    p.SetupFailed("parked child");
  }
  ChildProcess writer = Spawn(0, [&] {
    if (drop_setfcap) NSC_SETUP(p, DropCapability(CAP_SETFCAP), "dropping CAP_SETFCAP");
    const long r = WriteSmallFile(ProcPath(c.pid(), "uid_map").c_str(), "0 0 1\n");
    const int outcome = OutcomeOf(r);
    p.Call(key, r);
    return outcome;
  });
  if (!writer.ok()) p.SetupFailed("fork");
  const int status = writer.Wait();
  c.Release();
  return status;
}

// True when uname(2) says the running kernel is older than major.minor (false if unknown).
bool KernelOlderThan(int major, int minor) {
  struct utsname u;
  if (uname(&u) == -1) return false;
  const char* s = u.release;
  uint64_t got_major = 0, got_minor = 0;
  if (!userns::ParseDecimal(&s, &got_major) || *s++ != '.' ||
      !userns::ParseDecimal(&s, &got_minor)) {
    return false;
  }
  return got_major < static_cast<uint64_t>(major) ||
         (got_major == static_cast<uint64_t>(major) && got_minor < static_cast<uint64_t>(minor));
}

// Flow: 1. root drops CAP_SETFCAP, enters a new user namespace and writes its own uid_map
// "0 0 1"; 2. the same with CAP_SETFCAP kept; 3. a writer in the parent namespace without
// CAP_SETFCAP writes "0 0 1" to a child namespace's uid_map; 4. the same writer with
// CAP_SETFCAP. Gate (catalogue record item 17, issue 9): the behaviour decides, the version only
// where the behaviour cannot — before 5.12 a kernel that allows both writes without CAP_SETFCAP
// lacks the check (KERNEL_TOO_OLD); one that refuses them has it backported and is judged.
void MapRootNeedsSetfcap(const Probe& p) {
  if (HasEffectiveCapability(CAP_SETFCAP) != 1) {
    p.Skip(ReasonCode::kInsufficientPrivilege, "the caller holds no CAP_SETFCAP to drop or keep");
  }
  const int self = SelfMapRoot(p, "self.without_setfcap", !p.control());
  SelfMapRoot(p, "self.with_setfcap", false);
  const int parent = ParentMapRoot(p, "parent.without_setfcap", !p.control());
  ParentMapRoot(p, "parent.with_setfcap", false);
  const bool older = KernelOlderThan(5, 12);
  p.Text("gate.decided_by",
         older ? "behaviour (kernel older than 5.12)" : "version (5.12 or later)");
  if (!p.control() && older && ExitedWith(self, kMapWritten) && ExitedWith(parent, kMapWritten)) {
    p.Skip(ReasonCode::kKernelTooOld,
           "Linux older than 5.12 that maps uid 0 without CAP_SETFCAP: the check is not "
           "backported");
  }
}

NSC_CASE({
    .id = "user.map_root_needs_setfcap",
    .title = "Since 5.12, mapping parent uid 0 needs CAP_SETFCAP (writer's, or the creator's at creation)",
    .source = {"user_namespaces(7)",
               "Defining user and group ID mappings: writing to uid_map and gid_map"},
    .references = {"catalogue record item 17: 5.12; older kernels are probed, since distributions "
                   "backport the check (Debian's 5.10)"},
    .observe = "root without CAP_SETFCAP creates a user namespace and writes its own uid_map "
               "\"0 0 1\": EPERM (with CAP_SETFCAP: success); a parent-namespace writer without "
               "CAP_SETFCAP writing \"0 0 1\" to a child's uid_map: EPERM (with it: success). "
               "Before 5.12, a kernel that allows both writes is skipped as too old",
    .control = "CAP_SETFCAP is kept everywhere: every write succeeds (contradicts "
               "self.without_setfcap and parent.without_setfcap)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .preconditions = {Given(ExpectCall("self.with_setfcap", Succeeds()),
                            ReasonCode::kInsufficientPrivilege),
                      Given(ExpectCall("parent.with_setfcap", Succeeds()),
                            ReasonCode::kInsufficientPrivilege)},
    .expect = {ExpectCall("self.without_setfcap", FailsWith(EPERM)),
               ExpectCall("parent.without_setfcap", FailsWith(EPERM)), Record("gate.decided_by")},
    .body = MapRootNeedsSetfcap,
});

// Flow: 1. child S2 enters a new user namespace and parks; 2. child S1 enters another and parks;
// 3. the body (root) writes S1's uid_map "0 100000 1" and S2's "0 100001 1"; 4. S1 reads
// /proc/S2/uid_map.
void MapFileUnmappedShowsMinus1(const Probe& p) {
  auto enter = [] { return unshare(CLONE_NEWUSER) == 0 ? 0 : 1; };
  userns::ParkedChild s2, s1;
  if (!s2.Start(0, enter)) p.SetupFailed("parked child S2");
  const PathBuf s2_map = ProcPath(s2.pid(), "uid_map");
  if (!s1.Start(0, enter, [&] {
        RecordMap(p, s2_map.c_str(), {nullptr, "s1_view.first", "s1_view.lower", "s1_view.count"});
        return 0;
      })) {
    p.SetupFailed("parked child S1");
  }
  NSC_SETUP(p, userns::WriteProcFile(s1.pid(), "uid_map", "0 100000 1\n"), "mapping S1");
  NSC_SETUP(p, userns::WriteProcFile(s2.pid(), "uid_map", p.Pick("0 100001 1\n", "0 100000 1\n")),
            "mapping S2");
  s1.Release();
  s2.Release();
}

NSC_CASE({
    .id = "user.map_file_unmapped_shows_minus1",
    .title = "A map field with no mapping in the reader's namespace reads as 4294967295",
    .source = {"user_namespaces(7)", "Unmapped user and group IDs"},
    .observe = "sibling namespaces S1 (\"0 100000 1\") and S2 (\"0 100001 1\") created by root; "
               "read from inside S1, S2's uid_map is \"0 4294967295 1\" (not the overflow uid)",
    .control = "S2 maps the same id as S1: the reader sees \"0 0 1\" (contradicts s1_view.lower)",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 8}},
    .expect = {Expect("s1_view.first", Eq(0)), Expect("s1_view.lower", Eq(4294967295LL)),
               Expect("s1_view.count", Eq(1))},
    .body = MapFileUnmappedShowsMinus1,
});

// Flow: 1. a child enters a new user namespace and writes "0 0 0" to its own projid_map;
// 2. a parked child C enters a new user namespace and the body, in the parent namespace,
// writes "0 0 1" to C's projid_map; 3. A enters U1 and maps project id 0 ("0 0 1"), its child B
// enters U2; the body (U2's grandparent namespace) writes "0 0 1" to B's projid_map; 4. A' enters
// U1' without a projid_map, its child B' enters U2'; A' writes "0 0 1" to B''s projid_map.
void ProjidMapRules(const Probe& p) {
  char own[4096];
  MapLine first;
  if (ReadSmallFile("/proc/self/projid_map", own, sizeof own) < 0 ||
      userns::ParseMap(own, &first, 1) == 0 || first.first != 0) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "the caller's user namespace does not map project id 0 (its projid_map)");
  }
  ChildProcess fresh = Spawn(0, [&] {
    userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
    p.Call("syntax.count_zero",
           WriteSmallFile("/proc/self/projid_map", p.Pick("0 0 0\n", "0 0 1\n")));
    return 0;
  });
  if (!fresh.ok()) p.SetupFailed("fork");
  fresh.Wait();

  userns::ParkedChild c;
  if (!c.Start(0, [&] {
        userns::UnshareOrSkip(p, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
        return 0;
      })) {
    return;
  }
  p.Call("parent_writer", userns::WriteProcFile(c.pid(), "projid_map", "0 0 1\n"));
  c.Release();

  NestedPair located;
  const bool located_started = located.Start(
      p, [&] { NSC_SETUP(p, WriteSmallFile("/proc/self/projid_map", "0 0 1\n"), "U1 projid_map"); },
      [&](pid_t b) {
        if (p.control()) p.Call("grandparent_writer", userns::WriteProcFile(b, "projid_map", "0 0 1\n"));
      });
  if (!located_started) return;
  if (!p.control()) {
    p.Call("grandparent_writer", userns::WriteProcFile(located.b_pid(), "projid_map", "0 0 1\n"));
  }
  located.Release();

  NestedPair unmapped;
  const bool unmapped_started = unmapped.Start(
      p,
      [&] {
        if (p.control()) NSC_SETUP(p, WriteSmallFile("/proc/self/projid_map", "0 0 1\n"), "U1 projid_map");
      },
      [&](pid_t b) {
        p.Call("unmapped_in_parent", userns::WriteProcFile(b, "projid_map", "0 0 1\n"));
      });
  if (!unmapped_started) return;
  unmapped.Release();
}

NSC_CASE({
    .id = "user.projid_map_rules",
    .title = "projid_map follows the uid_map format and location rules; its ids must be mapped in the parent",
    .source = {"user_namespaces(7)", "Project ID mappings: projid_map"},
    .observe = "\"0 0 0\" written to a fresh namespace's own projid_map fails with EINVAL; a "
               "parent-namespace writer's \"0 0 1\" to a child's projid_map succeeds (no "
               "capability is needed for project ids); a writer two levels up gets EPERM; a "
               "write naming project id 0 when the parent namespace has no projid_map gets EPERM",
    .control = "the format is valid, the writer is in the parent namespace, and the parent maps "
               "project id 0: every write succeeds (contradicts syntax.count_zero, "
               "grandparent_writer and unmapped_in_parent)",
    .needs = {.privilege = Privilege::kNone, .namespaces = CLONE_NEWUSER, .min_kernel = {3, 7}},
    .expect = {ExpectCall("syntax.count_zero", FailsWith(EINVAL)),
               ExpectCall("parent_writer", Succeeds()),
               ExpectCall("grandparent_writer", FailsWith(EPERM)),
               ExpectCall("unmapped_in_parent", FailsWith(EPERM))},
    .body = ProjidMapRules,
});

}  // namespace
}  // namespace nsc::cases
