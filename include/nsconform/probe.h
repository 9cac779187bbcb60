// The child side of a case: what a case body may call after fork/clone.
//
// Everything here is async-signal-safe: no allocation, no locks, no stdio, no exceptions.
// A body observes; it never judges. Each observation is one fixed-size record written with
// a single write(2) to the case's result pipe (records are smaller than PIPE_BUF, so writes
// from several processes of the case tree never interleave). The harness collects the
// records and judges them against the case's declared expectations.
#pragma once

#include <cerrno>
#include <cstdint>
#include <type_traits>

#include "nsconform/reason.h"

namespace nsc {

// Which setting a case body runs in. In `kControl` the body removes the ingredient the rule
// depends on (usually a CLONE_NEW* flag); the rule must then be reported as failing.
enum class Mode : uint8_t { kRule, kControl };

enum class RecordKind : uint16_t {
  kValue = 1,   // a = value
  kCall,        // a = return value, err = errno when a == -1
  kText,        // text
  kNsId,        // a = st_dev, b = st_ino (or a = -1, err = errno)
  kNote,        // text: a log line
  kSkip,        // reason, text
  kSetupError,  // text, err: the environment broke (ERROR, not FAIL)
  kBodyDone,    // the body returned normally
  kBodyExit,    // written by the case supervisor: a = wait status of the body process
  kLeftovers,   // written by the case supervisor: a = processes killed after the body ended
};

struct WireRecord {
  uint32_t magic;
  RecordKind kind;
  uint16_t reason;  // ReasonCode for kSkip
  int32_t err;
  int32_t pid;      // getpid() of the writer (in its own namespace)
  int64_t a;
  int64_t b;
  char key[56];
  char text[160];
};
static_assert(sizeof(WireRecord) <= 256, "records must stay far below PIPE_BUF");
inline constexpr uint32_t kWireMagic = 0x6e73636fu;  // "nsco"

// Handed to every case body. Copyable and trivially so: it is just the pipe fd and the mode.
class Probe {
 public:
  Probe(int result_fd, Mode mode) : fd_(result_fd), mode_(mode) {}

  bool control() const { return mode_ == Mode::kControl; }
  // `rule_flags` in the rule setting; `rule_flags` without `removed_in_control` in the control.
  unsigned long Flags(unsigned long rule_flags, unsigned long removed_in_control) const {
    return control() ? (rule_flags & ~removed_in_control) : rule_flags;
  }
  // `rule_value` normally, `control_value` in the control setting.
  template <typename A, typename B>
  std::common_type_t<A, B> Pick(A rule_value, B control_value) const {
    using T = std::common_type_t<A, B>;
    return control() ? static_cast<T>(control_value) : static_cast<T>(rule_value);
  }

  void Value(const char* key, int64_t value) const;
  // Records a syscall result; reads errno first thing, so pass the call directly:
  //   p.Call("unshare", unshare(CLONE_NEWPID));
  void Call(const char* key, long ret) const;
  void Text(const char* key, const char* text) const;
  // Namespace identity (st_dev, st_ino) of a path such as "/proc/self/ns/pid", or of an fd.
  void NsId(const char* key, const char* path) const;
  void NsIdOfFd(const char* key, int fd) const;
  void Note(const char* text) const;

  // The case cannot run here (a documented errno from the environment, not a kernel bug).
  [[noreturn]] void Skip(ReasonCode code, const char* why) const;
  // Setup broke: the case cannot reach a verdict. Records errno and exits this process.
  [[noreturn]] void SetupFailed(const char* what) const;

  // Used by the harness's case supervisor only.
  void Raw(RecordKind kind, const char* key, int64_t a, int64_t b, int err, const char* text,
           uint16_t reason = 0) const;
  int fd() const { return fd_; }

 private:
  int fd_;
  Mode mode_;
};

// Runs `call` and reports SetupFailed(what) if it returns -1. For set-up steps whose failure
// means "could not test", never for the behaviour under test.
#define NSC_SETUP(probe, call, what)        \
  do {                                      \
    if ((call) == -1) (probe).SetupFailed(what); \
  } while (0)

}  // namespace nsc
