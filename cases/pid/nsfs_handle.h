// nsfs file handles (Linux 6.18) for the PID-namespace cases: name_to_handle_at(2) on a
// namespace file encodes a FILEID_NSFS handle {ns_id, ns_type, ns_inum}; open_by_handle_at(2)
// with the special mount fd FD_NSFS_ROOT decodes it back into a namespace fd, or fails with
// ESTALE once the namespace no longer exists. The same values as cases/nsfs/file_handle.cc
// (which documents where each comes from); candidates for cases/common/ if a third group
// needs them. Async-signal-safe: stack buffers and raw syscalls only.
#pragma once

#include <fcntl.h>

#include <cstdint>

namespace nsc::cases {

inline constexpr int kFdNsfsRoot = -10003;             // include/uapi/linux/fcntl.h
inline constexpr unsigned int kMaxNsHandleBytes = 128;  // MAX_HANDLE_SZ

// A struct file_handle with room for MAX_HANDLE_SZ bytes, on the stack.
struct NsHandleBuffer {
  alignas(8) unsigned char bytes[sizeof(struct file_handle) + kMaxNsHandleBytes];
  struct file_handle* get() { return reinterpret_cast<struct file_handle*>(bytes); }
};

// name_to_handle_at(ns_fd, "", AT_EMPTY_PATH) into `buf`: 0, or -1 with errno.
inline int EncodeNsHandle(int ns_fd, NsHandleBuffer& buf) {
  buf.get()->handle_bytes = kMaxNsHandleBytes;
  int mount_id = -1;
  return name_to_handle_at(ns_fd, "", buf.get(), &mount_id, AT_EMPTY_PATH);
}

// open_by_handle_at(FD_NSFS_ROOT, handle, O_RDONLY|O_CLOEXEC): a namespace fd, or -1 with errno.
inline int DecodeNsHandle(NsHandleBuffer& buf) {
  return open_by_handle_at(kFdNsfsRoot, buf.get(), O_RDONLY | O_CLOEXEC);
}

}  // namespace nsc::cases
