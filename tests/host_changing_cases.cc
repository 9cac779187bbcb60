// Cases that change something host-visible on purpose (group `selftest.`), linked only into
// nsconform-selftest-hostaudit. The harness's host audit must catch them: the run gets
// run.errors and exits 1.
//
// The host-audit test runs that binary under `unshare --mount --uts --ipc --net --fork`, so
// the "host" these cases change is a throwaway namespace set. As a second guard, each body
// first checks that its UTS / IPC / mount namespace differs from the host's one, whose
// identity the test passes in the environment, and skips otherwise: a run by hand on the
// real host changes nothing.
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "nsconform/case.h"

namespace nsc::selftest {
namespace {

using ::testing::Eq;

// True when this process's namespace of `type` ("uts", "ipc", "mnt") is known not to be the
// host's: the invoking test puts the host's identity ("st_dev:st_ino" of /proc/self/ns/<type>
// as the test saw it) in NSCONFORM_SELFTEST_HOST_<TYPE>; ours must differ. Without the
// variable the case refuses (getenv reads environ: no allocation, fine after fork).
bool NotInHostNamespace(const char* type, const char* env_name) {
  const char* host = getenv(env_name);
  if (host == nullptr || *host == '\0') return false;
  PathBuf path("/proc/self/ns/");
  path.Add(type);
  struct stat st{};
  if (stat(path.c_str(), &st) == -1) return false;
  PathBuf mine;
  mine.Add(static_cast<int64_t>(st.st_dev)).Add(":").Add(static_cast<int64_t>(st.st_ino));
  return strcmp(mine.c_str(), host) != 0;
}

// Flow: 1. refuse unless the UTS namespace is not the host's; 2. sethostname() without a new
// UTS namespace, i.e. in the harness's own one.
void ChangesHostname(const Probe& p) {
  if (!NotInHostNamespace("uts", "NSCONFORM_SELFTEST_HOST_UTS")) {
    p.Skip(ReasonCode::kPreconditionUnmet, "not inside a throwaway UTS namespace");
  }
  static const char kName[] = "nsconform-selftest-leak";
  p.Call("sethostname", sethostname(kName, sizeof kName - 1));
}

NSC_CASE({
    .id = "selftest.changes_hostname",
    .title = "A case that sets the hostname of the harness's UTS namespace",
    .source = {"tests/host_changing_cases.cc", "selftest"},
    .observe = "sethostname() without CLONE_NEWUTS",
    .control = "the same",
    .timeout_s = 2,
    .expect = {ExpectCall("sethostname", Succeeds())},
    .body = ChangesHostname,
});

// Flow: 1. refuse unless the IPC namespace is not the host's; 2. create a System V shared memory
// segment in the harness's IPC namespace and leave it there.
void LeavesShmSegment(const Probe& p) {
  if (!NotInHostNamespace("ipc", "NSCONFORM_SELFTEST_HOST_IPC")) {
    p.Skip(ReasonCode::kPreconditionUnmet, "not inside a throwaway IPC namespace");
  }
  p.Call("shmget", shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600));
}

NSC_CASE({
    .id = "selftest.leaves_shm_segment",
    .title = "A case that leaves a System V shared memory segment in the harness's IPC namespace",
    .source = {"tests/host_changing_cases.cc", "selftest"},
    .observe = "shmget(IPC_PRIVATE) without CLONE_NEWIPC, never removed",
    .control = "the same",
    .timeout_s = 2,
    .expect = {ExpectCall("shmget", Succeeds())},
    .body = LeavesShmSegment,
});

// Flow: 1. refuse unless the mount namespace is not the host's; 2. mount a tmpfs on the directory
// `mountpoint` of the working directory (the test's temp dir) in the harness's mount namespace
// and leave it mounted.
void LeavesMount(const Probe& p) {
  if (!NotInHostNamespace("mnt", "NSCONFORM_SELFTEST_HOST_MNT")) {
    p.Skip(ReasonCode::kPreconditionUnmet, "not inside a throwaway mount namespace");
  }
  p.Call("mount", mount("nsconform-selftest", "mountpoint", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k"));
}

NSC_CASE({
    .id = "selftest.leaves_mount",
    .title = "A case that leaves a tmpfs mounted in the harness's mount namespace",
    .source = {"tests/host_changing_cases.cc", "selftest"},
    .observe = "mount(tmpfs, ./mountpoint) without CLONE_NEWNS",
    .control = "the same",
    .timeout_s = 2,
    .expect = {ExpectCall("mount", Succeeds())},
    .body = LeavesMount,
});

// Flow: 1. refuse unless the IPC namespace is not the host's; 2. write kernel/msgmnb (a knob
// of the IPC namespace) of the harness's IPC namespace, one above its current value.
void ChangesIpcSysctl(const Probe& p) {
  if (!NotInHostNamespace("ipc", "NSCONFORM_SELFTEST_HOST_IPC")) {
    p.Skip(ReasonCode::kPreconditionUnmet, "not inside a throwaway IPC namespace");
  }
  char value[64];
  NSC_SETUP(p, ReadSmallFile("/proc/sys/kernel/msgmnb", value, sizeof value), "read msgmnb");
  int64_t v = 0;
  for (const char* c = value; *c >= '0' && *c <= '9'; ++c) v = v * 10 + (*c - '0');
  PathBuf next;
  next.Add(v + 1);
  p.Call("write_msgmnb", WriteSmallFile("/proc/sys/kernel/msgmnb", next.c_str()));
}

NSC_CASE({
    .id = "selftest.changes_ipc_sysctl",
    .title = "A case that changes kernel.msgmnb of the harness's IPC namespace",
    .source = {"tests/host_changing_cases.cc", "selftest"},
    .observe = "write /proc/sys/kernel/msgmnb without CLONE_NEWIPC",
    .control = "the same",
    .timeout_s = 2,
    .expect = {ExpectCall("write_msgmnb", Succeeds())},
    .body = ChangesIpcSysctl,
});

}  // namespace
}  // namespace nsc::selftest
