// Helpers shared by the network-namespace cases (cases/net/*.cc): a run-time guard that a
// process is in a network namespace the case created, rtnetlink requests built in stack buffers
// (veth creation, moving a link, link events), interface ioctls and /proc/PID/net/dev readers.
//
// Never touch the host: network devices are created, moved or brought up only after
// RequireCaseNetNs(start) said that the caller's network namespace differs from the one the
// body started in (the harness's, i.e. the host's). The `ip` program is never used.
// Async-signal-safe: raw syscalls and stack buffers only.
#pragma once

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "nsconform/case.h"
#include "../common/namespace_setup.h"

namespace nsc::cases::net {

// The set-up attribution helpers, shared by every group (cases/common/namespace_setup.h).
using ::nsc::cases::NamespaceSetupFailed;
using ::nsc::cases::RecordCloneForSetup;
using ::nsc::cases::SeccompFiltered;

// ---------------------------------------------------------------------------------------------
// Namespace guard

// Refuses (SetupFailed) to go on unless the caller is positively in another network namespace
// than `start` (NsFileIdOf("/proc/self/ns/net"), taken by the body before it created any
// namespace).
inline void RequireCaseNetNs(const Probe& p, const NsFileId& start, const char* who) {
  if (!InOtherNamespace("/proc/self/ns/net", start)) {
    PathBuf why(who);
    why.Add(" is not in a network namespace the case created; refusing to touch links");
    p.SetupFailed(why.c_str());
  }
}

// ---------------------------------------------------------------------------------------------
// rtnetlink in a stack buffer

// Calls fn(header) for each complete netlink message in buf[0, n) until fn returns true.
// Returns true if fn did.
template <typename Fn>
bool ForEachNetlinkMessage(const char* buf, size_t n, Fn&& fn) {
  size_t off = 0;
  while (off + sizeof(struct nlmsghdr) <= n) {
    const auto* h = reinterpret_cast<const struct nlmsghdr*>(buf + off);
    if (h->nlmsg_len < sizeof(struct nlmsghdr) || h->nlmsg_len > n - off) return false;
    if (fn(h)) return true;
    off += NLMSG_ALIGN(h->nlmsg_len);
  }
  return false;
}

class NetlinkRequest {
 public:
  // Starts an RTM_* link message: nlmsghdr + ifinfomsg (family AF_UNSPEC, `ifindex`).
  NetlinkRequest(uint16_t type, uint16_t flags, int ifindex = 0) {
    std::memset(buf_, 0, sizeof buf_);
    auto* h = Header();
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    h->nlmsg_seq = 1;
    len_ = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    auto* ifi = static_cast<struct ifinfomsg*>(NLMSG_DATA(h));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    h->nlmsg_len = static_cast<uint32_t>(len_);
  }

  bool ok() const { return !overflow_; }

  // Appends an attribute; returns its offset (for nesting), or 0 on overflow.
  size_t Put(uint16_t type, const void* data, size_t size) {
    const size_t need = RTA_SPACE(size);
    if (len_ + need > sizeof buf_) {
      overflow_ = true;
      return 0;
    }
    const size_t at = len_;
    auto* rta = reinterpret_cast<struct rtattr*>(buf_ + at);
    rta->rta_type = type;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    if (size > 0) std::memcpy(RTA_DATA(rta), data, size);
    len_ += need;
    Header()->nlmsg_len = static_cast<uint32_t>(len_);
    return at;
  }
  size_t PutString(uint16_t type, const char* s) { return Put(type, s, std::strlen(s) + 1); }
  size_t PutU32(uint16_t type, uint32_t v) { return Put(type, &v, sizeof v); }
  // Raw bytes inside the current nest (the ifinfomsg that starts a VETH_INFO_PEER payload).
  void PutRaw(const void* data, size_t size) {
    const size_t need = NLMSG_ALIGN(size);
    if (len_ + need > sizeof buf_) {
      overflow_ = true;
      return;
    }
    std::memcpy(buf_ + len_, data, size);
    len_ += need;
    Header()->nlmsg_len = static_cast<uint32_t>(len_);
  }
  size_t BeginNest(uint16_t type) { return Put(type, nullptr, 0); }
  void EndNest(size_t at) {
    if (overflow_ || at == 0) return;
    reinterpret_cast<struct rtattr*>(buf_ + at)->rta_len = static_cast<unsigned short>(len_ - at);
  }

  // Sends the request on a fresh NETLINK_ROUTE socket and reads the acknowledgement.
  // Returns 0, or -1 with errno set to the kernel's error.
  int Send() {
    if (overflow_) {
      errno = EMSGSIZE;
      return -1;
    }
    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -1;
    UniqueFd sock(fd);
    struct sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, buf_, len_, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel) < 0) {
      return -1;
    }
    alignas(struct nlmsghdr) char reply[4096];
    for (;;) {
      ssize_t n = recv(fd, reply, sizeof reply, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      int error = 1;  // 1: no acknowledgement in this datagram yet
      ForEachNetlinkMessage(reply, static_cast<size_t>(n), [&](const struct nlmsghdr* h) {
        if (h->nlmsg_type != NLMSG_ERROR) return false;
        error = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h))->error;
        return true;
      });
      if (error == 0) return 0;
      if (error < 0) {
        errno = -error;
        return -1;
      }
    }
  }

 private:
  struct nlmsghdr* Header() { return reinterpret_cast<struct nlmsghdr*>(buf_); }

  alignas(struct nlmsghdr) char buf_[1024];
  size_t len_ = 0;
  bool overflow_ = false;
};

// RTM_NEWLINK with IFLA_INFO_KIND "veth": creates `name` in the caller's namespace and its peer
// `peer`, in the network namespace `peer_ns_fd` refers to, or next to it if peer_ns_fd is -1.
inline int CreateVethPair(const char* name, const char* peer, int peer_ns_fd = -1) {
  NetlinkRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  req.PutString(IFLA_IFNAME, name);
  const size_t linkinfo = req.BeginNest(IFLA_LINKINFO);
  req.PutString(IFLA_INFO_KIND, "veth");
  const size_t data = req.BeginNest(IFLA_INFO_DATA);
  const size_t peer_info = req.BeginNest(VETH_INFO_PEER);
  struct ifinfomsg peer_ifi{};
  peer_ifi.ifi_family = AF_UNSPEC;
  req.PutRaw(&peer_ifi, sizeof peer_ifi);
  req.PutString(IFLA_IFNAME, peer);
  if (peer_ns_fd >= 0) req.PutU32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_ns_fd));
  req.EndNest(peer_info);
  req.EndNest(data);
  req.EndNest(linkinfo);
  return req.Send();
}

// CreateVethPair as a set-up step: records the result under `key` (a precondition of the
// rules that use it) and stops the case when it fails: SKIP when the veth link type is not
// available here (EOPNOTSUPP: built as a module that is not loaded and cannot be loaded, e.g.
// inside a container), ERROR/SETUP_FAILED otherwise. Never a verdict.
inline void CreateVethForSetup(const Probe& p, const char* key, const char* name, const char* peer,
                               int peer_ns_fd = -1) {
  const int r = CreateVethPair(name, peer, peer_ns_fd);
  const int err = errno;
  p.Call(key, r);
  if (r == 0) return;
  if (err == EOPNOTSUPP) {
    p.Skip(ReasonCode::kPreconditionUnmet,
           "the veth link type is not available here (EOPNOTSUPP: module not loaded and not "
           "loadable)");
  }
  errno = err;
  p.SetupFailed("creating a veth pair over rtnetlink");
}

// Calls fn(fd, ifr) with an AF_INET datagram socket and an ifreq naming `name`, for interface
// ioctls; returns fn's result, or -1 with errno if the socket cannot be made.
template <typename Fn>
int WithInterfaceRequest(const char* name, Fn&& fn) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  UniqueFd sock(fd);
  struct ifreq ifr{};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  return fn(fd, ifr);
}

// ifindex of `name` in the caller's namespace, or -1 with errno.
inline int InterfaceIndex(const char* name) {
  return WithInterfaceRequest(name, [](int fd, struct ifreq& ifr) {
    return ioctl(fd, SIOCGIFINDEX, &ifr) == -1 ? -1 : ifr.ifr_ifindex;
  });
}

// Moves link `name` of the caller's namespace into the namespace `ns_fd` refers to
// (RTM_NEWLINK with IFLA_NET_NS_FD). Returns 0 or -1 with errno.
inline int MoveLink(const char* name, int ns_fd) {
  const int index = InterfaceIndex(name);
  if (index < 0) return -1;
  NetlinkRequest req(RTM_NEWLINK, 0, index);
  req.PutU32(IFLA_NET_NS_FD, static_cast<uint32_t>(ns_fd));
  return req.Send();
}

// Interface flags of `name` (SIOCGIFFLAGS), or -1 with errno.
inline int InterfaceFlags(const char* name) {
  return WithInterfaceRequest(name, [](int fd, struct ifreq& ifr) {
    return ioctl(fd, SIOCGIFFLAGS, &ifr) == -1 ? -1 : ifr.ifr_flags & 0xffff;
  });
}

// Sets IFF_UP on `name` (SIOCSIFFLAGS). Returns 0 or -1 with errno.
inline int BringUp(const char* name) {
  return WithInterfaceRequest(name, [](int fd, struct ifreq& ifr) {
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == -1) return -1;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    return ioctl(fd, SIOCSIFFLAGS, &ifr);
  });
}

// A NETLINK_ROUTE socket subscribed to link events (RTMGRP_LINK) of the caller's namespace.
inline int OpenLinkMonitor() {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  struct sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&local), sizeof local) == -1) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// Waits until link `name` (ifindex `ifindex`) of the caller's namespace is gone: returns 1 when
// its RTM_DELLINK arrives on `monitor_fd` (an OpenLinkMonitor() socket, opened before the link
// could go), 2 when it is found missing from /proc/self/net/dev without that message having
// been seen (e.g. after the socket overflowed), 0 if `timeout_ms` passes with no event.
inline int AwaitLinkGone(int monitor_fd, int ifindex, const char* name, int timeout_ms);

// ---------------------------------------------------------------------------------------------
// /proc/PID/net/dev

// Calls fn(name) for every interface listed in a /proc/.../net/dev file; returns the number of
// interfaces, or -1 with errno if the file cannot be read.
template <typename Fn>
int ForEachNetDev(const char* path, Fn&& fn) {
  char buf[8192];
  if (ReadSmallFile(path, buf, sizeof buf) < 0) return -1;
  int count = 0;
  char* line = buf;
  while (*line != '\0') {
    char* end = line;
    while (*end != '\0' && *end != '\n') ++end;
    const bool last = *end == '\0';
    *end = '\0';
    char* colon = line;
    while (*colon != '\0' && *colon != ':') ++colon;
    if (*colon == ':') {  // header lines contain '|' but no ':'
      char* name = line;
      while (*name == ' ') ++name;
      *colon = '\0';
      fn(static_cast<const char*>(name));
      ++count;
    }
    if (last) break;
    line = end + 1;
  }
  return count;
}

// 1 if the /proc/.../net/dev file at `path` lists `name`, 0 if not, -1 if unreadable.
inline int NetDevLists(const char* path, const char* name) {
  int found = 0;
  if (ForEachNetDev(path, [&](const char* dev) {
        if (std::strcmp(dev, name) == 0) found = 1;
      }) < 0) {
    return -1;
  }
  return found;
}

// NetDevLists for an observation: 1 or 0; a file that cannot be read is a missing input and
// makes the case SKIP (never compared as -1).
inline int64_t NetDevListsOrSkip(const Probe& p, const char* path, const char* name) {
  const int found = NetDevLists(path, name);
  if (found < 0) p.Skip(ReasonCode::kPreconditionUnmet, "a /proc/PID/net/dev file cannot be read");
  return found;
}

// The interface names of a /proc/.../net/dev file, comma-separated (truncated to fit).
inline void NetDevNames(const char* path, PathBuf& out) {
  if (ForEachNetDev(path, [&](const char* dev) {
        if (out.size() > 0) out.Add(",");
        out.Add(dev);
      }) < 0) {
    out.Add("(unreadable)");
  }
}

inline int AwaitLinkGone(int monitor_fd, int ifindex, const char* name, int timeout_ms) {
  for (;;) {
    if (NetDevLists("/proc/self/net/dev", name) == 0) return 2;
    struct pollfd pfd{monitor_fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return 0;
    alignas(struct nlmsghdr) char buf[8192];
    ssize_t n = recv(monitor_fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)) continue;
    if (n <= 0) return 0;
    if (ForEachNetlinkMessage(buf, static_cast<size_t>(n), [&](const struct nlmsghdr* h) {
          if (h->nlmsg_type != RTM_DELLINK) return false;
          return static_cast<const struct ifinfomsg*>(NLMSG_DATA(h))->ifi_index == ifindex;
        })) {
      return 1;
    }
  }
}

}  // namespace nsc::cases::net
