// Progress lines during a run, on stderr: one line per finished rule, or one self-erasing
// line on a terminal (cut to the terminal's width so that it never wraps). Rules that never
// ran because the run stopped are not printed one by one.
#pragma once

#include "../runner.h"

namespace nsc {

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet);
  void Finished(const CaseOutcome& outcome, size_t done, size_t total);
  // Erases the terminal line, if one is shown.
  void Done();

 private:
  bool quiet_;
  bool tty_;
  bool shown_ = false;
};

}  // namespace nsc
