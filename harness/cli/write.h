// Writing bytes to a file descriptor with every error named: a full disk, a closed pipe and a
// full /dev/full are errors the caller reports, never silently lost output.
#pragma once

#include <string>
#include <string_view>

namespace nsc {

// Writes all of `text` to `fd` (retrying short writes and EINTR); 0 or the errno.
int WriteAll(int fd, std::string_view text);
// "ENOSPC (No space left on device)".
std::string ErrnoText(int err);

}  // namespace nsc

namespace nsc {

// Output that is the whole point of a command (--list, --explain, --help, compare): writes it
// to stdout and returns the exit code it leaves: 0; 141 when the reader went away (EPIPE, as
// `nsconform --list | head -1`: quietly, like the default SIGPIPE action); 70 with a message
// on stderr for any other error (ENOSPC, `> /dev/full`).
int EmitToStdout(std::string_view text);

}  // namespace nsc
