// Purpose-built cases for the harness self-tests (group `selftest.`), linked only into
// nsconform-selftest, never into nsconform. Each one misbehaves in one way a real case might:
// it hangs, crashes, forks a tree that hides from its parent, exits without reporting, leaves
// a daemon behind, floods its output... The containment tests check that the harness turns
// each into the right verdict, writes its reports and leaves no process behind.
//
// None of them touches the host: they only fork, block on pipes and write to their own output.
#include <signal.h>
#include <unistd.h>

#include "nsconform/case.h"

namespace nsc::selftest {
namespace {

using ::testing::Eq;

// Blocks until every writer of `barrier` is gone, i.e. forever while this process holds the
// write end itself. A hang that needs no sleep and no timer.
[[noreturn]] void BlockForever(Barrier& barrier) {
  for (;;) barrier.Wait();
}

// Flow: record a value that matches the expectation.
void Passes(const Probe& p) { p.Value("value", 1); }

NSC_CASE({
    .id = "selftest.passes",
    .title = "A well-behaved case that passes",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "records value = 1",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = Passes,
});

// Flow: record a value that does not match the expectation.
void Fails(const Probe& p) { p.Value("value", 2); }

NSC_CASE({
    .id = "selftest.fails",
    .title = "A case whose observation contradicts its expectation",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "records value = 2; expects 1",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = Fails,
});

// Flow: 1. record a value; 2. block on a pipe this process also writes, forever.
void Hangs(const Probe& p) {
  p.Value("value", 1);
  Barrier never;
  if (!never.ok()) p.SetupFailed("pipe");
  BlockForever(never);
}

NSC_CASE({
    .id = "selftest.hangs",
    .title = "A case that blocks forever on a pipe",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "blocks in read(2) on a pipe whose write end it holds",
    .control = "the same",
    .timeout_s = 1,
    .expect = {Expect("value", Eq(1))},
    .body = Hangs,
});

// Flow: send SIGSEGV to the body process itself.
void Crashes(const Probe& p) {
  p.Value("value", 1);
  kill(RawGetpid(), SIGSEGV);
}

NSC_CASE({
    .id = "selftest.crashes",
    .title = "A case whose body dies from SIGSEGV",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "kill(getpid(), SIGSEGV)",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = Crashes,
});

// Flow: 1. fork child A; A forks grandchild G1, which calls setsid() (new session and process
// group) and hangs; 2. A double-forks: intermediate I forks G2 and exits, so G2 is orphaned
// and reparented to the case supervisor; G2 forks G3 and both hang; 3. A hangs; 4. the body
// waits for A, forever. Four generations, three process groups, one orphan.
void TreeHangs(const Probe& p) {
  Barrier never;
  if (!never.ok()) p.SetupFailed("pipe");
  ChildProcess a = Spawn(0, [&] {
    ChildProcess g1 = Spawn(0, [&] {
      setsid();
      BlockForever(never);
      return 0;
    });
    (void)g1.Release();
    ChildProcess intermediate = Spawn(0, [&] {
      ChildProcess g2 = Spawn(0, [&] {
        ChildProcess g3 = Spawn(0, [&] {
          BlockForever(never);
          return 0;
        });
        (void)g3.Release();
        BlockForever(never);
        return 0;
      });
      (void)g2.Release();
      return 0;  // G2 is orphaned
    });
    intermediate.Wait();
    BlockForever(never);
    return 0;
  });
  p.Call("fork", a.pid());
  a.Wait();
}

NSC_CASE({
    .id = "selftest.tree_hangs",
    .title = "A case that forks a tree (setsid grandchild, double-forked orphan) and hangs",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "every process of a four-generation tree blocks forever",
    .control = "the same",
    .timeout_s = 1,
    .expect = {ExpectCall("fork", Succeeds())},
    .body = TreeHangs,
});

// Flow: record a value, then _exit(0) in the middle of the body, before it returns.
void ExitsWithoutReporting(const Probe& p) {
  p.Value("value", 1);
  _exit(0);
}

NSC_CASE({
    .id = "selftest.exits_early",
    .title = "A case body that calls _exit(0) instead of returning",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "_exit(0) mid-body",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = ExitsWithoutReporting,
});

// Flow: 1. double-fork a daemon (setsid, blocks forever); 2. wait for the intermediate; 3.
// record a value and return, leaving the daemon behind for the supervisor to kill.
void LeavesDaemon(const Probe& p) {
  Barrier never;
  if (!never.ok()) p.SetupFailed("pipe");
  ChildProcess intermediate = Spawn(0, [&] {
    ChildProcess daemon = Spawn(0, [&] {
      setsid();
      BlockForever(never);
      return 0;
    });
    (void)daemon.Release();
    return 0;
  });
  intermediate.Wait();
  p.Value("value", 1);
}

NSC_CASE({
    .id = "selftest.leaves_daemon",
    .title = "A case that passes but leaves a daemon running after its body returns",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "double-forks a setsid() daemon that blocks forever, then returns",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = LeavesDaemon,
});

// Flow: skip with a documented reason code.
void Skips(const Probe& p) {
  p.Skip(ReasonCode::kPreconditionUnmet, "selftest: this case always skips");
}

NSC_CASE({
    .id = "selftest.skips",
    .title = "A case that skips from its body",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "p.Skip(PRECONDITION_UNMET)",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = Skips,
});

// Flow: a set-up step fails with ENOENT.
void SetupFails(const Probe& p) {
  NSC_SETUP(p, access("/nonexistent/nsconform-selftest", F_OK), "access of a missing file");
  p.Value("value", 1);
}

NSC_CASE({
    .id = "selftest.setup_fails",
    .title = "A case whose set-up step fails",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "NSC_SETUP(access(missing file))",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = SetupFails,
});

// Flow: return without recording the expected key.
void Silent(const Probe& p) { p.Note("selftest: recording nothing"); }

NSC_CASE({
    .id = "selftest.silent",
    .title = "A case that never records the observation it is judged on",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "records nothing",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = Silent,
});

// Flow: 1. write 256 KiB to stdout and 64 KiB to stderr; 2. record a value.
void Noisy(const Probe& p) {
  char line[128];
  for (size_t i = 0; i < sizeof line - 1; ++i) line[i] = static_cast<char>('a' + i % 26);
  line[sizeof line - 1] = '\n';
  for (int i = 0; i < 2048; ++i) {
    if (write(STDOUT_FILENO, line, sizeof line) != static_cast<ssize_t>(sizeof line)) {
      p.SetupFailed("write to stdout");
    }
  }
  for (int i = 0; i < 512; ++i) {
    if (write(STDERR_FILENO, line, sizeof line) != static_cast<ssize_t>(sizeof line)) {
      p.SetupFailed("write to stderr");
    }
  }
  p.Value("value", 1);
}

NSC_CASE({
    .id = "selftest.noisy",
    .title = "A case that writes 320 KiB of output",
    .source = {"tests/misbehaving_cases.cc", "selftest"},
    .observe = "writes 320 KiB to stdout and stderr, then records value = 1",
    .control = "the same",
    .timeout_s = 2,
    .expect = {Expect("value", Eq(1))},
    .body = Noisy,
});

}  // namespace
}  // namespace nsc::selftest
