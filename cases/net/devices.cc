// Network namespaces: network devices and /proc/net belong to a network namespace; veth pairs
// die with their namespace; physical devices return to the initial namespace.
// Source: network_namespaces(7), DESCRIPTION; proc_pid_net(5); veth(4).
// Record list items 13 (/sys/class/net needs a sysfs mounted inside the namespace), 14 (the
// contents of a new network namespace) and 33 (physical NICs need spare hardware).
//
// Never touch the host: every device is created in, moved between, or brought up in network
// namespaces the case created (RequireCaseNetNs: each case first builds an "outer" namespace P
// of its own that stands for the parent), with netlink from stack buffers, never the `ip`
// program; sysfs is mounted only in a private mount namespace. No host NIC is ever moved.
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "net_util.h"
#include "nsconform/case.h"

namespace nsc::cases::net {
namespace {

using ::testing::Eq;

// 1 if `path` exists, 0 if not (any error counts as absent).
int64_t Exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 ? 1 : 0;
}

// Number of the interfaces listed in `names` (comma-separated, from the body's /proc/net/dev)
// other than lo for which present(name) is true.
template <typename Fn>
int64_t CountNamesOtherThanLo(const char* names, Fn&& present) {
  int64_t count = 0;
  char one[IFNAMSIZ + 1];
  const char* s = names;
  while (*s != '\0') {
    size_t n = 0;
    while (*s != '\0' && *s != ',') {
      if (n < IFNAMSIZ) one[n++] = *s;
      ++s;
    }
    one[n] = '\0';
    if (*s == ',') ++s;
    if (n > 0 && std::strcmp(one, "lo") != 0 && present(static_cast<const char*>(one))) ++count;
  }
  return count;
}

// Number of the interfaces listed in `names` other than lo that `path` (a /proc/.../net/dev
// file) also lists.
int64_t CountListedOf(const char* path, const char* names) {
  return CountNamesOtherThanLo(names,
                               [&](const char* name) { return NetDevLists(path, name) == 1; });
}

// Number of the interfaces listed in `names` other than lo that have an entry in
// /sys/class/net (of whichever sysfs is mounted on /sys).
int64_t CountInSysfsOf(const char* names) {
  return CountNamesOtherThanLo(names, [](const char* name) {
    PathBuf path("/sys/class/net/");
    path.Add(name);
    return Exists(path.c_str()) == 1;
  });
}

// Flow:
//  1. The body records its own interface names (the host's, read at run time), then clones P
//     with CLONE_NEWNET; P creates veth pair nscA0/nscA1 over netlink.
//  2. P clones N with CLONE_NEWNET. N records whether its /proc/self/net/dev lists P's devices
//     or the body's, records its device list and whether lo is up (item 14), and creates veth
//     pair nscB0/nscB1.
//     Control: N is cloned without CLONE_NEWNET and shares P's (case-created) namespace.
//  3. N looks for nscB0 and the body's devices in the inherited /sys/class/net, then mounts a
//     fresh sysfs in a private mount namespace and looks again, for nscB0, nscA0 and the body's
//     devices (item 13, recorded).
//  4. P records whether its /proc/self/net/dev lists nscB0 while N is still alive.
void DevicesIsolated(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/net");
  NetDevListsOrSkip(p, "/proc/self/net/dev", "lo");  // the host's list must be readable
  PathBuf body_devices;
  NetDevNames("/proc/self/net/dev", body_devices);
  ChildProcess outer = Spawn(CLONE_NEWNET, [&] {
    RequireCaseNetNs(p, start, "P");
    CreateVethForSetup(p, "outer.create_veth", "nscA0", "nscA1");
    p.Value("outer.lists_own_device", NetDevListsOrSkip(p, "/proc/self/net/dev", "nscA0"));
    Barrier created, checked;
    if (!created.ok() || !checked.ok()) p.SetupFailed("pipes for the barriers");
    ChildProcess inner = Spawn(p.Flags(CLONE_NEWNET, CLONE_NEWNET), [&] {
      created.CloseReadEnd();
      checked.CloseWriteEnd();
      RequireCaseNetNs(p, start, "N");
      p.Value("inner.lists_outer_device", NetDevListsOrSkip(p, "/proc/self/net/dev", "nscA0"));
      p.Value("inner.lists_body_devices", CountListedOf("/proc/self/net/dev", body_devices.c_str()));
      PathBuf names;
      NetDevNames("/proc/self/net/dev", names);
      p.Text("inner.device_names", names.c_str());
      const int lo_flags = InterfaceFlags("lo");
      p.Value("inner.lo_up", lo_flags < 0 ? -1 : (lo_flags & IFF_UP) != 0 ? 1 : 0);
      CreateVethForSetup(p, "inner.create_veth", "nscB0", "nscB1");
      p.Value("inherited_sysfs.lists_inner_device", Exists("/sys/class/net/nscB0"));
      p.Value("inherited_sysfs.lists_body_devices", CountInSysfsOf(body_devices.c_str()));
      NSC_SETUP(p, EnterPrivateMountNamespace(), "private mount namespace for the sysfs mount");
      p.Call("fresh_sysfs.mount", mount("nsc-sysfs", "/sys", "sysfs", 0, nullptr));
      p.Value("fresh_sysfs.lists_inner_device", Exists("/sys/class/net/nscB0"));
      p.Value("fresh_sysfs.lists_outer_device", Exists("/sys/class/net/nscA0"));
      p.Value("fresh_sysfs.lists_body_devices", CountInSysfsOf(body_devices.c_str()));
      created.Signal();
      checked.Wait();  // EOF: P has looked; the namespace (and nscB*) may go now
      return 0;
    });
    RecordCloneForSetup(p, "outer.clone", inner, "clone(CLONE_NEWNET)");
    created.CloseWriteEnd();
    checked.CloseReadEnd();
    if (!created.Wait()) p.SetupFailed("N exited before creating its devices");
    p.Value("outer.lists_inner_device", NetDevListsOrSkip(p, "/proc/self/net/dev", "nscB0"));
    checked.CloseWriteEnd();
    inner.Wait();
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", outer, "clone(CLONE_NEWNET)");
  outer.Wait();
}

NSC_CASE({
    .id = "net.devices_isolated",
    .title = "A network device in one network namespace is not visible in another",
    .source = {"network_namespaces(7)", "DESCRIPTION"},
    .references = {"veth(4)", "proc_pid_net(5)", "rtnetlink(7)"},
    .observe = "in a case-made namespace P with a veth pair, a child namespace N lists neither "
               "P's devices nor the host's (read at run time) in /proc/self/net/dev, and a veth "
               "pair N creates over netlink is absent from P. Recorded: N's device list and "
               "whether its lo is up (item 14), and /sys/class/net before and after mounting a "
               "fresh sysfs inside N (item 13)",
    .control = "N is cloned without CLONE_NEWNET and shares P's namespace: it lists P's veth "
               "and P lists N's (contradicts inner.lists_outer_device and outer.lists_inner_device)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWNET | CLONE_NEWNS,
              .min_kernel = {2, 6, 24},
              .kconfig = {"CONFIG_VETH"}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("outer.create_veth", Succeeds())),
                      Given(Expect("outer.lists_own_device", Eq(1))),
                      Given(ExpectCall("outer.clone", Succeeds())),
                      Given(ExpectCall("inner.create_veth", Succeeds()))},
    .expect = {Expect("inner.lists_outer_device", Eq(0)), Expect("inner.lists_body_devices", Eq(0)),
               Expect("outer.lists_inner_device", Eq(0)), Record("inner.device_names"),
               Record("inner.lo_up"), Record("inherited_sysfs.lists_inner_device"),
               Record("inherited_sysfs.lists_body_devices"), Record("fresh_sysfs.lists_body_devices"),
               Record("fresh_sysfs.mount"), Record("fresh_sysfs.lists_inner_device"),
               Record("fresh_sysfs.lists_outer_device")},
    .body = DevicesIsolated,
});

// Flow:
//  1. The body clones P with CLONE_NEWNET; P creates veth pair nscP0/nscP1.
//  2. P clones N with CLONE_NEWNET. N reads the /proc/net symlink and looks for nscP0 in
//     /proc/net/dev and /proc/self/net/dev (the procfs it inherited from the host).
//     Control: N is cloned without CLONE_NEWNET and shares P's namespace.
//  3. While N is alive, P looks for nscP0 in /proc/N/net/dev and in its own /proc/self/net/dev.
void ProcNetIsPerProcess(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/net");
  ChildProcess outer = Spawn(CLONE_NEWNET, [&] {
    RequireCaseNetNs(p, start, "P");
    CreateVethForSetup(p, "outer.create_veth", "nscP0", "nscP1");
    Barrier looked, done;
    if (!looked.ok() || !done.ok()) p.SetupFailed("pipes for the barriers");
    ChildProcess inner = Spawn(p.Flags(CLONE_NEWNET, CLONE_NEWNET), [&] {
      looked.CloseReadEnd();
      done.CloseWriteEnd();
      char link[64] = {};
      p.Call("inner.readlink_proc_net", readlink("/proc/net", link, sizeof link - 1));
      p.Text("inner.proc_net_link", link);
      p.Value("inner.proc_net_lists_outer", NetDevListsOrSkip(p, "/proc/net/dev", "nscP0"));
      p.Value("inner.proc_self_net_lists_outer",
              NetDevListsOrSkip(p, "/proc/self/net/dev", "nscP0"));
      PathBuf names;
      NetDevNames("/proc/net/dev", names);
      p.Text("inner.device_names", names.c_str());
      looked.Signal();
      done.Wait();  // EOF: P has read /proc/N/net/dev
      return 0;
    });
    RecordCloneForSetup(p, "outer.clone", inner, "clone(CLONE_NEWNET)");
    looked.CloseWriteEnd();
    done.CloseReadEnd();
    if (!looked.Wait()) p.SetupFailed("N exited early");
    const PathBuf inner_dev = ProcPath(inner.pid(), "net/dev");
    p.Value("outer.proc_pid_net_lists_outer", NetDevListsOrSkip(p, inner_dev.c_str(), "nscP0"));
    p.Value("outer.proc_self_net_lists_outer",
            NetDevListsOrSkip(p, "/proc/self/net/dev", "nscP0"));
    done.CloseWriteEnd();
    inner.Wait();
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", outer, "clone(CLONE_NEWNET)");
  outer.Wait();
}

NSC_CASE({
    .id = "net.proc_net_is_per_process",
    .title = "/proc/net is /proc/self/net and shows the reader's network namespace; "
             "/proc/PID/net shows PID's",
    .source = {"network_namespaces(7)", "DESCRIPTION"},
    .references = {"proc_pid_net(5)"},
    .observe = "/proc/net is a symlink to self/net; in a child namespace N of a case-made "
               "namespace P (which has a veth), /proc/net/dev and /proc/self/net/dev of the "
               "inherited procfs do not list P's veth, and neither does /proc/N/net/dev read "
               "from P, while P's own /proc/self/net/dev does. N's device list is recorded",
    .control = "N is cloned without CLONE_NEWNET and shares P's namespace: every view lists "
               "P's veth (contradicts inner.proc_net_lists_outer, inner.proc_self_net_lists_outer "
               "and outer.proc_pid_net_lists_outer)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWNET,
              .min_kernel = {2, 6, 25},
              .kconfig = {"CONFIG_VETH"}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("outer.create_veth", Succeeds())),
                      Given(ExpectCall("outer.clone", Succeeds())),
                      Given(ExpectCall("inner.readlink_proc_net", Succeeds())),
                      Given(Expect("outer.proc_self_net_lists_outer", Eq(1)))},
    .expect = {ExpectText("inner.proc_net_link", "self/net"),
               Expect("inner.proc_net_lists_outer", Eq(0)),
               Expect("inner.proc_self_net_lists_outer", Eq(0)),
               Expect("outer.proc_pid_net_lists_outer", Eq(0)), Record("inner.device_names")},
    .body = ProcNetIsPerProcess,
});

constexpr int kTeardownWaitMs = 10000;  // bound for the asynchronous network-namespace cleanup
constexpr int kPinnedWaitMs = 1000;     // control: the bound within which nothing may go

// Flow:
//  1. The body clones P with CLONE_NEWNET. P subscribes to its link events (RTMGRP_LINK) and
//     creates veth pair nscV0/nscV1.
//  2. P clones N with CLONE_NEWNET; N only waits. P moves nscV1 into N's namespace
//     (RTM_NEWLINK with IFLA_NET_NS_FD) and checks /proc/N/net/dev lists it.
//  3. P closes its fd on N's namespace and N exits: the namespace has no member and no
//     reference left and is freed.
//     Control: P keeps the fd open, which pins N's namespace: nothing is freed.
//  4. P waits (bounded) for the RTM_DELLINK of nscV0 (recorded: 1 = the message, 2 = found gone
//     without it, 0 = none), then records whether /proc/self/net/dev still lists nscV0.
void VethDestroyedWithNs(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/net");
  ChildProcess outer = Spawn(CLONE_NEWNET, [&] {
    RequireCaseNetNs(p, start, "P");
    UniqueFd monitor(OpenLinkMonitor());
    if (!monitor.valid()) p.SetupFailed("netlink socket bound to RTMGRP_LINK");
    CreateVethForSetup(p, "outer.create_veth", "nscV0", "nscV1");
    const int index = InterfaceIndex("nscV0");
    Barrier release;
    if (!release.ok()) p.SetupFailed("pipe for the barrier");
    ChildProcess inner = Spawn(CLONE_NEWNET, [&] {
      release.CloseWriteEnd();
      release.Wait();  // EOF: P is done with this namespace
      return 0;
    });
    RecordCloneForSetup(p, "outer.clone", inner, "clone(CLONE_NEWNET)");
    if (!inner.ok()) return 1;
    release.CloseReadEnd();
    const PathBuf inner_ns = ProcPath(inner.pid(), "ns/net");
    UniqueFd target = OpenFile(inner_ns.c_str(), O_RDONLY);
    if (!target.valid()) p.SetupFailed("open the target network namespace file");
    p.Call("outer.move_peer", MoveLink("nscV1", target.get()));
    if (!p.control()) target.Reset();  // the fd would keep N's namespace alive
    const PathBuf inner_dev = ProcPath(inner.pid(), "net/dev");
    p.Value("inner.lists_peer", NetDevListsOrSkip(p, inner_dev.c_str(), "nscV1"));
    p.Value("outer.lists_end_before", NetDevListsOrSkip(p, "/proc/self/net/dev", "nscV0"));
    release.CloseWriteEnd();
    inner.Wait();
    p.Value("outer.end_gone_by", index < 0 ? 0
                                 : AwaitLinkGone(monitor.get(), index, "nscV0",
                                                 p.Pick(kTeardownWaitMs, kPinnedWaitMs)));
    p.Value("outer.lists_end_after", NetDevListsOrSkip(p, "/proc/self/net/dev", "nscV0"));
    target.Reset();
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", outer, "clone(CLONE_NEWNET)");
  outer.Wait();
}

NSC_CASE({
    .id = "net.veth_destroyed_with_ns",
    .title = "A veth end in a freed network namespace is destroyed, and its peer disappears too",
    .source = {"network_namespaces(7)", "DESCRIPTION"},
    .references = {"veth(4)", "rtnetlink(7), RTM_DELLINK"},
    .observe = "in a case-made namespace P, a veth pair is created and one end moved into a "
               "child namespace whose only member then exits: after the kernel's RTM_DELLINK "
               "for the remaining end (awaited, bounded), P's /proc/self/net/dev no longer "
               "lists it",
    .control = "P keeps an fd on the child's namespace, so the child's exit frees nothing: the "
               "remaining end is still listed (contradicts outer.lists_end_after)",
    .needs = {.privilege = Privilege::kUserns,
              .namespaces = CLONE_NEWNET,
              .min_kernel = {2, 6, 24},
              .kconfig = {"CONFIG_VETH"}},
    .timeout_s = 20,
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("outer.create_veth", Succeeds())),
                      Given(ExpectCall("outer.clone", Succeeds())),
                      Given(ExpectCall("outer.move_peer", Succeeds())),
                      Given(Expect("inner.lists_peer", Eq(1))),
                      Given(Expect("outer.lists_end_before", Eq(1)))},
    .expect = {Expect("outer.lists_end_after", Eq(0)), Record("outer.end_gone_by")},
    .body = VethDestroyedWithNs,
});

// Flow: count the host's physical NICs (entries of /sys/class/net with a "device" link), then
// skip: the rule needs a NIC set aside for the test, and the suite never moves a host NIC
// (record list item 33).
void PhysDeviceReturnsToInitNs(const Probe& p) {
  int physical = 0;
  UniqueFd dir = OpenFile("/sys/class/net", O_RDONLY | O_DIRECTORY);
  if (dir.valid()) {
    char buf[4096];
    for (;;) {
      long n = syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        off += d->d_reclen;
        if (d->d_name[0] == '.') continue;
        PathBuf device("/sys/class/net/");
        device.Add(d->d_name).Add("/device");
        if (Exists(device.c_str()) == 1) ++physical;
      }
    }
  }
  p.Value("host.physical_nics", physical);
  PathBuf why("needs a spare physical NIC set aside for it; the suite never moves a host NIC (");
  why.Add(physical).Add(" physical NIC(s) found)");
  p.Skip(ReasonCode::kPreconditionUnmet, why.c_str());
}

NSC_CASE({
    .id = "net.phys_device_returns_to_init_ns",
    .title = "Physical devices of a freed network namespace return to the initial namespace",
    .source = {"network_namespaces(7)", "DESCRIPTION"},
    .observe = "would move a spare physical NIC into a new namespace N, let N die, and find the "
               "NIC in the initial namespace (not in the creator's parent). Always skipped here: "
               "it needs hardware set aside for it (record list item 33)",
    .control = "none: the rule is skipped before anything is observed",
    .needs = {.privilege = Privilege::kRoot, .namespaces = CLONE_NEWNET, .min_kernel = {2, 6, 24}},
    .no_control_because = "the rule needs a spare physical NIC and is always skipped here; a "
                          "control would have nothing to remove",
    .expect = {Record("host.physical_nics")},
    .body = PhysDeviceReturnsToInitNs,
});

}  // namespace
}  // namespace nsc::cases::net
