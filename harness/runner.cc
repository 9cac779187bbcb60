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

#include "text.h"

namespace nsc {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kMaxLogBytes = 64 * 1024;

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// ---------------------------------------------------------------------------------------------
// Child side: the case supervisor and the body. Async-signal-safe code only from here on.

struct ChildPlan {
  CaseBody body;
  Mode mode;
  bool enter_userns;
  int record_fd;
  int output_fd;
  pid_t harness_pid;
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

  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  dup2(plan.output_fd, STDOUT_FILENO);
  dup2(plan.output_fd, STDERR_FILENO);

  const Probe probe(plan.record_fd, plan.mode);
  if (plan.enter_userns && EnterUserNamespace() == -1) {
    probe.SetupFailed("entering a user namespace for the case (unshare/uid_map/gid_map)");
  }

  pid_t body = CloneProcess(0);
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
  int64_t leftovers = 0;
  const pid_t self = RawGetpid();
  for (;;) {
    ForEachChild(self, [](pid_t child) {
      if (ReadProcState(child) != 'Z') kill(child, SIGKILL);
    });
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

bool SameNamespaceNeeded(const Case& c, const Environment& env, std::string* missing) {
  for (unsigned long flag : {CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWNET,
                             CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS}) {
    if ((c.needs.namespaces & flag) != 0 && !env.ns_entries.contains(NsTypeName(flag))) {
      *missing = NsTypeName(flag);
      return false;
    }
  }
  return true;
}

std::string VersionString(const KernelVersion& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) +
         (v.patch != 0 ? "." + std::to_string(v.patch) : "");
}

Admission UserNamespaceAdmission(const Environment& env, bool force_userns, const char* why) {
  Admission a;
  if (env.root_in_initial_user_ns && !force_userns) return a;
  if (env.userns_available) {
    a.enter_userns = true;
    return a;
  }
  a.runnable = false;
  a.code = env.userns_unavailable_code;
  a.status = env.userns_unavailable_code == ReasonCode::kHarnessError ? Status::kError : Status::kSkip;
  a.reason = std::string(why) + ", and user namespaces are unavailable: " + env.userns_unavailable_why;
  return a;
}

// Turns the records and the wait status of a finished case into its outcome.
void Judge(const Case& c, const Running& run, bool timed_out, bool interrupted, CaseOutcome& out) {
  std::map<std::string, Observation> obs;
  bool body_done = false, have_body_exit = false;
  int body_status = 0;
  int64_t leftovers = 0;
  std::string notes;
  const WireRecord* skip = nullptr;
  const WireRecord* setup_error = nullptr;
  std::vector<WireRecord> records(run.record_bytes.size() / sizeof(WireRecord));
  std::memcpy(records.data(), run.record_bytes.data(), records.size() * sizeof(WireRecord));
  bool corrupt = run.record_bytes.size() % sizeof(WireRecord) != 0;
  for (const WireRecord& r : records) {
    if (r.magic != kWireMagic) {
      corrupt = true;
      continue;
    }
    std::string key(r.key, strnlen(r.key, sizeof r.key));
    std::string text(r.text, strnlen(r.text, sizeof r.text));
    switch (r.kind) {
      case RecordKind::kValue:
      case RecordKind::kCall:
      case RecordKind::kText:
      case RecordKind::kNsId:
        if (!obs.contains(key)) obs[key] = Observation{r.kind, r.a, r.b, r.err, text};
        break;
      case RecordKind::kNote:
        notes += "[pid " + std::to_string(r.pid) + "] " + text + "\n";
        break;
      // The first of "cannot run here" and "set-up broke" wins: whatever follows it (a parent
      // noticing that its child gave up, say) is a consequence, not the cause.
      case RecordKind::kSkip:
        if (skip == nullptr && setup_error == nullptr) skip = &r;
        break;
      case RecordKind::kSetupError:
        if (setup_error == nullptr && skip == nullptr) setup_error = &r;
        break;
      case RecordKind::kBodyDone:
        body_done = true;
        break;
      case RecordKind::kBodyExit:
        have_body_exit = true;
        body_status = static_cast<int>(r.a);
        break;
      case RecordKind::kLeftovers:
        leftovers = r.a;
        break;
    }
  }

  for (const auto& [key, o] : obs) {
    json v;
    switch (o.kind) {
      case RecordKind::kValue: v = o.a; break;
      case RecordKind::kCall:
        v = {{"ret", o.a}};
        if (o.a == -1) v["errno"] = ErrnoName(o.err);
        break;
      case RecordKind::kText: v = o.text; break;
      case RecordKind::kNsId:
        if (o.a == -1) {
          v = {{"errno", ErrnoName(o.err)}};
        } else {
          v = {{"st_dev", o.a}, {"st_ino", o.b}};
        }
        break;
      default: break;
    }
    // Values only ever recorded go to "recorded"; a value also judged stays in "observed".
    bool recorded = false, judged = false;
    for (const Expectation& e : c.expect) {
      if (e.key == key || e.other == key) (e.record_only ? recorded : judged) = true;
    }
    const bool recorded_only = recorded && !judged;
    (recorded_only ? out.recorded : out.observed)[key] = v;
  }
  for (const Expectation& e : c.expect) {
    if (!e.record_only) out.expected[e.key] = e.expected;
  }

  out.log = notes;
  if (leftovers > 0) {
    out.log += "harness: killed " + std::to_string(leftovers) +
               " process(es) the case left behind after its body ended\n";
  }
  if (!run.output.empty()) {
    out.log += run.output;
    if (run.output_truncated) out.log += "\n[output truncated at 64 KiB]\n";
  }

  auto error = [&](ReasonCode code, std::string reason) {
    out.status = Status::kError;
    out.code = code;
    out.reason = std::move(reason);
  };

  if (interrupted) return error(ReasonCode::kNotRun, "the run was interrupted before this case finished");
  if (timed_out) {
    return error(ReasonCode::kTimeout,
                 "case timed out after " + FormatSeconds(out.timeout_s, 1) + " s; its process tree was killed");
  }
  if (setup_error != nullptr) {
    std::string why(setup_error->text, strnlen(setup_error->text, sizeof setup_error->text));
    if (setup_error->err != 0) why += ": " + ErrnoName(setup_error->err);
    return error(ReasonCode::kSetupFailed, "set-up failed: " + why);
  }
  if (skip != nullptr) {
    out.status = Status::kSkip;
    out.code = static_cast<ReasonCode>(skip->reason);
    out.reason = std::string(skip->text, strnlen(skip->text, sizeof skip->text));
    return;
  }
  if (corrupt) return error(ReasonCode::kHarnessError, "corrupt records on the result pipe");
  if (!run.reaped || !WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
    if (run.reaped && WIFSIGNALED(run.status)) {
      out.signal = SignalName(WTERMSIG(run.status));
      return error(ReasonCode::kCrashed, "case supervisor killed by " + out.signal);
    }
    return error(ReasonCode::kHarnessError, "case supervisor exited abnormally");
  }
  if (!have_body_exit) return error(ReasonCode::kHarnessError, "case supervisor reported no body status");
  if (WIFSIGNALED(body_status)) {
    out.signal = SignalName(WTERMSIG(body_status));
    return error(ReasonCode::kCrashed, "case body killed by " + out.signal);
  }
  if (!body_done) {
    return error(ReasonCode::kHarnessError,
                 "case body exited (status " + std::to_string(WEXITSTATUS(body_status)) +
                     ") without finishing: it never reported completion");
  }

  std::vector<std::string> mismatches;
  for (const Expectation& e : c.expect) {
    auto it = obs.find(e.key);
    if (it == obs.end()) {
      if (e.record_only) continue;  // nothing to record is not an error for a recording
      return error(ReasonCode::kHarnessError, "case did not report observation '" + e.key + "'");
    }
    const Observation* other = nullptr;
    if (!e.other.empty()) {
      auto jt = obs.find(e.other);
      if (jt == obs.end()) {
        return error(ReasonCode::kHarnessError, "case did not report observation '" + e.other + "'");
      }
      other = &jt->second;
    }
    Verdict v = e.judge(it->second, other);
    if (!v.ok) {
      std::string seen = out.observed.contains(e.key) ? out.observed[e.key].dump() : "?";
      if (!e.other.empty() && out.observed.contains(e.other)) {
        seen += " vs " + e.other + " = " + out.observed[e.other].dump();
      }
      mismatches.push_back(e.key + ": expected " + e.expected + ", observed " + seen +
                           (v.explanation.empty() ? "" : " (" + v.explanation + ")"));
    }
  }
  if (!mismatches.empty()) {
    out.status = Status::kFail;
    out.code = ReasonCode::kExpectationMismatch;
    for (size_t i = 0; i < mismatches.size(); ++i) out.reason += (i ? "; " : "") + mismatches[i];
    return;
  }
  out.status = Status::kPass;
  out.code = ReasonCode::kNone;
}

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

std::string_view StatusName(Status s) {
  switch (s) {
    case Status::kPass: return "pass";
    case Status::kFail: return "fail";
    case Status::kSkip: return "skip";
    case Status::kError: return "error";
  }
  return "error";
}

Admission Admit(const Case& c, const Environment& env, bool force_userns) {
  Admission a;
  std::string missing;
  if (!SameNamespaceNeeded(c, env, &missing)) {
    a.runnable = false;
    a.code = ReasonCode::kNsTypeUnsupported;
    a.reason = "kernel has no " + missing + " namespaces (no /proc/self/ns/" + missing + ")";
    return a;
  }
  if (env.kernel < c.needs.min_kernel) {
    a.runnable = false;
    a.code = ReasonCode::kKernelTooOld;
    a.reason = "needs Linux " + VersionString(c.needs.min_kernel) + " or later; running " +
               env.kernel_release;
    return a;
  }
  if (env.kconfig_known) {
    for (const std::string& opt : c.needs.kconfig) {
      auto it = env.kconfig.find(opt);
      std::string value = it == env.kconfig.end() ? "n" : it->second;
      if (value != "y" && value != "m") {
        a.runnable = false;
        a.code = ReasonCode::kKconfigMissing;
        a.reason = "needs " + opt + " (not set in the " + env.kconfig_source + " kernel config)";
        return a;
      }
    }
  }
  // A case that lists a namespace type creates namespaces of that type: user namespaces must
  // be creatable, and a mount namespace needs "/" to be a mount point to be made private.
  if ((c.needs.namespaces & CLONE_NEWUSER) != 0 && !env.userns_available) {
    a.runnable = false;
    a.code = env.userns_unavailable_code;
    a.status = a.code == ReasonCode::kHarnessError ? Status::kError : Status::kSkip;
    a.reason = "needs to create user namespaces, which this environment refuses: " +
               env.userns_unavailable_why;
    return a;
  }
  if ((c.needs.namespaces & CLONE_NEWNS) != 0 && !env.root_is_mount_point) {
    a.runnable = false;
    a.code = ReasonCode::kPreconditionUnmet;
    a.reason = "needs a private mount namespace, but \"/\" is not a mount point here (a chroot "
               "into a plain directory), so mounts could not be kept from the host";
    return a;
  }
  switch (c.needs.privilege) {
    case Privilege::kNone:
      break;
    case Privilege::kNocap:
      if (c.needs.needs_userns) {
        return UserNamespaceAdmission(env, force_userns,
                                      "needs a user namespace to drop a capability in");
      }
      break;
    case Privilege::kUserns:
      return UserNamespaceAdmission(env, force_userns,
                                    "needs CAP_SYS_ADMIN over the namespaces it creates");
    case Privilege::kRoot:
      if (!env.root_in_initial_user_ns) {
        a.runnable = false;
        a.code = ReasonCode::kInsufficientPrivilege;
        a.reason = "needs CAP_SYS_ADMIN in the initial user namespace (run as root)";
      }
      break;
  }
  return a;
}

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
    if ((timed_out || interrupted) && !run.reaped) {
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
    CaseOutcome& out = result.outcomes[run.index];
    out.ran = true;
    out.duration_s = std::chrono::duration<double>(Clock::now() - run.started).count();
    Judge(*cases[run.index], run, timed_out, interrupted, out);
    finish(run.index);
  };

  auto start = [&](size_t index) -> bool {
    const Case& c = *cases[index];
    CaseOutcome& out = result.outcomes[index];
    out.rule = &c;
    out.timeout_s = c.timeout_s * options.timeout_multiplier;
    out.started_at = Rfc3339Utc(std::chrono::system_clock::now());
    Admission adm = Admit(c, env, options.force_userns);
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
    ChildPlan plan{c.body, options.mode, adm.enter_userns, rec[1], outp[1], harness_pid};
    std::fflush(nullptr);
    Running run;
    run.index = index;
    run.started = Clock::now();
    run.started_wall = std::chrono::system_clock::now();
    run.deadline = run.started + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(out.timeout_s));
    pid_t pid = fork();
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
