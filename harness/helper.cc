// `nsconform __helper ...`: the small programs rules exec, built into the binary itself so that
// a rule execs /proc/self/exe (or a set-id copy of it) instead of /bin/cat or /usr/bin/stat,
// which a container or initramfs may lack or replace with busybox. Not for users: no --help,
// minimal output, exit 0 on success, 1 on a failed call (errno name on stderr), 64 on bad use.
//
//   __helper cat FILE...      copy each FILE to stdout
//   __helper stat-uid FILE    print the owner uid of FILE (stat(2)) as a decimal line
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "nsconform/expect.h"
#include "subcommands.h"

namespace nsc {
namespace {

int Failed(const std::string& what) {
  const std::string line = "nsconform __helper: " + what + ": " + ErrnoName(errno) + "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
  return 1;
}

int Cat(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Failed("open " + path);
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return Failed("read " + path);
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(STDOUT_FILENO, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        close(fd);
        return Failed("write");
      }
      off += w;
    }
  }
  close(fd);
  return 0;
}

}  // namespace

int HelperMain(const std::vector<std::string>& args) {
  if (args.size() >= 2 && args[0] == "cat") {
    for (size_t i = 1; i < args.size(); ++i) {
      if (int rc = Cat(args[i]); rc != 0) return rc;
    }
    return 0;
  }
  if (args.size() == 2 && args[0] == "stat-uid") {
    struct stat st{};
    if (stat(args[1].c_str(), &st) != 0) return Failed("stat " + args[1]);
    const std::string line = std::to_string(st.st_uid) + "\n";
    return write(STDOUT_FILENO, line.data(), line.size()) == static_cast<ssize_t>(line.size())
               ? 0
               : Failed("write");
  }
  const char usage[] = "nsconform __helper: usage: cat FILE... | stat-uid FILE\n";
  (void)!write(STDERR_FILENO, usage, sizeof usage - 1);
  return 64;
}

}  // namespace nsc
