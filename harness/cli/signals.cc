#include "signals.h"

#include <signal.h>

#include <ctime>

namespace nsc {
namespace {

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t set = StopSet();
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void RestoreDefaultSignals() {
  signal(SIGPIPE, SIG_DFL);
  const sigset_t set = StopSet();
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

void UnblockStopSignals() {
  const sigset_t set = StopSet();
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

int TakePendingStopSignal() {
  const sigset_t set = StopSet();
  const timespec no_wait{0, 0};
  int first = 0;
  for (;;) {
    siginfo_t info{};
    const int signo = sigtimedwait(&set, &info, &no_wait);
    if (signo <= 0) break;  // EAGAIN: nothing pending (EINTR cannot loop: nothing is handled)
    if (first == 0) first = signo;
  }
  return first;
}

}  // namespace nsc
