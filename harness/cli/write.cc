#include "write.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exit_policy.h"
#include "nsconform/expect.h"  // ErrnoName

namespace nsc {

int WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

std::string ErrnoText(int err) { return ErrnoName(err) + " (" + std::strerror(err) + ")"; }

int EmitToStdout(std::string_view text) {
  const int err = WriteAll(STDOUT_FILENO, text);
  if (err == 0) return kExitOk;
  if (err == EPIPE) return kExitClosedStdout;
  const std::string line = "nsconform: cannot write to stdout: " + ErrnoText(err) + "\n";
  WriteAll(STDERR_FILENO, line);
  return kExitSoftware;
}

}  // namespace nsc
