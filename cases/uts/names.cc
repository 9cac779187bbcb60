// UTS namespaces: the hostname and the NIS domain name are per namespace — copied at creation,
// isolated afterwards, shared with processes that join by setns().
// Source: uts_namespaces(7), DESCRIPTION; clone(2), CLONE_NEWUTS; setns(2).
//
// Never touch the host: sethostname()/setdomainname() are called only by processes that are in a
// UTS namespace the case created (clone with CLONE_NEWUTS in the rule and in the control), and a
// writer first checks at run time that its UTS namespace differs from the one the body started in.
// The host's names are read at run time and compared, never assumed.
#include <fcntl.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>

#include "nsconform/case.h"
#include "uts_util.h"

namespace nsc::cases {
namespace {

using uts::RecordCloneForSetup;
using uts::RecordSetupRename;

using ::testing::Eq;

constexpr char kCopiedHost[] = "nsc-uts-copied";
constexpr char kCopiedDomain[] = "nsc-dom-copied";
constexpr char kIsolatedHost[] = "nsc-uts-isolated";
constexpr char kIsolatedDomain[] = "nsc-dom-isolated";
constexpr char kJoinedHost[] = "nsc-uts-joined";
constexpr char kChangedByJoiner[] = "nsc-uts-changed-by-joiner";

// Records uname()'s nodename and domainname under `<who>.nodename` / `<who>.domainname`.
void RecordNames(const Probe& p, const char* who) {
  struct utsname u{};
  if (uname(&u) == -1) p.SetupFailed("uname");
  PathBuf node(who);
  node.Add(".nodename");
  PathBuf domain(who);
  domain.Add(".domainname");
  p.Text(node.c_str(), u.nodename);
  p.Text(domain.c_str(), u.domainname);
}

// Records one of uname()'s names under `<who>.nodename` (hostname) or `<who>.domainname`.
void RecordName(const Probe& p, const char* who, bool hostname) {
  struct utsname u{};
  if (uname(&u) == -1) p.SetupFailed("uname");
  PathBuf key(who);
  key.Add(hostname ? ".nodename" : ".domainname");
  p.Text(key.c_str(), hostname ? u.nodename : u.domainname);
}

// Sets both names (set-up: preconditions); only ever called in a UTS namespace the case created
// (checked by the caller).
void SetNames(const Probe& p, const char* who, const char* host, const char* domain) {
  PathBuf host_key(who);
  host_key.Add(".sethostname");
  PathBuf domain_key(who);
  domain_key.Add(".setdomainname");
  RecordSetupRename(p, host_key.c_str(), sethostname(host, std::strlen(host)));
  RecordSetupRename(p, domain_key.c_str(), setdomainname(domain, std::strlen(domain)));
}

// Flow:
//  1. The body records the host's names (uname) and clones C with CLONE_NEWUTS (namespace A).
//  2. C records its names right away (they must equal the host's: copied at creation), then
//     gives A distinctive names.
//  3. C clones G with CLONE_NEWUTS (namespace B) and records A's names at that moment; G waits
//     for C's go-ahead and records its names, which must equal A's.
//     Control: C clones G *before* renaming A, so B was copied from A's old names.
void CopiedAtCreation(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/uts");
  RecordNames(p, "host");
  ChildProcess c = Spawn(CLONE_NEWUTS, [&] {
    RecordNames(p, "first_ns");
    if (!InOtherNamespace("/proc/self/ns/uts", start)) {
      p.SetupFailed("C is not in a new UTS namespace; refusing to rename");
    }
    Barrier go;
    if (!go.ok()) p.SetupFailed("pipe for the barrier");
    auto spawn_g = [&] {
      return Spawn(CLONE_NEWUTS, [&] {
        go.CloseWriteEnd();
        if (!go.Wait()) p.SetupFailed("waiting for the creator's go-ahead");
        RecordNames(p, "new_ns");
        return 0;
      });
    };
    ChildProcess g;
    if (p.control()) {
      g = spawn_g();
      RecordCloneForSetup(p, "creator.clone", g, "clone(CLONE_NEWUTS) of the second namespace");
      SetNames(p, "creator", kCopiedHost, kCopiedDomain);
    } else {
      SetNames(p, "creator", kCopiedHost, kCopiedDomain);
      g = spawn_g();
      RecordCloneForSetup(p, "creator.clone", g, "clone(CLONE_NEWUTS) of the second namespace");
    }
    RecordNames(p, "creator");
    go.CloseReadEnd();
    go.Signal();
    g.Wait();
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", c, "clone(CLONE_NEWUTS)");
  c.Wait();
}

NSC_CASE({
    .id = "uts.copied_at_creation",
    .title = "A new UTS namespace starts with the creator's current hostname and NIS domain name",
    .source = {"uts_namespaces(7)", "DESCRIPTION"},
    .references = {"clone(2), CLONE_NEWUTS", "unshare(2), CLONE_NEWUTS"},
    .observe = "clone(CLONE_NEWUTS) from the host: uname() inside returns the host's nodename and "
               "domainname (read at run time). That process renames its namespace, then clones "
               "again with CLONE_NEWUTS: the grandchild's names equal the creator's current names",
    .control = "the grandchild's namespace is created before the creator renames its own, so it "
               "keeps the old names: contradicts new_ns.nodename and new_ns.domainname",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUTS, .min_kernel = {2, 6, 19}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("creator.sethostname", Succeeds())),
                      Given(ExpectCall("creator.setdomainname", Succeeds())),
                      Given(ExpectCall("creator.clone", Succeeds()))},
    .expect = {ExpectSameText("first_ns.nodename", "host.nodename"),
               ExpectSameText("first_ns.domainname", "host.domainname"),
               ExpectSameText("new_ns.nodename", "creator.nodename"),
               ExpectSameText("new_ns.domainname", "creator.domainname")},
    .body = CopiedAtCreation,
});

// Shared flow of the hostname and domainname isolation rules.
//  1. The body records the host's names, then clones writer W with CLONE_NEWUTS.
//  2. W (after checking it left the host's UTS namespace) sets the name and keeps its
//     namespace alive until the readers are done.
//  3. Reader O, cloned by the body without CLONE_NEWUTS, records its names: still the host's.
//     Control: O joins W's namespace with setns() first (the boundary is removed).
//  4. Reader J joins W's namespace with setns() and records the names W set.
//  5. The body records its own names again after W has gone.
void NameIsolated(const Probe& p, bool hostname) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/uts");
  RecordName(p, "host", hostname);
  Barrier written, done;
  if (!written.ok() || !done.ok()) p.SetupFailed("pipes for the barriers");
  ChildProcess w = Spawn(CLONE_NEWUTS, [&] {
    written.CloseReadEnd();
    done.CloseWriteEnd();
    if (!InOtherNamespace("/proc/self/ns/uts", start)) {
      p.SetupFailed("W is not in a new UTS namespace; refusing to rename");
    }
    if (hostname) {
      RecordSetupRename(p, "writer.set", sethostname(kIsolatedHost, std::strlen(kIsolatedHost)));
    } else {
      RecordSetupRename(p, "writer.set",
                        setdomainname(kIsolatedDomain, std::strlen(kIsolatedDomain)));
    }
    written.Signal();
    done.Wait();  // EOF once the body has finished reading
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", w, "clone(CLONE_NEWUTS) of the writer");
  written.CloseWriteEnd();
  done.CloseReadEnd();
  if (!written.Wait()) p.SetupFailed("writer exited before setting the name");

  UniqueFd w_ns = OpenFile(ProcPath(w.pid(), "ns/uts").c_str(), O_RDONLY);
  if (!w_ns.valid()) p.SetupFailed("open /proc/W/ns/uts");

  ChildProcess o = Spawn(0, [&] {
    if (p.control() && setns(w_ns.get(), CLONE_NEWUTS) == -1) p.SetupFailed("control: setns into W");
    RecordName(p, "outside", hostname);
    return 0;
  });
  o.Wait();
  ChildProcess j = Spawn(0, [&] {
    p.Call("joiner.setns", setns(w_ns.get(), CLONE_NEWUTS));
    RecordName(p, "joined", hostname);
    return 0;
  });
  j.Wait();
  done.CloseWriteEnd();
  w.Wait();
  RecordName(p, "host_after", hostname);
}

void HostnameIsolated(const Probe& p) { NameIsolated(p, true); }
void DomainnameIsolated(const Probe& p) { NameIsolated(p, false); }

NSC_CASE({
    .id = "uts.hostname_isolated",
    .title = "A hostname change is seen by every process of the UTS namespace and by none outside",
    .source = {"uts_namespaces(7)", "DESCRIPTION"},
    .references = {"gethostname(2)", "setns(2)"},
    .observe = "a child in a new UTS namespace calls sethostname(\"nsc-uts-isolated\"): a process "
               "outside still reads the host's hostname (read at run time), the body reads it "
               "unchanged afterwards, and a process that joined with setns() reads the new name",
    .control = "the outside reader first joins the writer's namespace with setns(): it reads the "
               "new name instead of the host's (contradicts outside.nodename)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUTS, .min_kernel = {2, 6, 19}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("writer.set", Succeeds())),
                      Given(ExpectCall("joiner.setns", Succeeds()))},
    .expect = {ExpectSameText("outside.nodename", "host.nodename"),
               ExpectSameText("host_after.nodename", "host.nodename"),
               ExpectText("joined.nodename", kIsolatedHost)},
    .body = HostnameIsolated,
});

NSC_CASE({
    .id = "uts.domainname_isolated",
    .title = "The NIS domain name is isolated per UTS namespace like the hostname",
    .source = {"uts_namespaces(7)", "DESCRIPTION"},
    .references = {"getdomainname(2)"},
    .observe = "a child in a new UTS namespace calls setdomainname(\"nsc-dom-isolated\"): a "
               "process outside still reads the host's domainname (read at run time), the body "
               "reads it unchanged afterwards, and a process that joined with setns() reads the "
               "new name",
    .control = "the outside reader first joins the writer's namespace with setns(): it reads the "
               "new domain name instead of the host's (contradicts outside.domainname)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUTS, .min_kernel = {2, 6, 19}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("writer.set", Succeeds())),
                      Given(ExpectCall("joiner.setns", Succeeds()))},
    .expect = {ExpectSameText("outside.domainname", "host.domainname"),
               ExpectSameText("host_after.domainname", "host.domainname"),
               ExpectText("joined.domainname", kIsolatedDomain)},
    .body = DomainnameIsolated,
});

// Flow:
//  1. Target T is cloned with CLONE_NEWUTS and names its namespace "nsc-uts-joined".
//  2. Joiner J is cloned with CLONE_NEWUTS too (its own private namespace, so that nothing it
//     does can reach the host), opens /proc/T/ns/uts and calls setns(fd, CLONE_NEWUTS).
//     Control: J "joins" its own namespace (/proc/self/ns/uts) instead of T's.
//  3. J records gethostname(), then sets "nsc-uts-changed-by-joiner".
//  4. T records its hostname after J has finished: it sees J's change.
void SetnsJoins(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/uts");
  Barrier named, joined;
  if (!named.ok() || !joined.ok()) p.SetupFailed("pipes for the barriers");
  ChildProcess t = Spawn(CLONE_NEWUTS, [&] {
    named.CloseReadEnd();
    joined.CloseWriteEnd();
    if (!InOtherNamespace("/proc/self/ns/uts", start)) {
      p.SetupFailed("T is not in a new UTS namespace; refusing to rename");
    }
    RecordSetupRename(p, "target.sethostname", sethostname(kJoinedHost, std::strlen(kJoinedHost)));
    named.Signal();
    if (!joined.Wait()) p.SetupFailed("joiner exited early");
    char name[65] = {};
    p.Call("target.gethostname_after", gethostname(name, sizeof name - 1));
    p.Text("target.hostname_after", name);
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", t, "clone(CLONE_NEWUTS) of the target");
  named.CloseWriteEnd();
  joined.CloseReadEnd();
  if (!named.Wait()) p.SetupFailed("target exited before naming its namespace");
  ChildProcess j = Spawn(CLONE_NEWUTS, [&] {
    const PathBuf target = ProcPath(t.pid(), "ns/uts");
    UniqueFd ns = OpenFile(p.control() ? "/proc/self/ns/uts" : target.c_str(), O_RDONLY);
    if (!ns.valid()) p.SetupFailed("open the UTS namespace file to join");
    p.Call("joiner.setns", setns(ns.get(), CLONE_NEWUTS));
    char name[65] = {};
    p.Call("joiner.gethostname", gethostname(name, sizeof name - 1));
    p.Text("joiner.hostname", name);
    if (!InOtherNamespace("/proc/self/ns/uts", start)) {
      p.SetupFailed("J is in the start UTS namespace; refusing to rename");
    }
    RecordSetupRename(p, "joiner.sethostname",
                      sethostname(kChangedByJoiner, std::strlen(kChangedByJoiner)));
    return 0;
  });
  if (!j.ok()) uts::NamespaceSetupFailed(p, errno, "clone(CLONE_NEWUTS) of the joiner");
  j.Wait();
  joined.Signal();
  t.Wait();
}

NSC_CASE({
    .id = "uts.setns_joins",
    .title = "setns() into a UTS namespace makes the caller see and change that namespace's names",
    .source = {"setns(2)", "DESCRIPTION"},
    .references = {"uts_namespaces(7)"},
    .observe = "setns(nsfd of a target's UTS namespace, CLONE_NEWUTS): gethostname() then returns "
               "the target's hostname, and a sethostname() by the joiner is seen by the target",
    .control = "the joiner setns()es into its own private UTS namespace instead: it reads its own "
               "hostname, and its rename is not seen by the target (contradicts joiner.hostname "
               "and target.hostname_after)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWUTS, .min_kernel = {3, 0}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("target.sethostname", Succeeds())),
                      Given(ExpectCall("joiner.setns", Succeeds())),
                      Given(ExpectCall("joiner.gethostname", Succeeds())),
                      Given(ExpectCall("target.gethostname_after", Succeeds()))},
    .expect = {ExpectText("joiner.hostname", kJoinedHost),
               ExpectCall("joiner.sethostname", Succeeds()),
               ExpectText("target.hostname_after", kChangedByJoiner)},
    .body = SetnsJoins,
});

}  // namespace
}  // namespace nsc::cases
