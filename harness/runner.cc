// The case runner.
//
// Process tree of one case:
//
//   harness (subreaper, single-threaded event loop)
//     └─ supervisor S   own process group, subreaper, PDEATHSIG; enters a user namespace if
//        │              the case needs one; waits for the body, then kills whatever the body
//        │              left behind and reports the body's wait status
//        └─ body B      runs Case::body(probe); writes kBodyDone when it returns
//
// Everything below the supervisor is a descendant of S, because S is a subreaper: orphans
// come back to S, never escape to the host's init. On timeout or interrupt the harness stops
// S (so it stays the anchor of the tree), SIGKILLs every descendant until none is left, then
// kills S. Results travel over an O_CLOEXEC pipe as fixed-size records; stdout/stderr of the
// tree go to a second pipe that becomes the case log.
#include "runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>

#include "case_cgroup.h"
#include "judge.h"
#include "text.h"

namespace nsc {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kMaxLogBytes = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Child side: the case supervisor and the body. Async-signal-safe code only from here on.

struct ChildPlan {
  CaseBody body;
  Mode mode;
  bool enter_userns;
  int record_fd;
  int output_fd;
  pid_t harness_pid;
  int case_cgroup_fd;  // case-<n>/ and case-<n>/body/ of the run's cgroup, or -1 (process-tree
  int body_cgroup_fd;  // tracking: see case_cgroup.h)
};

[[noreturn]] void RunSupervisor(const ChildPlan& plan) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != plan.harness_pid) _exit(71);  // the harness died before PDEATHSIG was set
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // In the case's cgroup from the start, so that one cgroup.kill ends the whole case.
  bool tracked = plan.case_cgroup_fd >= 0 && MoveSelfIntoCgroup(plan.case_cgroup_fd) == 0;

  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  dup2(plan.output_fd, STDOUT_FILENO);
  dup2(plan.output_fd, STDERR_FILENO);

  const Probe probe(plan.record_fd, plan.mode);
  if (plan.enter_userns && EnterUserNamespace() == -1) {
    probe.SetupFailed("entering a user namespace for the case (unshare/uid_map/gid_map)");
  }

  // The body is born in its own leaf, so everything it starts is counted there too.
  pid_t body = tracked ? static_cast<pid_t>(CloneIntoCgroup(plan.body_cgroup_fd)) : -1;
  if (body == -1) {
    tracked = false;
    body = CloneProcess(0);
  }
  if (body == -1) probe.SetupFailed("fork of the case body");
  if (body == 0) {
    // A Barrier written after its reader died returns EPIPE instead of killing the body.
    signal(SIGPIPE, SIG_IGN);
    plan.body(probe);
    probe.Raw(RecordKind::kBodyDone, nullptr, 0, 0, 0, nullptr);
    _exit(0);
  }

  // Wait for the body; orphans that the subreaper inherits meanwhile are reaped as they die.
  int body_status = 0;
  for (;;) {
    int status;
    pid_t r = waitpid(-1, &status, __WALL);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) break;
    if (r == body) {
      body_status = status;
      break;
    }
  }
  probe.Raw(RecordKind::kBodyExit, nullptr, body_status, 0, 0, nullptr);

  // Kill everything the body left behind; their children come back to us and die in turn.
  // Tracked: one cgroup.kill of the body's leaf; otherwise by walking our children in /proc.
  if (tracked && KillCgroup(plan.body_cgroup_fd) == -1) tracked = false;
  int64_t leftovers = 0;
  const pid_t self = RawGetpid();
  for (;;) {
    if (!tracked) {
      ForEachChild(self, [](pid_t child) {
        if (ReadProcState(child) != 'Z') kill(child, SIGKILL);
      });
    }
    int status;
    pid_t r = waitpid(-1, &status, __WALL);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) break;  // ECHILD: the tree is empty
    ++leftovers;
  }
  if (leftovers > 0) probe.Raw(RecordKind::kLeftovers, nullptr, leftovers, 0, 0, nullptr);
  _exit(0);
}

// ---------------------------------------------------------------------------------------------
// Harness side.

// Stops `root` so it stays the subreaper anchor, SIGKILLs all its descendants until none is
// alive, then kills `root` itself. Zombies left behind are reaped by the harness later.
void KillCaseTree(pid_t root) {
  kill(root, SIGSTOP);
  for (int round = 0; round < 100000; ++round) {
    int alive = 0;
    ForEachChild(root, [&](pid_t child) {
      if (ReadProcState(child) != 'Z') {
        kill(child, SIGKILL);
        ++alive;
      }
    });
    if (alive == 0) break;
    sched_yield();  // dying processes need a moment to become zombies; not synchronisation
  }
  kill(-root, SIGKILL);
  kill(root, SIGKILL);
}

struct Running {
  size_t index;  // into the input vector
  std::optional<CaseCgroup> cgroup;  // nullopt: process-tree tracking
  pid_t pid = -1;
  int record_fd = -1;
  int output_fd = -1;
  bool record_eof = false;
  bool output_eof = false;
  bool reaped = false;
  int status = 0;
  Clock::time_point started;
  Clock::time_point deadline;
  std::chrono::system_clock::time_point started_wall;
  std::string record_bytes;
  std::string output;
  bool output_truncated = false;
};

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Reads what is available; returns false on EOF.
bool Drain(int fd, std::string& into, size_t cap, bool* truncated) {
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      size_t room = into.size() < cap ? cap - into.size() : 0;
      into.append(buf, std::min(room, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) > room && truncated != nullptr) *truncated = true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return true;  // EAGAIN
  }
}

}  // namespace

RunResult RunCases(const std::vector<const Case*>& cases, const Environment& env,
                   const RunOptions& options, const ProgressFn& progress) {
  RunResult result;
  result.outcomes.resize(cases.size());
  const auto run_started = Clock::now();
  const auto run_deadline = options.max_runtime_s > 0
                                ? run_started + std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double>(options.max_runtime_s))
                                : Clock::time_point::max();
  const pid_t harness_pid = getpid();
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::string no_cgroup_why;
  std::optional<RunCgroup> run_cgroup = RunCgroup::Create(&no_cgroup_why);
  if (run_cgroup && !run_cgroup->StartWatchdog()) {
    result.harness_errors.push_back("could not start the run cgroup's watchdog: " + ErrnoName(errno));
  }
  result.case_tracking = run_cgroup ? "cgroup2 " + run_cgroup->path()
                                    : "process tree (no cgroup v2: " + no_cgroup_why + ")";

  sigset_t stop_signals, old_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  sigprocmask(SIG_BLOCK, &stop_signals, &old_mask);
  int sigfd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);

  size_t next = 0, done = 0;
  std::vector<Running> running;

  auto finish = [&](size_t index) {
    ++done;
    if (progress) progress(result.outcomes[index], done, cases.size());
  };

  auto finalize = [&](Running& run, bool timed_out, bool interrupted) {
    if ((timed_out || interrupted) && run.cgroup && run.cgroup->Kill()) {
      // The whole case, supervisor included, is gone with one write (and the supervisor is
      // killed by PID too, in case it was started by fork() and had not moved in yet).
      kill(run.pid, SIGKILL);
    } else if ((timed_out || interrupted) && !run.reaped) {
      KillCaseTree(run.pid);
    } else if (timed_out || interrupted) {
      // The supervisor died early: its orphans now belong to the harness. Kill its process
      // group and every harness child that is not the root of another running case.
      kill(-run.pid, SIGKILL);
      ForEachChild(getpid(), [&](pid_t child) {
        bool other_root = false;
        for (const Running& r : running) other_root = other_root || (r.pid == child && !r.reaped);
        if (!other_root && ReadProcState(child) != 'Z') KillCaseTree(child);
      });
    }
    // Everything in the tree is dead now or dying: drain both pipes to EOF.
    SetNonBlocking(run.record_fd);
    SetNonBlocking(run.output_fd);
    if (!run.reaped) {
      int status;
      pid_t r;
      do {
        r = waitpid(run.pid, &status, __WALL);
      } while (r == -1 && errno == EINTR);
      if (r == run.pid) {
        run.status = status;
        run.reaped = true;
      }
    }
    Drain(run.record_fd, run.record_bytes, SIZE_MAX, nullptr);
    Drain(run.output_fd, run.output, kMaxLogBytes, &run.output_truncated);
    close(run.record_fd);
    close(run.output_fd);
    if (run.cgroup) {
      std::string why;
      if (!run.cgroup->Remove(&why)) {
        result.harness_errors.push_back("case " + cases[run.index]->id + ": " + why);
      }
      if (run.cgroup->leftover_cgroups() > 0 && !timed_out && !interrupted) {
        result.harness_errors.push_back("case " + cases[run.index]->id + " left " +
                                        std::to_string(run.cgroup->leftover_cgroups()) +
                                        " cgroup(s) behind (removed by the harness)");
      }
      run.cgroup.reset();
    }
    CaseOutcome& out = result.outcomes[run.index];
    out.ran = true;
    out.duration_s = std::chrono::duration<double>(Clock::now() - run.started).count();
    FinishedCase finished{std::move(run.record_bytes), run.reaped, run.status, std::move(run.output),
                         run.output_truncated, timed_out, interrupted};
    Judge(*cases[run.index], finished, out);
    finish(run.index);
  };

  auto start = [&](size_t index) -> bool {
    const Case& c = *cases[index];
    CaseOutcome& out = result.outcomes[index];
    out.rule = &c;
    out.timeout_s = c.timeout_s * options.timeout_multiplier;
    out.started_at = Rfc3339Utc(std::chrono::system_clock::now());
    Admission adm = Admit(c, env, options.force_userns);
    if (adm.runnable && options.mode == Mode::kControl && !c.no_control_because.empty()) {
      adm = {.runnable = false, .code = ReasonCode::kNoControl,
             .reason = "the rule has no honest control: " + c.no_control_because};
    }
    if (!adm.runnable) {
      out.status = adm.status;
      out.code = adm.code;
      out.reason = adm.reason;
      finish(index);
      return false;
    }
    int rec[2], outp[2];
    if (pipe2(rec, O_CLOEXEC) == -1) {
      out.status = Status::kError;
      out.code = ReasonCode::kHarnessError;
      out.reason = "pipe2: " + ErrnoName(errno);
      finish(index);
      return false;
    }
    if (pipe2(outp, O_CLOEXEC) == -1) {
      close(rec[0]);
      close(rec[1]);
      out.status = Status::kError;
      out.code = ReasonCode::kHarnessError;
      out.reason = "pipe2: " + ErrnoName(errno);
      finish(index);
      return false;
    }
    Running run;
    if (run_cgroup) {
      std::string why;
      run.cgroup = run_cgroup->NewCase(index, &why);
      if (!run.cgroup && result.case_tracking.find("fallback") == std::string::npos) {
        result.case_tracking += " (fallback to process trees for some cases: " + why + ")";
      }
    }
    ChildPlan plan{c.body, options.mode, adm.enter_userns, rec[1], outp[1], harness_pid,
                   run.cgroup ? run.cgroup->case_fd() : -1, run.cgroup ? run.cgroup->body_fd() : -1};
    std::fflush(nullptr);
    run.index = index;
    run.started = Clock::now();
    run.started_wall = std::chrono::system_clock::now();
    run.deadline = run.started + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(out.timeout_s));
    // Born in its case cgroup (clone3 CLONE_INTO_CGROUP), so that a cgroup.kill can never
    // miss a supervisor that has not moved itself in yet; fork() where that is refused.
    pid_t pid = run.cgroup ? static_cast<pid_t>(CloneIntoCgroup(run.cgroup->case_fd())) : -1;
    if (pid == -1) pid = fork();
    if (pid == 0) {
      close(rec[0]);
      close(outp[0]);
      if (sigfd >= 0) close(sigfd);
      RunSupervisor(plan);
    }
    close(rec[1]);
    close(outp[1]);
    if (pid == -1) {
      close(rec[0]);
      close(outp[0]);
      out.status = Status::kError;
      out.code = ReasonCode::kHarnessError;
      out.reason = "fork: " + ErrnoName(errno);
      finish(index);
      return false;
    }
    setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
    run.pid = pid;
    run.record_fd = rec[0];
    run.output_fd = outp[0];
    SetNonBlocking(run.record_fd);
    SetNonBlocking(run.output_fd);
    running.push_back(std::move(run));
    return true;
  };

  auto reap_strays = [&]() {
    for (;;) {
      int status;
      pid_t r = waitpid(-1, &status, __WALL | WNOHANG);
      if (r <= 0) break;
      // A case root is finalized later; anything else is a zombie inherited from a killed tree.
      for (Running& run : running) {
        if (run.pid == r) {
          run.status = status;
          run.reaped = true;
        }
      }
    }
  };

  while (result.stopped == StopCause::kNone && (next < cases.size() || !running.empty())) {
    while (next < cases.size() && static_cast<int>(running.size()) < std::max(1, options.jobs)) {
      start(next++);
    }
    if (running.empty()) continue;

    std::vector<pollfd> fds;
    for (const Running& run : running) {
      fds.push_back({run.record_eof ? -1 : run.record_fd, POLLIN, 0});
      fds.push_back({run.output_eof ? -1 : run.output_fd, POLLIN, 0});
    }
    fds.push_back({sigfd, POLLIN, 0});
    auto now = Clock::now();
    auto wake = run_deadline;
    for (const Running& run : running) wake = std::min(wake, run.deadline);
    int timeout_ms =
        wake == Clock::time_point::max()
            ? -1
            : static_cast<int>(std::max<int64_t>(
                  0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1));
    int n = poll(fds.data(), fds.size(), timeout_ms);
    if (n == -1 && errno != EINTR) break;

    if (fds.back().revents & POLLIN) {
      signalfd_siginfo si{};
      if (read(sigfd, &si, sizeof si) == sizeof si) {
        result.stopped = StopCause::kSignal;
        result.stop_signal = static_cast<int>(si.ssi_signo);
      }
    }
    for (size_t i = 0; i < running.size(); ++i) {
      Running& run = running[i];
      if (fds[2 * i].revents != 0 && !Drain(run.record_fd, run.record_bytes, SIZE_MAX, nullptr)) {
        run.record_eof = true;
      }
      if (fds[2 * i + 1].revents != 0 &&
          !Drain(run.output_fd, run.output, kMaxLogBytes, &run.output_truncated)) {
        run.output_eof = true;
      }
    }
    reap_strays();

    now = Clock::now();
    if (now >= run_deadline) result.stopped = StopCause::kMaxRuntime;
    for (size_t i = 0; i < running.size();) {
      Running& run = running[i];
      // The record pipe reaches EOF only when every process of the tree has exited.
      if (run.record_eof) {
        finalize(run, false, false);
      } else if (now >= run.deadline) {
        finalize(run, true, false);
      } else {
        ++i;
        continue;
      }
      running.erase(running.begin() + static_cast<long>(i));
    }
  }

  // Interrupted or out of time: kill what runs, mark the rest as never run.
  for (Running& run : running) finalize(run, false, true);
  running.clear();
  for (size_t i = 0; i < cases.size(); ++i) {
    CaseOutcome& out = result.outcomes[i];
    if (out.rule != nullptr) continue;
    out.rule = cases[i];
    out.status = Status::kError;
    out.code = ReasonCode::kNotRun;
    out.reason = result.stopped == StopCause::kMaxRuntime ? "not run: --max-runtime exceeded"
                                                           : "not run: the run was interrupted";
    out.timeout_s = cases[i]->timeout_s * options.timeout_multiplier;
  }
  if (result.stopped == StopCause::kMaxRuntime) {
    for (auto& out : result.outcomes) {
      if (out.code == ReasonCode::kNotRun && out.ran) {
        out.reason = "the run hit --max-runtime before this case finished";
      }
    }
  }

  // The run's cgroup goes (anything left in it is killed), and its watchdog with it.
  run_cgroup.reset();

  // Anything still parented to the harness now escaped a case tree: kill it and say so.
  int strays = 0;
  ForEachChild(getpid(), [&](pid_t p) {
    if (ReadProcState(p) != 'Z') {
      KillCaseTree(p);
      ++strays;
    }
  });
  reap_strays();
  if (strays > 0) {
    result.harness_errors.push_back(std::to_string(strays) +
                                    " process(es) outside any live case tree were still children "
                                    "of the harness after the run and were killed");
  }

  if (sigfd >= 0) close(sigfd);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  return result;
}

}  // namespace nsc
