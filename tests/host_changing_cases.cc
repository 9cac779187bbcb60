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

}  // namespace
}  // namespace nsc::selftest
