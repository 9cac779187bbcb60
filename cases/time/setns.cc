// Time namespaces: joining one with setns(2), and the single-threaded restriction on it.
// Source: time_namespaces(7), DESCRIPTION; setns(2), CLONE_NEWTIME and 'Details for specific
// namespace types'.
//
// Both bodies use the same set-up: an "owner" child unshares CLONE_NEWTIME (which creates the
// namespace without entering it), writes a monotonic offset, and stays alive until the body
// is done, so that /proc/<owner>/ns/time_for_children names a namespace with no member yet.
#include <fcntl.h>
#include <time.h>

#include <cstring>

#include "../common/requires_cap_sys_admin.h"
#include "nsconform/case.h"

namespace nsc::cases {
namespace {

using ::testing::AllOf;
using ::testing::Eq;
using ::testing::Ge;
using ::testing::Lt;

constexpr int64_t kOffsetMs = 100000LL * 1000;
constexpr int64_t kSlackMs = 10000;

int64_t MonotonicNs() {
  struct timespec ts{};
  if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) return -1;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The owner of a new time namespace with monotonic offset +100000 s. It signals `ready` once
// the namespace exists and stays alive until `done` is signalled (or the body goes away).
ChildProcess SpawnTimeNsOwner(const Probe& p, Barrier& ready, Barrier& done) {
  ChildProcess owner = Spawn(0, [&] {
    ready.CloseReadEnd();
    done.CloseWriteEnd();
    SetupUnshare(p, CLONE_NEWTIME, "owner: unshare(CLONE_NEWTIME)");
    NSC_SETUP(p, WriteSmallFile("/proc/self/timens_offsets", "monotonic 100000 0\n"),
              "owner: writing the offsets");
    ready.Signal();
    done.Wait();
    return 0;
  });
  ready.CloseWriteEnd();
  return owner;
}

// Flow: 1. the owner creates a time namespace with monotonic offset +100000 s; 2. a sibling
// opens /proc/<owner>/ns/time_for_children (control: /proc/<owner>/ns/time, the namespace
// it already shares); 3. reads CLOCK_MONOTONIC, calls setns(fd, CLONE_NEWTIME), reads it
// again and records the jump and its own ns/time.
void SetnsEntersNs(const Probe& p) {
  Barrier ready, done;
  if (!ready.ok() || !done.ok()) p.SetupFailed("pipe");
  ChildProcess owner = SpawnTimeNsOwner(p, ready, done);
  NSC_SETUP(p, owner.pid(), "fork of the namespace owner");
  if (!ready.Wait()) p.SetupFailed("the namespace owner did not get ready");
  const PathBuf target =
      ProcPath(owner.pid(), p.Pick<const char*>("ns/time_for_children", "ns/time"));
  const PathBuf owner_children = ProcPath(owner.pid(), "ns/time_for_children");
  p.NsId("owner.time_for_children", owner_children.c_str());

  ChildProcess sibling = Spawn(0, [&] {
    UniqueFd fd = OpenFile(target.c_str(), O_RDONLY);
    if (!fd.valid()) p.SetupFailed("open of the owner's time namespace file");
    const int64_t before = MonotonicNs();
    const long joined = setns(fd.get(), CLONE_NEWTIME);
    if (joined == -1 && UnderSeccompFilter() == 1) SetupStepRefused(p, "setns(CLONE_NEWTIME)", errno);
    p.Call("setns", joined);
    const int64_t after = MonotonicNs();
    p.Value("jump_ms", (after - before) / 1000000);
    p.NsId("sibling.time", "/proc/self/ns/time");
    p.NsId("sibling.time_for_children", "/proc/self/ns/time_for_children");
    return 0;
  });
  NSC_SETUP(p, sibling.pid(), "fork of the sibling");
  sibling.Wait();
  done.Signal();
  owner.Wait();
}

NSC_CASE({
    .id = "time.setns_enters_ns",
    .title = "setns(CLONE_NEWTIME) moves the caller itself into the time namespace",
    .source = {"time_namespaces(7)", "DESCRIPTION"},
    .references = {"setns(2), CLONE_NEWTIME"},
    .observe = "a sibling opens the owner's ns/time_for_children (monotonic offset +100000 s) "
               "and calls setns(fd, CLONE_NEWTIME): it returns 0, the caller's CLOCK_MONOTONIC "
               "jumps by 100000 s, and its ns/time and ns/time_for_children are that namespace",
    .control = "the sibling joins the owner's ns/time, the namespace it is already in: no jump, "
               "and it is not in the new namespace (contradicts jump_ms, sibling.time and "
               "sibling.time_for_children)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 8},
              .kconfig = {"CONFIG_TIME_NS"}},
    .expect = {ExpectCall("setns", Succeeds()),
               Expect("jump_ms", AllOf(Ge(kOffsetMs), Lt(kOffsetMs + kSlackMs))),
               ExpectSameNs("sibling.time", "owner.time_for_children"),
               ExpectSameNs("sibling.time_for_children", "owner.time_for_children")},
    .body = SetnsEntersNs,
});

// Flow: 1. the owner creates a time namespace; 2. a sibling starts a second thread (control:
// stays single-threaded) and records its thread count; 3. the sibling calls
// setns(fd of the owner's time_for_children, CLONE_NEWTIME) and records the result and errno.
void SetnsMultithreadedRefused(const Probe& p) {
  Barrier ready, done;
  if (!ready.ok() || !done.ok()) p.SetupFailed("pipe");
  ChildProcess owner = SpawnTimeNsOwner(p, ready, done);
  NSC_SETUP(p, owner.pid(), "fork of the namespace owner");
  if (!ready.Wait()) p.SetupFailed("the namespace owner did not get ready");
  const PathBuf target = ProcPath(owner.pid(), "ns/time_for_children");

  ChildProcess sibling = Spawn(0, [&] {
    UniqueFd fd = OpenFile(target.c_str(), O_RDONLY);
    if (!fd.valid()) p.SetupFailed("open of the owner's time_for_children");
    if (!p.control()) {
      NSC_SETUP(p, StartBlockedThread(CLONE_FS | CLONE_FILES | CLONE_SYSVSEM),
                "starting a second thread");
    }
    int64_t threads = -1;
    if (ReadStatusIds(0, "Threads", &threads, 1) != 1) {
      p.Skip(ReasonCode::kPreconditionUnmet, "no Threads line in /proc/self/status");
    }
    // The thread count is the factor the control removes: recorded, and checked here (fail
    // closed) rather than judged, so that the control fails on setns alone.
    if (threads != p.Pick(2, 1)) p.SetupFailed("the sibling does not have the intended thread count");
    p.Value("sibling.threads", threads);
    const long ret = setns(fd.get(), CLONE_NEWTIME);
    const int err = errno;
    p.Call("setns", ret);
    const char* err_name = ret == -1 ? strerrorname_np(err) : "none";
    p.Text("setns.errno", err_name != nullptr ? err_name : "unknown");
    return 0;
  });
  NSC_SETUP(p, sibling.pid(), "fork of the sibling");
  sibling.Wait();
  done.Signal();
  owner.Wait();
}

NSC_CASE({
    .id = "time.setns_multithreaded_refused",
    .title = "A multithreaded process cannot setns() into a time namespace",
    .source = {"setns(2)", "Details for specific namespace types (Time namespaces)"},
    .references = {"rules.md record item 35 (the errno, EUSERS in kernel source)"},
    .observe = "a process with two threads calls setns(time_for_children fd, CLONE_NEWTIME): it "
               "fails; the errno (not given by the page) is recorded",
    .control = "the process stays single-threaded: setns succeeds (contradicts setns)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWTIME, .min_kernel = {5, 8},
              .kconfig = {"CONFIG_TIME_NS"}},
    .expect = {Record("sibling.threads"), ExpectCall("setns", Fails()),
               Record("setns.errno")},
    .body = SetnsMultithreadedRefused,
});

}  // namespace
}  // namespace nsc::cases
