// Stop signals for the whole life of the process.
//
// main() blocks SIGINT, SIGTERM and SIGHUP as its first action, and ignores SIGPIPE, so that
// no signal can kill the harness by its default action at any stage: during the environment
// probe and the first audit snapshot they stay pending and are taken here before the run
// starts; during the run the runner's signalfd (runner.cc) takes them from the same blocked
// set; after the last case (final audit, rendering, writing) they are taken here again. A
// closed stdout is then an EPIPE from write(2), handled where the output is written.
// Subcommands that expect the default dispositions (matrix, runtime) get them back with
// RestoreDefaultSignals() before they start; convert and compare keep them blocked (a file is
// never left half-written) and exit 130 afterwards if one came.
#pragma once

namespace nsc {

// The first thing main() does. Inherited by every child: the runner's supervisor and the
// environment probe's child reset or do not need them.
void BlockStopSignals();
// Default dispositions again (stop signals unblocked, SIGPIPE default), for subcommands that
// manage their own children (matrix, runtime); a signal that arrived meanwhile is delivered
// (and acts by default) as soon as this returns.
void RestoreDefaultSignals();
// Stop signals unblocked (default action), SIGPIPE still ignored: for commands that write
// nothing but stdout (--list, --explain, --help), which then see EPIPE instead of dying.
void UnblockStopSignals();
// Takes every pending stop signal without waiting; returns the first one's number, or 0.
int TakePendingStopSignal();

}  // namespace nsc
