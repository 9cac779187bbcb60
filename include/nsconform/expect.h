// The judging side of a case: expectations over the observations a body recorded.
//
// Expectations are data, declared next to the rule and evaluated by the harness in the parent
// process, with GoogleMock matchers. Their descriptions become the report's "expected" values,
// the recorded values its "observed" values.
#pragma once

#include <gmock/gmock.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "nsconform/probe.h"
#include "nsconform/reason.h"

namespace nsc {

// One observation as the harness received it.
struct Observation {
  RecordKind kind = RecordKind::kValue;
  int64_t a = 0;
  int64_t b = 0;
  int err = 0;
  std::string text;
};

// The outcome of a recorded syscall: `ret`, and `err` (errno) when ret == -1.
struct CallResult {
  int64_t ret = 0;
  int err = 0;
};
void PrintTo(const CallResult& r, std::ostream* os);

// A namespace identity: (st_dev, st_ino) of an nsfs file.
struct NsIdentity {
  int64_t dev = -1;
  int64_t ino = -1;
  int err = 0;  // errno if stat failed
  bool operator==(const NsIdentity&) const = default;
};
void PrintTo(const NsIdentity& id, std::ostream* os);

std::string ErrnoName(int err);

// --- Matchers over CallResult (print errno names, never numbers) ------------------------------
::testing::Matcher<CallResult> Succeeds();
::testing::Matcher<CallResult> SucceedsWith(::testing::Matcher<int64_t> value);
::testing::Matcher<CallResult> Fails();
::testing::Matcher<CallResult> FailsWith(int err);
// Only where the documentation or kernel history allows several errnos; say why at the call.
::testing::Matcher<CallResult> FailsWithAnyOf(std::initializer_list<int> errs);

// --- Expectations ----------------------------------------------------------------------------
struct Verdict {
  bool ok = false;
  std::string explanation;  // why it did not match (empty when ok)
  // Set when the observation cannot be judged at all, so it neither holds nor is contradicted:
  // kHarnessError when it was recorded as another kind than declared (a defect of the case),
  // kSetupFailed when a namespace identity could not be read. Never a FAIL, in either mode.
  ReasonCode unjudgeable = ReasonCode::kNone;
};

// What an expectation is to its rule.
enum class Role : uint8_t {
  kVerdict,       // the rule's statement: contradicted => FAIL
  kPrecondition,  // the set-up the verdict depends on: not holding => never FAIL (see Given)
  kRecord,        // "record, don't assert": reported, never judged
};

struct Expectation {
  std::string key;       // observation the expectation is about
  std::string other;     // second observation for relational expectations (may be empty)
  std::string expected;  // human description, written to the report
  Role role = Role::kVerdict;
  // For a precondition that does not hold: SKIP with this reason (e.g. kInsufficientPrivilege),
  // or, when kNone, ERROR with SETUP_FAILED.
  ReasonCode unmet = ReasonCode::kNone;
  std::function<Verdict(const Observation&, const Observation*)> judge;

  bool record_only() const { return role == Role::kRecord; }
};

// observation `key` (an integer Value) matches `m`, e.g. Expect("init.getpid", Eq(1)).
Expectation Expect(std::string key, ::testing::Matcher<int64_t> m);
// observation `key` (a Call) matches `m`, e.g. ExpectCall("unshare.second", FailsWith(EINVAL)).
Expectation ExpectCall(std::string key, ::testing::Matcher<CallResult> m);
// observation `key` (a Text) matches `m`; a string literal means "equals":
// ExpectText("view.self", "/"), ExpectText("line", HasSubstr("x")).
Expectation ExpectText(std::string key, ::testing::Matcher<std::string> m);
// Two namespace identities (NsId observations) are the same / different namespaces.
Expectation ExpectSameNs(std::string key, std::string other);
Expectation ExpectDifferentNs(std::string key, std::string other);
// Two text observations are equal / different.
Expectation ExpectSameText(std::string key, std::string other);
Expectation ExpectDifferentText(std::string key, std::string other);
// Two integer observations are equal / different.
Expectation ExpectSameValue(std::string key, std::string other);
Expectation ExpectDifferentValue(std::string key, std::string other);
// The value is recorded in the report but never judged (catalogue: "record, don't assert").
Expectation Record(std::string key);

// A precondition, for Case::preconditions: the set-up `e` describes must hold for the verdict
// to mean anything, in the rule and in its control alike. When it does not, the case is SKIP
// with `unmet` (when the harness can say why: kInsufficientPrivilege, kBlockedBySeccomp, ...)
// or ERROR/SETUP_FAILED — never FAIL, and a control that fails on it proves nothing.
Expectation Given(Expectation e, ReasonCode unmet = ReasonCode::kNone);

}  // namespace nsc
