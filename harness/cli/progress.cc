#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

#include "../text.h"
#include "write.h"

namespace nsc {

ProgressPrinter::ProgressPrinter(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}

void ProgressPrinter::Finished(const CaseOutcome& out, size_t done, size_t total) {
  if (quiet_ || out.code == ReasonCode::kNotRun) return;
  std::string line = "[" + std::to_string(done) + "/" + std::to_string(total) + "] " + out.rule->id +
                     ": " + std::string(StatusName(out.status));
  if (out.ran) line += " (" + FormatSeconds(out.duration_s) + "s)";
  if (!tty_) {
    WriteAll(STDERR_FILENO, line + "\n");
    return;
  }
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && line.size() >= ws.ws_col) {
    line.resize(ws.ws_col - 1);  // a line that wraps cannot be erased with \r
  }
  WriteAll(STDERR_FILENO, "\r\033[K" + line);
  shown_ = true;
}

void ProgressPrinter::Done() {
  if (shown_) WriteAll(STDERR_FILENO, "\r\033[K");
  shown_ = false;
}

}  // namespace nsc
