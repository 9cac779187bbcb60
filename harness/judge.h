// Judging: turns what a finished case tree left behind (its records, its supervisor's wait
// status, its output) into the case's outcome, against the case's declared expectations.
// Pure: no processes, no I/O; unit-testable with hand-made records.
#pragma once

#include <string>

#include "runner.h"

namespace nsc {

// What the runner collected from one case tree.
struct FinishedCase {
  std::string record_bytes;  // WireRecords from the result pipe, in arrival order
  bool reaped = false;       // the supervisor was reaped ...
  int status = 0;            // ... with this wait status
  std::string output;        // stdout/stderr of the tree (capped)
  bool output_truncated = false;
  bool timed_out = false;
  bool interrupted = false;
};

// Fills out.status/code/reason/expected/observed/recorded/signal/log.
void Judge(const Case& c, const FinishedCase& run, CaseOutcome& out);

std::string SignalName(int sig);

}  // namespace nsc
