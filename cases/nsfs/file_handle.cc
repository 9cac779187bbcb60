// nsfs: namespace file handles (Linux 6.18). name_to_handle_at(2) on a namespace file encodes
// a FILEID_NSFS handle {ns_id, ns_type, ns_inum}; open_by_handle_at(2) with the special mount
// fd FD_NSFS_ROOT decodes it back into a namespace fd. A caller may always decode a handle of
// a namespace it is in.
// Source: fs/nsfs.c (nsfs_encode_fh(), nsfs_fh_to_dentry()) and include/uapi/linux/nsfs.h
// (struct nsfs_file_handle); fs/fhandle.c (FD_NSFS_ROOT). Not in the man pages yet; this rule
// goes beyond the catalogue.
//
// Values (checked on 6.18): FILEID_NSFS = 0xf1 (include/linux/exportfs.h), FD_NSFS_ROOT =
// -10003 (include/uapi/linux/fcntl.h), handle size 16 (NSFS_FILE_HANDLE_SIZE_VER0), all added
// by the series "ns: support file handles" (commit 5222470b2fbb "nsfs: support file handles").
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases {
namespace {

using ::testing::Eq;

constexpr int kFileidNsfs = 0xf1;
constexpr int kFdNsfsRoot = -10003;
constexpr unsigned long kNsGetId = _IOR(0xb7, 13, uint64_t);
constexpr unsigned int kMaxHandleBytes = 128;  // MAX_HANDLE_SZ

// struct nsfs_file_handle of include/uapi/linux/nsfs.h.
struct NsfsFileHandle {
  uint64_t ns_id;
  uint32_t ns_type;
  uint32_t ns_inum;
};
static_assert(sizeof(NsfsFileHandle) == 16, "NSFS_FILE_HANDLE_SIZE_VER0");

// A struct file_handle with room for MAX_HANDLE_SZ bytes, on the stack.
struct HandleBuffer {
  alignas(8) unsigned char bytes[sizeof(struct file_handle) + kMaxHandleBytes];
  struct file_handle* get() { return reinterpret_cast<struct file_handle*>(bytes); }
};

// Flow: 1. a child unshares CLONE_NEWUTS (control: does not) and records its ns/uts
// identity, NS_GET_ID and inode; 2. encodes a handle of /proc/self/ns/uts with
// name_to_handle_at(AT_EMPTY_PATH) and records type, size and fields; 3. decodes it with
// open_by_handle_at(FD_NSFS_ROOT) and records the identity of the returned fd; 4. decodes a
// handle whose ns_id no namespace has. The body records its own ns/uts identity.
void FileHandleRoundtrip(const Probe& p) {
  p.NsId("body.uts", "/proc/self/ns/uts");
  ChildProcess child = Spawn(0, [&] {
    SetupStep(p, unshare(p.Flags(CLONE_NEWUTS, CLONE_NEWUTS)), "unshare(CLONE_NEWUTS)");
    UniqueFd uts = OpenFile("/proc/self/ns/uts", O_RDONLY);
    if (!uts.valid()) p.SetupFailed("open /proc/self/ns/uts");
    p.NsIdOfFd("child.uts", uts.get());
    uint64_t id = 0;
    p.Call("child.get_id", ioctl(uts.get(), kNsGetId, &id));
    p.Value("child.ns_id", static_cast<int64_t>(id));
    struct stat st{};
    NSC_SETUP(p, fstat(uts.get(), &st), "fstat of ns/uts");
    p.Value("child.ns_inum", static_cast<int64_t>(st.st_ino));

    HandleBuffer buf;
    struct file_handle* handle = buf.get();
    handle->handle_bytes = kMaxHandleBytes;
    int mount_id = -1;
    OperationCall(p, "encode", name_to_handle_at(uts.get(), "", handle, &mount_id, AT_EMPTY_PATH));
    p.Value("handle.type", handle->handle_type);
    p.Value("handle.bytes", handle->handle_bytes);
    NsfsFileHandle fields{};
    memcpy(&fields, handle->f_handle, sizeof fields);
    p.Value("handle.ns_id", static_cast<int64_t>(fields.ns_id));
    p.Value("handle.ns_type", fields.ns_type);
    p.Value("handle.ns_inum", fields.ns_inum);

    UniqueFd decoded(open_by_handle_at(kFdNsfsRoot, handle, O_RDONLY));
    OperationCall(p, "decode", decoded.get());
    p.NsIdOfFd("decoded", decoded.get());

    NsfsFileHandle stale{UINT64_MAX - 1, 0, 0};  // ns ids count up from 1: never reached
    memcpy(handle->f_handle, &stale, sizeof stale);
    handle->handle_bytes = sizeof stale;
    handle->handle_type = kFileidNsfs;
    UniqueFd nothing(open_by_handle_at(kFdNsfsRoot, handle, O_RDONLY));
    p.Call("decode.unknown_id", nothing.get());
    return 0;
  });
  NSC_SETUP(p, child.pid(), "fork");
  child.Wait();
}

NSC_CASE({
    .id = "nsfs.file_handle_roundtrip",
    .title = "A namespace file handle encodes the namespace's id, type and inode and decodes back to it",
    .source = {"fs/nsfs.c", "nsfs_encode_fh(), nsfs_fh_to_dentry()"},
    .references = {"include/uapi/linux/nsfs.h, struct nsfs_file_handle",
                   "fs/fhandle.c, FD_NSFS_ROOT", "name_to_handle_at(2), open_by_handle_at(2)",
                   "Linux 6.18, commit 5222470b2fbb 'nsfs: support file handles'"},
    .observe = "in a new UTS namespace, name_to_handle_at(ns_fd, \"\", AT_EMPTY_PATH) gives a "
               "16-byte handle of type FILEID_NSFS (0xf1) holding NS_GET_ID's id, CLONE_NEWUTS "
               "and the inode; open_by_handle_at(FD_NSFS_ROOT, handle, O_RDONLY) returns an fd of "
               "that same namespace, not of the parent's; a handle with an id no namespace has "
               "fails with ESTALE",
    .control = "the child does not unshare CLONE_NEWUTS: the decoded namespace is the parent's "
               "(contradicts decoded)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUTS, .min_kernel = {6, 18}},
    .expect = {ExpectCall("encode", Succeeds()), Expect("handle.type", Eq(kFileidNsfs)),
               Expect("handle.bytes", Eq(16)), ExpectCall("child.get_id", Succeeds()),
               ExpectSameValue("handle.ns_id", "child.ns_id"),
               Expect("handle.ns_type", Eq(CLONE_NEWUTS)),
               ExpectSameValue("handle.ns_inum", "child.ns_inum"),
               ExpectCall("decode", Succeeds()), ExpectSameNs("decoded", "child.uts"),
               ExpectDifferentNs("decoded", "body.uts"),
               ExpectCall("decode.unknown_id", FailsWith(ESTALE))},
    .body = FileHandleRoundtrip,
});

}  // namespace
}  // namespace nsc::cases
