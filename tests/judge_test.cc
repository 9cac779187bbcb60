// Judge without spawning anything: hand-made records of a finished case tree, judged against
// hand-made cases. Pins the order of judgement (judge.cc): how the tree ended, then defects of
// the case, then preconditions, then verdict keys — and that only a contradicted verdict key
// with every precondition holding is a FAIL.
#include "judge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace nsc {
namespace {

using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

WireRecord Rec(RecordKind kind, const char* key = nullptr, int64_t a = 0, int err = 0,
               const char* text = nullptr) {
  WireRecord r{};
  r.magic = kWireMagic;
  r.kind = kind;
  r.err = err;
  r.a = a;
  if (key != nullptr) std::strncpy(r.key, key, sizeof r.key - 1);
  if (text != nullptr) std::strncpy(r.text, text, sizeof r.text - 1);
  return r;
}

// A tree whose body recorded `records`, returned normally and whose supervisor exited 0.
FinishedCase Finished(std::initializer_list<WireRecord> records, bool body_done = true) {
  FinishedCase f;
  for (const WireRecord& r : records) f.record_bytes.append(reinterpret_cast<const char*>(&r), sizeof r);
  auto add = [&](const WireRecord& r) { f.record_bytes.append(reinterpret_cast<const char*>(&r), sizeof r); };
  if (body_done) add(Rec(RecordKind::kBodyDone));
  add(Rec(RecordKind::kBodyExit, nullptr, 0));  // wait status 0: exited 0
  f.reaped = true;
  f.status = 0;
  return f;
}

Case RuleWith(std::vector<Expectation> preconditions, std::vector<Expectation> expect) {
  Case c;
  c.id = "test.rule";
  c.preconditions = std::move(preconditions);
  c.expect = std::move(expect);
  return c;
}

CaseOutcome JudgeOf(const Case& c, const FinishedCase& f) {
  CaseOutcome out;
  out.rule = &c;
  Judge(c, f, out);
  return out;
}

TEST(Judge, PassWhenPreconditionsAndVerdictsHold) {
  Case c = RuleWith({Given(Expect("caller.cap", Eq(1)))}, {Expect("child.pid", Eq(1))});
  CaseOutcome out = JudgeOf(c, Finished({Rec(RecordKind::kValue, "caller.cap", 1),
                                         Rec(RecordKind::kValue, "child.pid", 1)}));
  EXPECT_EQ(out.status, Status::kPass);
  EXPECT_THAT(out.contradicted, IsEmpty());
  EXPECT_TRUE(out.preconditions.contains("caller.cap"));
  EXPECT_TRUE(out.expected.contains("child.pid"));
}

TEST(Judge, FailNamesTheContradictedVerdictKey) {
  Case c = RuleWith({Given(Expect("caller.cap", Eq(1)))},
                    {Expect("child.pid", Eq(1)), Expect("child.ppid", Eq(0))});
  CaseOutcome out = JudgeOf(c, Finished({Rec(RecordKind::kValue, "caller.cap", 1),
                                         Rec(RecordKind::kValue, "child.pid", 7),
                                         Rec(RecordKind::kValue, "child.ppid", 0)}));
  EXPECT_EQ(out.status, Status::kFail);
  EXPECT_EQ(out.code, ReasonCode::kExpectationMismatch);
  EXPECT_THAT(out.contradicted, ElementsAre("child.pid"));
}

TEST(Judge, UnmetPreconditionIsNeverFail) {
  Case c = RuleWith({Given(Expect("caller.cap", Eq(1)))}, {Expect("child.pid", Eq(1))});
  CaseOutcome out = JudgeOf(c, Finished({Rec(RecordKind::kValue, "caller.cap", 0),
                                         Rec(RecordKind::kValue, "child.pid", 7)}));
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_EQ(out.code, ReasonCode::kSetupFailed);
  EXPECT_THAT(out.reason, HasSubstr("precondition caller.cap"));
  EXPECT_THAT(out.contradicted, IsEmpty());
}

TEST(Judge, UnmetPreconditionWithReasonIsSkip) {
  Case c = RuleWith({Given(Expect("caller.cap", Eq(1)), ReasonCode::kInsufficientPrivilege)},
                    {Expect("child.pid", Eq(1))});
  CaseOutcome out = JudgeOf(c, Finished({Rec(RecordKind::kValue, "caller.cap", 0),
                                         Rec(RecordKind::kValue, "child.pid", 1)}));
  EXPECT_EQ(out.status, Status::kSkip);
  EXPECT_EQ(out.code, ReasonCode::kInsufficientPrivilege);
}

TEST(Judge, WrongKindIsAHarnessErrorNotAFail) {
  Case c = RuleWith({}, {ExpectCall("member.reboot", FailsWith(EINVAL))});
  CaseOutcome out = JudgeOf(c, Finished({Rec(RecordKind::kText, "member.reboot", 0, 0, "not called")}));
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_EQ(out.code, ReasonCode::kHarnessError);
}

TEST(Judge, UnreadableIdentityIsSetupFailedNotAFail) {
  Case c = RuleWith({}, {ExpectSameNs("a", "b")});
  CaseOutcome out = JudgeOf(c, Finished({Rec(RecordKind::kNsId, "a", -1, EBADF),
                                         Rec(RecordKind::kNsId, "b", 5)}));
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_EQ(out.code, ReasonCode::kSetupFailed);
}

TEST(Judge, KeyRecordedTwiceIsAHarnessError) {
  Case c = RuleWith({}, {Expect("k", Eq(1))});
  CaseOutcome out =
      JudgeOf(c, Finished({Rec(RecordKind::kValue, "k", 1), Rec(RecordKind::kValue, "k", 2)}));
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_THAT(out.reason, HasSubstr("more than once"));
}

TEST(Judge, UndeclaredKeyIsAHarnessError) {
  Case c = RuleWith({}, {Expect("k", Eq(1))});
  CaseOutcome out =
      JudgeOf(c, Finished({Rec(RecordKind::kValue, "k", 1), Rec(RecordKind::kValue, "stray", 2)}));
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_THAT(out.reason, HasSubstr("declared nowhere"));
}

TEST(Judge, MissingVerdictKeyIsAHarnessErrorButAMissingRecordIsNot) {
  Case c = RuleWith({}, {Expect("k", Eq(1)), Record("maybe")});
  EXPECT_EQ(JudgeOf(c, Finished({Rec(RecordKind::kValue, "k", 1)})).status, Status::kPass);
  CaseOutcome out = JudgeOf(c, Finished({Rec(RecordKind::kValue, "maybe", 1)}));
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_THAT(out.reason, HasSubstr("did not report observation 'k'"));
}

TEST(Judge, SetupErrorAndSkipWinOverObservations) {
  Case c = RuleWith({}, {Expect("k", Eq(1))});
  CaseOutcome setup = JudgeOf(c, Finished({Rec(RecordKind::kValue, "k", 0),
                                           Rec(RecordKind::kSetupError, nullptr, 0, EPERM, "unshare")},
                                          false));
  EXPECT_EQ(setup.status, Status::kError);
  EXPECT_EQ(setup.code, ReasonCode::kSetupFailed);
  EXPECT_THAT(setup.reason, HasSubstr("EPERM"));
  WireRecord skip = Rec(RecordKind::kSkip, nullptr, 0, 0, "no veth");
  skip.reason = static_cast<uint16_t>(ReasonCode::kPreconditionUnmet);
  CaseOutcome skipped = JudgeOf(c, Finished({skip}, false));
  EXPECT_EQ(skipped.status, Status::kSkip);
  EXPECT_EQ(skipped.code, ReasonCode::kPreconditionUnmet);
}

TEST(Judge, BodyThatNeverFinishedOrCrashedIsError) {
  Case c = RuleWith({}, {Expect("k", Eq(1))});
  EXPECT_EQ(JudgeOf(c, Finished({Rec(RecordKind::kValue, "k", 1)}, false)).code,
            ReasonCode::kHarnessError);
  FinishedCase crashed = Finished({Rec(RecordKind::kValue, "k", 1)});
  crashed.record_bytes.resize(crashed.record_bytes.size() - sizeof(WireRecord));  // drop kBodyExit
  WireRecord exit = Rec(RecordKind::kBodyExit, nullptr, SIGSEGV);  // wait status: killed by SIGSEGV
  crashed.record_bytes.append(reinterpret_cast<const char*>(&exit), sizeof exit);
  CaseOutcome out = JudgeOf(c, crashed);
  EXPECT_EQ(out.code, ReasonCode::kCrashed);
  EXPECT_EQ(out.signal, "SIGSEGV");
}

TEST(Judge, TimeoutAndInterruptBeforeAnythingElse) {
  Case c = RuleWith({}, {Expect("k", Eq(1))});
  FinishedCase f = Finished({Rec(RecordKind::kValue, "k", 0)});
  f.timed_out = true;
  EXPECT_EQ(JudgeOf(c, f).code, ReasonCode::kTimeout);
  f.interrupted = true;
  EXPECT_EQ(JudgeOf(c, f).code, ReasonCode::kNotRun);
}

TEST(Judge, TwoExpectationsOnOneKeyAreBothDescribed) {
  Case c = RuleWith({}, {Expect("k", ::testing::Gt(0)), Expect("k", ::testing::Lt(5))});
  CaseOutcome out = JudgeOf(c, Finished({Rec(RecordKind::kValue, "k", 3)}));
  EXPECT_EQ(out.status, Status::kPass);
  EXPECT_THAT(out.expected["k"].get<std::string>(), HasSubstr("; and "));
}

TEST(Judge, RecordedOnlyValuesGoToRecorded) {
  Case c = RuleWith({}, {Expect("k", Eq(1)), Record("r")});
  CaseOutcome out =
      JudgeOf(c, Finished({Rec(RecordKind::kValue, "k", 1), Rec(RecordKind::kValue, "r", 9)}));
  EXPECT_TRUE(out.recorded.contains("r"));
  EXPECT_FALSE(out.observed.contains("r"));
}

}  // namespace
}  // namespace nsc
