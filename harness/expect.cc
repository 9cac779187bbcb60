// Expectations and syscall matchers (see include/nsconform/expect.h).
#include "nsconform/expect.h"

#include <cstring>
#include <sstream>

namespace nsc {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "errno " + std::to_string(err);
}

void PrintTo(const CallResult& r, std::ostream* os) {
  *os << "ret=" << r.ret;
  if (r.ret == -1) *os << " errno=" << ErrnoName(r.err);
}

void PrintTo(const NsIdentity& id, std::ostream* os) {
  if (id.err != 0) {
    *os << "stat failed: " << ErrnoName(id.err);
  } else {
    *os << "(st_dev " << id.dev << ", st_ino " << id.ino << ")";
  }
}

namespace {

using ::testing::Matcher;
using ::testing::MatcherInterface;
using ::testing::MatchResultListener;

class CallMatcher : public MatcherInterface<CallResult> {
 public:
  // expect_success: ret != -1 (and value matches); otherwise ret == -1 and errno in errs
  // (any errno when errs is empty).
  CallMatcher(bool expect_success, std::optional<Matcher<int64_t>> value, std::vector<int> errs)
      : success_(expect_success), value_(std::move(value)), errs_(std::move(errs)) {}

  bool MatchAndExplain(CallResult r, MatchResultListener* listener) const override {
    if (success_) {
      if (r.ret == -1) {
        *listener << "it failed with " << ErrnoName(r.err);
        return false;
      }
      return !value_ || value_->MatchAndExplain(r.ret, listener);
    }
    if (r.ret != -1) {
      *listener << "it succeeded, returning " << r.ret;
      return false;
    }
    if (errs_.empty()) return true;
    for (int e : errs_) {
      if (e == r.err) return true;
    }
    *listener << "it failed with " << ErrnoName(r.err);
    return false;
  }

  void DescribeTo(std::ostream* os) const override {
    if (success_) {
      *os << "succeeds";
      if (value_) {
        *os << " with a value that ";
        value_->DescribeTo(os);
      }
      return;
    }
    *os << "fails";
    for (size_t i = 0; i < errs_.size(); ++i) {
      *os << (i == 0 ? " with " : " or ") << ErrnoName(errs_[i]);
    }
  }

 private:
  bool success_;
  std::optional<Matcher<int64_t>> value_;
  std::vector<int> errs_;
};

Expectation Make(std::string key, std::string other, std::string expected,
                 std::function<Verdict(const Observation&, const Observation*)> judge) {
  Expectation e;
  e.key = std::move(key);
  e.other = std::move(other);
  e.expected = std::move(expected);
  e.judge = std::move(judge);
  return e;
}

template <typename T>
std::string Describe(const Matcher<T>& m) {
  std::ostringstream os;
  m.DescribeTo(&os);
  return os.str();
}

template <typename T>
Verdict Judge(const Matcher<T>& m, const T& value) {
  ::testing::StringMatchResultListener listener;
  Verdict v;
  v.ok = m.MatchAndExplain(value, &listener);
  if (!v.ok) v.explanation = listener.str();
  return v;
}

Verdict KindMismatch(const char* wanted) {
  return {false, std::string("the observation was recorded as another kind than ") + wanted +
                     " (a defect of the case)",
          ReasonCode::kHarnessError};
}

NsIdentity IdentityOf(const Observation& o) {
  if (o.a == -1) return {-1, -1, o.err};
  return {o.a, o.b, 0};
}

}  // namespace

Matcher<CallResult> Succeeds() { return MakeMatcher(new CallMatcher(true, std::nullopt, {})); }
Matcher<CallResult> SucceedsWith(Matcher<int64_t> value) {
  return MakeMatcher(new CallMatcher(true, std::move(value), {}));
}
Matcher<CallResult> Fails() { return MakeMatcher(new CallMatcher(false, std::nullopt, {})); }
Matcher<CallResult> FailsWith(int err) {
  return MakeMatcher(new CallMatcher(false, std::nullopt, {err}));
}
Matcher<CallResult> FailsWithAnyOf(std::initializer_list<int> errs) {
  return MakeMatcher(new CallMatcher(false, std::nullopt, std::vector<int>(errs)));
}

Expectation Expect(std::string key, Matcher<int64_t> m) {
  std::string expected = Describe(m);
  return Make(std::move(key), "", std::move(expected),
              [m](const Observation& o, const Observation*) {
                if (o.kind != RecordKind::kValue) return KindMismatch("an integer value");
                return Judge(m, o.a);
              });
}

Expectation ExpectCall(std::string key, Matcher<CallResult> m) {
  std::string expected = Describe(m);
  return Make(std::move(key), "", std::move(expected),
              [m](const Observation& o, const Observation*) {
                if (o.kind != RecordKind::kCall) return KindMismatch("a syscall result");
                return Judge(m, CallResult{o.a, o.err});
              });
}

Expectation ExpectText(std::string key, Matcher<std::string> m) {
  std::string expected = Describe(m);
  return Make(std::move(key), "", std::move(expected),
              [m](const Observation& o, const Observation*) {
                if (o.kind != RecordKind::kText) return KindMismatch("a text");
                return Judge(m, o.text);
              });
}

namespace {
Expectation NsRelation(std::string key, std::string other, bool same) {
  std::string expected = (same ? "same namespace as " : "different namespace from ") + other;
  return Make(std::move(key), std::move(other), std::move(expected),
              [same](const Observation& a, const Observation* b) -> Verdict {
                if (a.kind != RecordKind::kNsId || b == nullptr || b->kind != RecordKind::kNsId) {
                  return KindMismatch("a namespace identity");
                }
                NsIdentity x = IdentityOf(a), y = IdentityOf(*b);
                if (x.err != 0 || y.err != 0) {
                  return {false,
                          "a namespace could not be identified (" +
                              ErrnoName(x.err != 0 ? x.err : y.err) + ")",
                          ReasonCode::kSetupFailed};
                }
                if ((x == y) == same) return {true, ""};
                return {false, same ? "they differ" : "they are the same namespace"};
              });
}

Expectation ValueRelation(std::string key, std::string other, bool same) {
  std::string expected = (same ? "equal to " : "different from ") + other;
  return Make(std::move(key), std::move(other), std::move(expected),
              [same](const Observation& a, const Observation* b) -> Verdict {
                if (a.kind != RecordKind::kValue || b == nullptr || b->kind != RecordKind::kValue) {
                  return KindMismatch("an integer value");
                }
                if ((a.a == b->a) == same) return {true, ""};
                return {false, same ? "they differ" : "they are equal"};
              });
}
Expectation TextRelation(std::string key, std::string other, bool same) {
  std::string expected = (same ? "same text as " : "text different from ") + other;
  return Make(std::move(key), std::move(other), std::move(expected),
              [same](const Observation& a, const Observation* b) -> Verdict {
                if (a.kind != RecordKind::kText || b == nullptr || b->kind != RecordKind::kText) {
                  return KindMismatch("a text");
                }
                if ((a.text == b->text) == same) return {true, ""};
                return {false, same ? "they differ" : "they are equal"};
              });
}
}  // namespace

Expectation ExpectSameText(std::string key, std::string other) {
  return TextRelation(std::move(key), std::move(other), true);
}
Expectation ExpectDifferentText(std::string key, std::string other) {
  return TextRelation(std::move(key), std::move(other), false);
}

Expectation ExpectSameNs(std::string key, std::string other) {
  return NsRelation(std::move(key), std::move(other), true);
}
Expectation ExpectDifferentNs(std::string key, std::string other) {
  return NsRelation(std::move(key), std::move(other), false);
}
Expectation ExpectSameValue(std::string key, std::string other) {
  return ValueRelation(std::move(key), std::move(other), true);
}
Expectation ExpectDifferentValue(std::string key, std::string other) {
  return ValueRelation(std::move(key), std::move(other), false);
}

Expectation Record(std::string key) {
  Expectation e = Make(std::move(key), "", "recorded, not judged",
                       [](const Observation&, const Observation*) { return Verdict{true, ""}; });
  e.role = Role::kRecord;
  return e;
}

Expectation Given(Expectation e, ReasonCode unmet) {
  e.role = Role::kPrecondition;
  e.unmet = unmet;
  return e;
}

}  // namespace nsc
