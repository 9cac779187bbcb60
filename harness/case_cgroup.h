// Case trees tracked by cgroup v2: one cgroup for the run below the harness's own v2 cgroup,
// one per case below it, and a "body" leaf per case for the body and everything it starts.
//
//   <harness's cgroup>/nsconform-<pid>-<hex>/        RunCgroup: created at the start of the run,
//       case-<n>/                                   removed (with anything left in it) at the end
//           cgroup.procs <- the case supervisor (it moves itself in, first thing)
//           body/        <- the body, born there (clone3 CLONE_INTO_CGROUP), and its descendants
//
// Membership is cgroup.procs, killing is cgroup.kill (Linux 5.14+), emptiness is
// cgroup.events "populated 0", waited for with poll(POLLPRI) — no /proc scan, no sleeps.
// Where cgroup v2 is not writable (hybrid hosts without a unified mount, unprivileged runs,
// containers), Create() says why and the runner falls back to process-tree tracking.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace nsc {

class CaseCgroup {
 public:
  CaseCgroup(const CaseCgroup&) = delete;
  CaseCgroup& operator=(const CaseCgroup&) = delete;
  CaseCgroup(CaseCgroup&& other) noexcept;
  CaseCgroup& operator=(CaseCgroup&& other) noexcept;
  ~CaseCgroup();  // Remove()

  // Directory fds for the child side (inherited across fork; the runner closes them after).
  int case_fd() const { return case_fd_; }
  int body_fd() const { return body_fd_; }
  const std::string& path() const { return path_; }

  // SIGKILLs every process of the case (supervisor and body tree). False if cgroup.kill is
  // missing (Linux < 5.14): the caller then kills by process tree.
  bool Kill() const;
  // Waits (poll on cgroup.events, bounded by `timeout_ms`) until no process is left, then
  // removes the case's cgroups, including any the case made below "body". False if something
  // could not be removed (the reason in *why).
  bool Remove(std::string* why = nullptr, int timeout_ms = 5000);
  // Cgroups the case itself made below "body" that were still there at Remove() (a case
  // must remove what it makes; after a timeout or an interrupt they are expected).
  int leftover_cgroups() const { return leftover_cgroups_; }

 private:
  friend class RunCgroup;
  CaseCgroup(std::string path, int case_fd, int body_fd)
      : path_(std::move(path)), case_fd_(case_fd), body_fd_(body_fd) {}
  std::string path_;
  int case_fd_ = -1;
  int body_fd_ = -1;
  int leftover_cgroups_ = 0;
};

class RunCgroup {
 public:
  // The run's cgroup below the harness's own v2 cgroup, or nullopt with the reason in *why_not.
  static std::optional<RunCgroup> Create(std::string* why_not);
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;
  RunCgroup(RunCgroup&& other) noexcept;
  RunCgroup& operator=(RunCgroup&&) = delete;
  ~RunCgroup();  // kills whatever is left in the run's cgroup and removes it

  const std::string& path() const { return path_; }
  // Starts a watchdog process that outlives the harness: when the harness dies in any way
  // (SIGKILL, the OOM killer), the watchdog kills everything in the run's cgroup and removes
  // it. The destructor stops the watchdog after the normal clean-up. False if it could not
  // be started.
  bool StartWatchdog();
  // A new case cgroup "case-<index>" with its "body" leaf, or nullopt (reason in *why_not).
  std::optional<CaseCgroup> NewCase(size_t index, std::string* why_not) const;

 private:
  explicit RunCgroup(std::string path) : path_(std::move(path)) {}
  std::string path_;
  pid_t watchdog_ = -1;
};

// Child side, async-signal-safe: moves the calling process into the cgroup of `dir_fd`.
int MoveSelfIntoCgroup(int dir_fd);
// Child side, async-signal-safe: SIGKILLs everything in the cgroup of `dir_fd` (cgroup.kill).
int KillCgroup(int dir_fd);
// Child side, async-signal-safe: fork-like clone3 whose child starts in the cgroup of `dir_fd`
// (CLONE_INTO_CGROUP, Linux 5.7+). -1 with errno on failure.
long CloneIntoCgroup(int dir_fd);

}  // namespace nsc
