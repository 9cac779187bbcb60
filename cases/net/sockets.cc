// Network namespaces: the protocol stacks — port numbers and the abstract UNIX-socket names —
// are per namespace. Source: network_namespaces(7), DESCRIPTION; unix(7), Abstract sockets.
//
// Never touch the host: sockets are bound, and lo is brought up, only in network namespaces the
// case created (RequireCaseNetNs); traffic stays on loopback inside them.
#include <netinet/in.h>
#include <sys/un.h>

#include "net_util.h"
#include "nsconform/case.h"

namespace nsc::cases::net {
namespace {

constexpr uint16_t kPort = 47113;

int BindLoopbackTcp(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == -1) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// Flow:
//  1. A is cloned with CLONE_NEWNET, brings its lo up and binds TCP 127.0.0.1:P (no
//     SO_REUSEADDR), keeping the socket open (set-up: preconditions).
//  2. A clones B with CLONE_NEWNET; B brings its lo up (set-up) and binds TCP 127.0.0.1:P too
//     (the operation under test).
//     Control: B is cloned without CLONE_NEWNET and shares A's (case-created) namespace.
void PortsIsolated(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/net");
  ChildProcess a = Spawn(CLONE_NEWNET, [&] {
    RequireCaseNetNs(p, start, "A");
    p.Call("A.lo_up", BringUp("lo"));
    UniqueFd first(BindLoopbackTcp(kPort));
    p.Call("A.bind", first.get());
    ChildProcess b = Spawn(p.Flags(CLONE_NEWNET, CLONE_NEWNET), [&] {
      RequireCaseNetNs(p, start, "B");
      p.Call("B.lo_up", BringUp("lo"));
      UniqueFd second(BindLoopbackTcp(kPort));
      p.Call("B.bind", second.get());
      return 0;
    });
    RecordCloneForSetup(p, "A.clone", b, "clone(CLONE_NEWNET)");
    b.Wait();
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", a, "clone(CLONE_NEWNET)");
  a.Wait();
}

NSC_CASE({
    .id = "net.ports_isolated",
    .title = "The same address and port can be bound in two network namespaces at once",
    .source = {"network_namespaces(7)", "DESCRIPTION"},
    .references = {"bind(2), EADDRINUSE", "ip(7)"},
    .observe = "namespaces A and B (each with lo brought up) both bind TCP 127.0.0.1:47113 "
               "without SO_REUSEADDR while A's socket is still open: neither bind fails",
    .control = "B is cloned without CLONE_NEWNET and shares A's (case-created) namespace: its "
               "bind fails with EADDRINUSE (contradicts B.bind)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNET, .min_kernel = {2, 6, 24}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("A.lo_up", Succeeds())),
                      Given(ExpectCall("A.bind", Succeeds())), Given(ExpectCall("A.clone", Succeeds())),
                      Given(ExpectCall("B.lo_up", Succeeds()))},
    .expect = {ExpectCall("B.bind", Succeeds())},
    .body = PortsIsolated,
});

// An abstract address "\0nsc-abstract-<pid>"; returns the sockaddr length.
socklen_t AbstractAddress(struct sockaddr_un* addr, pid_t body) {
  *addr = {};
  addr->sun_family = AF_UNIX;
  PathBuf name("nsc-abstract-");
  name.Add(body);
  std::memcpy(addr->sun_path + 1, name.c_str(), name.size());
  return static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + name.size());
}

int ConnectTo(const struct sockaddr_un& addr, socklen_t len) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int r = connect(fd, reinterpret_cast<const struct sockaddr*>(&addr), len);
  const int saved = errno;
  close(fd);
  errno = saved;
  return r;
}

// Flow:
//  1. A is cloned with CLONE_NEWNET and listens on abstract "\0nsc-abstract-<pid>"; a second
//     socket in A connects to it.
//  2. A clones B with CLONE_NEWNET; B connects to the same abstract address.
//     Control: B is cloned without CLONE_NEWNET and shares A's (case-created) namespace.
void AbstractUnixIsolated(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/net");
  struct sockaddr_un addr;
  const socklen_t len = AbstractAddress(&addr, RawGetpid());
  ChildProcess a = Spawn(CLONE_NEWNET, [&] {
    RequireCaseNetNs(p, start, "A");
    UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener.valid()) p.SetupFailed("socket(AF_UNIX)");
    p.Call("A.bind", bind(listener.get(), reinterpret_cast<struct sockaddr*>(&addr), len));
    p.Call("A.listen", listen(listener.get(), 4));
    p.Call("A.connect", ConnectTo(addr, len));
    ChildProcess b = Spawn(p.Flags(CLONE_NEWNET, CLONE_NEWNET), [&] {
      p.Call("B.connect", ConnectTo(addr, len));
      return 0;
    });
    RecordCloneForSetup(p, "A.clone", b, "clone(CLONE_NEWNET)");
    b.Wait();
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", a, "clone(CLONE_NEWNET)");
  a.Wait();
}

NSC_CASE({
    .id = "net.abstract_unix_isolated",
    .title = "Each network namespace has its own abstract UNIX-socket names",
    .source = {"network_namespaces(7)", "DESCRIPTION"},
    .references = {"unix(7), Abstract sockets"},
    .observe = "A listens on an abstract address; a connect() from inside A succeeds, from a "
               "second namespace B it fails with ECONNREFUSED",
    .control = "B is cloned without CLONE_NEWNET and shares A's (case-created) namespace: its "
               "connect() succeeds (contradicts B.connect)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWNET, .min_kernel = {2, 6, 24}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("A.bind", Succeeds())),
                      Given(ExpectCall("A.listen", Succeeds())),
                      Given(ExpectCall("A.connect", Succeeds())),
                      Given(ExpectCall("A.clone", Succeeds()))},
    .expect = {ExpectCall("B.connect", FailsWith(ECONNREFUSED))},
    .body = AbstractUnixIsolated,
});

}  // namespace
}  // namespace nsc::cases::net
