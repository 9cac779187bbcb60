// Run-time safety guard for the PID-namespace cases that make calls which, made in the harness's
// own PID namespace, would reach the whole machine: kill(-1, ...) (cases/pid/signals.cc) and
// reboot(2) (cases/pid/reboot.cc). See cases/README.md, contract item 5.
//
// The guard fails closed, in two steps:
//  1. RequireWorkingGuard(p), first thing in the body (before it creates any namespace): the
//     identity of the harness's PID namespace must be readable and stable (two stat(2) calls,
//     and two NS_GET_ID calls where the kernel has it, agree), and the guard must refuse in the
//     harness's own namespace. Anything else stops the case with ERROR (SETUP_FAILED) before
//     any dangerous call: a guard that cannot tell namespaces apart proves nothing.
//  2. RequireOutsideHarnessPidNs(p, harness), in the process about to make the dangerous call:
//     unless that process is positively in another PID namespace it stops with ERROR.
// Async-signal-safe: stat(2), ioctl(2) and the /proc readers of nsconform/child.h only.
//
// /proc/1/ns/pid cannot always be inspected: where PID 1 fails the ptrace access check (some
// sandboxes refuse it even to root, EACCES) that comparison is replaced by the fixed inode
// number the kernel gives the initial PID namespace (PROC_PID_INIT_INO, since Linux 3.8),
// which is checked in every case anyway.
#pragma once

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>

#include "nsconform/child.h"

namespace nsc::cases {

// NS_GET_ID of include/uapi/linux/nsfs.h (Linux 6.18): a 64-bit id never reused while the
// system runs. Older kernels answer ENOTTY; then the nsfs (st_dev, st_ino) pair decides alone.
inline constexpr unsigned long kNsGetIdIoctl = _IOR(0xb7, 13, uint64_t);

// The nsfs identity of a PID namespace (NsFileId: known, dev, ino) plus the caller's depth and,
// where available, NS_GET_ID.
struct PidNsIdentity : NsFileId {
  int nspid_depth = -1;  // entries on the caller's NSpid: line, -1 if unavailable (Linux < 4.1)
  int64_t ns_id = -1;    // NS_GET_ID, -1 if the kernel does not have it
  bool id_error = false; // NS_GET_ID failed with anything but "not supported"
};

// include/linux/proc_ns.h: PROC_PID_INIT_INO, the nsfs inode of the initial PID namespace.
inline constexpr int64_t kInitialPidNsInode = 0xEFFFFFFCLL;

// The caller's PID namespace with its NSpid depth and NS_GET_ID.
inline PidNsIdentity CurrentPidNs() {
  PidNsIdentity id{NsFileIdOf("/proc/self/ns/pid")};
  int64_t levels[64];
  id.nspid_depth = ReadStatusIds(0, "NSpid", levels, 64);
  UniqueFd fd = OpenFile("/proc/self/ns/pid", O_RDONLY);
  uint64_t ns_id = 0;
  if (!fd.valid()) {
    id.id_error = true;
  } else if (ioctl(fd.get(), kNsGetIdIoctl, &ns_id) == 0) {
    id.ns_id = static_cast<int64_t>(ns_id);
  } else if (errno != ENOTTY && errno != EINVAL) {
    id.id_error = true;
  }
  return id;
}

// True only if the caller is positively in a PID namespace other than `harness` (taken by the
// body at its start), other than that of /proc/1 (when PID 1 may be inspected at all) and
// other than the initial PID namespace; when NSpid is available, the caller must also be
// nested deeper than the harness, and when NS_GET_ID is, the ids must differ.
inline bool OutsideHarnessPidNs(const PidNsIdentity& harness) {
  const PidNsIdentity self = CurrentPidNs();
  if (!self.DiffersFrom(harness) || self.ino == kInitialPidNsInode || self.id_error) return false;
  if (harness.ns_id >= 0 && (self.ns_id < 0 || self.ns_id == harness.ns_id)) return false;
  const NsFileId proc_init = NsFileIdOf("/proc/1/ns/pid");
  if (proc_init.known) {
    if (self.SameAs(proc_init)) return false;
  } else if (errno != EACCES && errno != EPERM) {
    return false;  // anything but "PID 1 may not be inspected" refuses
  }
  if (harness.nspid_depth > 0 && self.nspid_depth <= harness.nspid_depth) return false;
  return true;
}

// Step 1 (see the top of this file): the harness's PID namespace, after proving that the guard
// can tell it apart. SetupFailed (ERROR) otherwise, before anything dangerous has happened.
inline PidNsIdentity RequireWorkingGuard(const Probe& p) {
  const PidNsIdentity first = CurrentPidNs();
  const PidNsIdentity second = CurrentPidNs();
  if (!first.known || !second.known || first.id_error || second.id_error) {
    p.SetupFailed("PID-namespace guard: the harness's /proc/self/ns/pid cannot be identified");
  }
  if (!first.SameAs(second) || first.ns_id != second.ns_id ||
      first.nspid_depth != second.nspid_depth) {
    errno = 0;
    p.SetupFailed("PID-namespace guard: the identity of the harness's PID namespace is not "
                  "stable between two reads; refusing to run");
  }
  if (OutsideHarnessPidNs(first)) {
    errno = 0;
    p.SetupFailed("PID-namespace guard: the self-test failed (it would let a dangerous call "
                  "through in the harness's own PID namespace); refusing to run");
  }
  return first;
}

// Step 2: stops the calling process with ERROR unless it is positively outside `harness`.
inline void RequireOutsideHarnessPidNs(const Probe& p, const PidNsIdentity& harness) {
  if (!OutsideHarnessPidNs(harness)) {
    errno = 0;
    p.SetupFailed("PID-namespace guard: the caller is not provably outside the harness's PID "
                  "namespace; the dangerous call was not made");
  }
}

}  // namespace nsc::cases
