// Run-time safety guard for the PID-namespace cases that make calls which, made in the harness's
// own PID namespace, would reach the whole machine: kill(-1, ...) (cases/pid/signals.cc) and
// reboot(2) (cases/pid/reboot.cc). See cases/README.md, contract item 5.
//
// A body records the identity of the harness's PID namespace first thing (HarnessPidNs(), before
// it creates any namespace); a process about to make the dangerous call asks
// OutsideHarnessPidNs(harness), which is true only if the caller's PID namespace is positively
// known to be another one. Every failure to tell (stat or /proc/self/status unreadable) refuses.
// Async-signal-safe: NsFileIdOf (stat(2)) and the /proc readers of nsconform/child.h only.
//
// /proc/1/ns/pid cannot always be inspected: where PID 1 fails the ptrace access check (some
// sandboxes refuse it even to root, EACCES) that comparison is replaced by the fixed inode
// number the kernel gives the initial PID namespace (PROC_PID_INIT_INO, since Linux 3.8),
// which is checked in every case anyway.
#pragma once

#include <cerrno>
#include <cstdint>

#include "nsconform/child.h"

namespace nsc::cases {

// The nsfs identity of a PID namespace (NsFileId: known, dev, ino) plus the caller's depth.
struct PidNsIdentity : NsFileId {
  int nspid_depth = -1;  // entries on the caller's NSpid: line, -1 if unavailable (Linux < 4.1)
};

// include/linux/proc_ns.h: PROC_PID_INIT_INO, the nsfs inode of the initial PID namespace.
inline constexpr int64_t kInitialPidNsInode = 0xEFFFFFFCLL;

// The caller's PID namespace with its NSpid depth. Call at the very start of a body.
inline PidNsIdentity HarnessPidNs() {
  PidNsIdentity id{NsFileIdOf("/proc/self/ns/pid")};
  int64_t levels[64];
  id.nspid_depth = ReadStatusIds(0, "NSpid", levels, 64);
  return id;
}

// True only if the caller is positively in a PID namespace other than `harness` (recorded by
// the body at its start), other than that of /proc/1 (when PID 1 may be inspected at all) and
// other than the initial PID namespace; when NSpid is available, the caller must also be
// nested deeper than the harness.
inline bool OutsideHarnessPidNs(const PidNsIdentity& harness) {
  const PidNsIdentity self = HarnessPidNs();
  if (!self.DiffersFrom(harness) || self.ino == kInitialPidNsInode) return false;
  const NsFileId proc_init = NsFileIdOf("/proc/1/ns/pid");
  if (proc_init.known) {
    if (self.SameAs(proc_init)) return false;
  } else if (errno != EACCES && errno != EPERM) {
    return false;  // anything but "PID 1 may not be inspected" refuses
  }
  if (harness.nspid_depth > 0 && self.nspid_depth <= harness.nspid_depth) return false;
  return true;
}

}  // namespace nsc::cases
