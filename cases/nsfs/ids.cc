// nsfs: namespace identifiers — NS_GET_ID (any namespace type, Linux 6.18), NS_GET_MNTNS_ID
// (mount namespaces, Linux 6.11) and NS_MNT_GET_INFO (mount namespaces, Linux 6.12).
// Source: include/uapi/linux/nsfs.h and fs/nsfs.c, ns_ioctl(). Not in the man pages yet; these
// rules go beyond the catalogue.
//
// Numbers (checked by calling them on 6.18; the _IOR direction and size are part of the number):
//   NS_GET_MNTNS_ID  _IOR(0xb7, 5, __u64)   6.11 (v6.11-rc1 declared it _IO(0xb7, 5); fixed to
//                                            _IOR by "nsfs: fix ioctl declaration" before 6.11)
//   NS_MNT_GET_INFO  _IOR(0xb7, 10, struct mnt_ns_info)   6.12 ("nsfs: iterate through mount
//                                            namespaces")
//   NS_GET_ID        _IOR(0xb7, 13, __u64)  6.18 ("ns: support file handles" series: one id
//                                            space shared by all namespace types)
#include <fcntl.h>
#include <sys/mount.h>

#include <cstdint>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;
using ::testing::Gt;

// struct mnt_ns_info of include/uapi/linux/nsfs.h (MNT_NS_INFO_SIZE_VER0 = 16).
struct MntNsInfo {
  uint32_t size;
  uint32_t nr_mounts;
  uint64_t mnt_ns_id;
};
static_assert(sizeof(MntNsInfo) == 16, "struct mnt_ns_info, version 0");

constexpr unsigned long kNsGetMntnsId = _IOR(0xb7, 5, uint64_t);
constexpr unsigned long kNsMntGetInfo = _IOR(0xb7, 10, MntNsInfo);
constexpr unsigned long kNsGetId = _IOR(0xb7, 13, uint64_t);

// Opens `path`, applies the u64-returning `request`, records the call as `call_key` and the
// id (0 if the call failed) as `value_key`.
void RecordU64Ioctl(const Probe& p, const char* call_key, const char* value_key, const char* path,
                    unsigned long request) {
  UniqueFd fd = OpenFile(path, O_RDONLY);
  if (!fd.valid()) p.SetupFailed(path);
  uint64_t id = 0;
  p.Call(call_key, ioctl(fd.get(), request, &id));
  p.Value(value_key, static_cast<int64_t>(id));
}

constexpr const char* kOwnNsFiles[] = {"/proc/self/ns/cgroup", "/proc/self/ns/ipc",
                                       "/proc/self/ns/mnt",    "/proc/self/ns/net",
                                       "/proc/self/ns/pid",    "/proc/self/ns/time",
                                       "/proc/self/ns/user",   "/proc/self/ns/uts"};
constexpr size_t kOwnNsCount = sizeof kOwnNsFiles / sizeof kOwnNsFiles[0];

// Flow: 1. NS_GET_ID on each of the caller's eight namespaces; record the ids and how many of
// them are distinct; 2. NS_GET_ID on a second open of ns/uts; 3. a child unshares CLONE_NEWUTS
// (control: does not) and records NS_GET_ID of its ns/uts.
void GetIdStableAndUnique(const Probe& p) {
  uint64_t ids[kOwnNsCount] = {};
  int64_t failures = 0;
  for (size_t i = 0; i < kOwnNsCount; ++i) {
    UniqueFd fd = OpenFile(kOwnNsFiles[i], O_RDONLY);
    if (!fd.valid()) p.SetupFailed(kOwnNsFiles[i]);
    if (ioctl(fd.get(), kNsGetId, &ids[i]) == -1) ++failures;
  }
  p.Value("own.get_id_failures", failures);
  int64_t distinct = 0;
  for (size_t i = 0; i < kOwnNsCount; ++i) {
    bool seen = false;
    for (size_t j = 0; j < i; ++j) seen = seen || ids[j] == ids[i];
    if (!seen && ids[i] != 0) ++distinct;
  }
  p.Value("own.distinct_ids", distinct);
  RecordU64Ioctl(p, "uts.get_id", "uts.id", "/proc/self/ns/uts", kNsGetId);
  RecordU64Ioctl(p, "uts.get_id_again", "uts.id_again", "/proc/self/ns/uts", kNsGetId);
  RecordU64Ioctl(p, "user.get_id", "user.id", "/proc/self/ns/user", kNsGetId);
  ChildProcess child = Spawn(0, [&] {
    SetupStep(p, unshare(p.Flags(CLONE_NEWUTS, CLONE_NEWUTS)), "unshare(CLONE_NEWUTS)");
    RecordU64Ioctl(p, "child.uts.get_id", "child.uts.id", "/proc/self/ns/uts", kNsGetId);
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "nsfs.get_id_stable_and_unique",
    .title = "NS_GET_ID returns a non-zero id that is stable for a namespace and unique across namespaces",
    .source = {"include/uapi/linux/nsfs.h", "NS_GET_ID"},
    .references = {"fs/nsfs.c, ns_ioctl() (NS_GET_ID)",
                   "Linux 6.18, series 'ns: support file handles' (nsfs: add missing id retrieval "
                   "support): all namespace types share one id space"},
    .observe = "NS_GET_ID on the caller's cgroup, ipc, mnt, net, pid, time, user and uts "
               "namespaces succeeds with eight distinct non-zero ids; a second open of ns/uts "
               "gives the same id; the ns/uts of a child that unshared CLONE_NEWUTS has a "
               "different id",
    .control = "the child does not unshare CLONE_NEWUTS: its ns/uts id equals the caller's "
               "(contradicts child.uts.id)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET |
                            CLONE_NEWPID | CLONE_NEWTIME | CLONE_NEWUSER | CLONE_NEWUTS,
              .min_kernel = {6, 18}},
    .expect = {Expect("own.get_id_failures", Eq(0)), Expect("own.distinct_ids", Eq(8)),
               ExpectCall("uts.get_id", Succeeds()), Expect("uts.id", Gt(0)),
               ExpectCall("uts.get_id_again", Succeeds()), ExpectSameValue("uts.id_again", "uts.id"),
               ExpectCall("child.uts.get_id", Succeeds()), Expect("child.uts.id", Gt(0)),
               ExpectDifferentValue("child.uts.id", "uts.id"), Record("user.get_id"),
               Record("user.id")},
    .body = GetIdStableAndUnique,
});

// Flow: 1. NS_GET_MNTNS_ID on two opens of the caller's ns/mnt; 2. NS_GET_MNTNS_ID on ns/uts;
// 3. a child unshares CLONE_NEWNS (control: does not) and records its mount namespace id.
void GetMntnsIdIdentifiesMountNs(const Probe& p) {
  RecordU64Ioctl(p, "mnt.get_mntns_id", "mnt.id", "/proc/self/ns/mnt", kNsGetMntnsId);
  RecordU64Ioctl(p, "mnt.get_mntns_id_again", "mnt.id_again", "/proc/self/ns/mnt", kNsGetMntnsId);
  RecordU64Ioctl(p, "uts.get_mntns_id", "uts.mntns_id", "/proc/self/ns/uts", kNsGetMntnsId);
  ChildProcess child = Spawn(0, [&] {
    SetupStep(p, unshare(p.Flags(CLONE_NEWNS, CLONE_NEWNS)), "unshare(CLONE_NEWNS)");
    RecordU64Ioctl(p, "child.mnt.get_mntns_id", "child.mnt.id", "/proc/self/ns/mnt",
                   kNsGetMntnsId);
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "nsfs.get_mntns_id_identifies_mount_ns",
    .title = "NS_GET_MNTNS_ID returns a stable, per-namespace mount namespace id; EINVAL on other types",
    .source = {"include/uapi/linux/nsfs.h", "NS_GET_MNTNS_ID"},
    .references = {"fs/nsfs.c, ns_ioctl() (NS_GET_MNTNS_ID)",
                   "Linux 6.11, 'fs: add an ioctl to get the mnt ns id from nsfs'; "
                   "'nsfs: fix ioctl declaration' (_IO -> _IOR, v6.11-rc2)",
                   "statmount(2), listmount(2): the same id names mount namespaces"},
    .observe = "NS_GET_MNTNS_ID on /proc/self/ns/mnt succeeds with a non-zero id, the same for "
               "a second open; the mount namespace of a child that unshared CLONE_NEWNS has a "
               "different id; on /proc/self/ns/uts the ioctl fails with EINVAL",
    .control = "the child does not unshare CLONE_NEWNS: its id equals the caller's (contradicts "
               "child.mnt.id)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS | CLONE_NEWUTS,
              .min_kernel = {6, 11}},
    .expect = {ExpectCall("mnt.get_mntns_id", Succeeds()), Expect("mnt.id", Gt(0)),
               ExpectCall("mnt.get_mntns_id_again", Succeeds()),
               ExpectSameValue("mnt.id_again", "mnt.id"),
               ExpectCall("uts.get_mntns_id", FailsWith(EINVAL)),
               ExpectCall("child.mnt.get_mntns_id", Succeeds()),
               ExpectDifferentValue("child.mnt.id", "mnt.id"), Record("uts.mntns_id")},
    .body = GetMntnsIdIdentifiesMountNs,
});

// NS_MNT_GET_INFO on `fd`: records "<prefix>.get_info", "<prefix>.size", "<prefix>.nr_mounts"
// and "<prefix>.mnt_ns_id"; returns what the kernel filled in (zeros on failure).
MntNsInfo RecordMntNsInfo(const Probe& p, const char* prefix, int fd) {
  MntNsInfo info{};
  PathBuf call(prefix), size(prefix), nr(prefix), id(prefix);
  p.Call(call.Add(".get_info").c_str(), ioctl(fd, kNsMntGetInfo, &info));
  p.Value(size.Add(".size").c_str(), info.size);
  p.Value(nr.Add(".nr_mounts").c_str(), info.nr_mounts);
  p.Value(id.Add(".mnt_ns_id").c_str(), static_cast<int64_t>(info.mnt_ns_id));
  return info;
}

// Flow: 1. a child opens its ns/mnt (the old namespace), enters a private mount namespace and
// opens its ns/mnt again; 2. records NS_MNT_GET_INFO and NS_GET_MNTNS_ID of the new one;
// 3. mounts a tmpfs on /tmp there (private: invisible outside; control, the one factor
// removed: mounts nothing); 4. records NS_MNT_GET_INFO of the same namespace again and the
// change in nr_mounts; 5. NS_MNT_GET_INFO on ns/uts.
void MntNsInfoCountsMounts(const Probe& p) {
  ChildProcess child = Spawn(0, [&] {
    UniqueFd old_ns = OpenFile("/proc/self/ns/mnt", O_RDONLY);
    if (!old_ns.valid()) p.SetupFailed("open /proc/self/ns/mnt");
    SetupStep(p, EnterPrivateMountNamespace(), "private mount namespace");
    UniqueFd new_ns = OpenFile("/proc/self/ns/mnt", O_RDONLY);
    if (!new_ns.valid()) p.SetupFailed("open /proc/self/ns/mnt");
    const MntNsInfo before = RecordMntNsInfo(p, "before", new_ns.get());
    uint64_t mntns_id = 0;
    p.Call("get_mntns_id", ioctl(new_ns.get(), kNsGetMntnsId, &mntns_id));
    p.Value("mntns_id", static_cast<int64_t>(mntns_id));
    if (!p.control()) {
      NSC_SETUP(p, mount("nsconform", "/tmp", "tmpfs", 0, "size=64k"), "mount tmpfs on /tmp");
    }
    const MntNsInfo after = RecordMntNsInfo(p, "after", new_ns.get());
    p.Value("nr_mounts_added", static_cast<int64_t>(after.nr_mounts) - before.nr_mounts);
    UniqueFd uts = OpenFile("/proc/self/ns/uts", O_RDONLY);
    if (!uts.valid()) p.SetupFailed("open /proc/self/ns/uts");
    MntNsInfo ignored{};
    p.Call("uts.get_info", ioctl(uts.get(), kNsMntGetInfo, &ignored));
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "nsfs.mnt_ns_info_counts_mounts",
    .title = "NS_MNT_GET_INFO reports a mount namespace's id and counts the mounts added to it",
    .source = {"include/uapi/linux/nsfs.h", "NS_MNT_GET_INFO, struct mnt_ns_info"},
    .references = {"fs/nsfs.c, ns_ioctl() (NS_MNT_GET_INFO, copy_ns_info_to_user())",
                   "Linux 6.12, 'nsfs: iterate through mount namespaces'"},
    .observe = "in a new private mount namespace, NS_MNT_GET_INFO fills size 16 (version 0) and "
               "mnt_ns_id equal to NS_GET_MNTNS_ID; after one tmpfs is mounted there, nr_mounts "
               "has grown by exactly 1; on /proc/self/ns/uts it fails with EINVAL",
    .control = "nothing is mounted between the two NS_MNT_GET_INFO calls on the new namespace: "
               "nr_mounts does not grow (contradicts nr_mounts_added)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNS | CLONE_NEWUTS,
              .min_kernel = {6, 12}},
    .expect = {ExpectCall("before.get_info", Succeeds()), Expect("before.size", Eq(16)),
               ExpectCall("get_mntns_id", Succeeds()),
               ExpectSameValue("before.mnt_ns_id", "mntns_id"),
               ExpectCall("after.get_info", Succeeds()),
               ExpectSameValue("after.mnt_ns_id", "mntns_id"), Expect("nr_mounts_added", Eq(1)),
               ExpectCall("uts.get_info", FailsWith(EINVAL)), Record("before.nr_mounts"),
               Record("after.size"), Record("after.nr_mounts")},
    .body = MntNsInfoCountsMounts,
});

}  // namespace
}  // namespace nsc::cases
