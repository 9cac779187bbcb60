// Judging a finished case (see judge.h).
//
// Order of judgement, first match wins:
//   1. how the tree ended: interrupted, timed out, a set-up step failed, the body skipped,
//      corrupt records, a crash, a body that never finished                 -> ERROR / SKIP
//   2. defects of the case: a key recorded twice, a key recorded but declared nowhere, a
//      declared key never recorded, an observation of another kind than declared -> ERROR
//   3. preconditions (Case::preconditions): one not holding          -> SKIP(unmet) or ERROR
//   4. verdict keys (Case::expect): any contradicted                   -> FAIL, else PASS
// Only step 4 can produce FAIL, so a FAIL always names a verdict key, with every
// precondition holding; that is also what makes a failed control valid.
#include "judge.h"

#include <sys/wait.h>

#include <cstring>
#include <map>
#include <optional>

#include "text.h"

namespace nsc {

using nlohmann::json;

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

namespace {

// The records of one case tree, sorted by kind.
struct Records {
  std::map<std::string, Observation> observations;
  std::vector<std::string> recorded_twice;
  bool body_done = false;
  bool have_body_exit = false;
  int body_status = 0;
  int64_t leftovers = 0;
  std::string notes;
  std::optional<WireRecord> skip;
  std::optional<WireRecord> setup_error;
  bool corrupt = false;
};

std::string KeyOf(const WireRecord& r) { return std::string(r.key, strnlen(r.key, sizeof r.key)); }
std::string TextOf(const WireRecord& r) { return std::string(r.text, strnlen(r.text, sizeof r.text)); }

Records Decode(const std::string& bytes) {
  Records out;
  std::vector<WireRecord> records(bytes.size() / sizeof(WireRecord));
  std::memcpy(records.data(), bytes.data(), records.size() * sizeof(WireRecord));
  out.corrupt = bytes.size() % sizeof(WireRecord) != 0;
  for (const WireRecord& r : records) {
    if (r.magic != kWireMagic) {
      out.corrupt = true;
      continue;
    }
    switch (r.kind) {
      case RecordKind::kValue:
      case RecordKind::kCall:
      case RecordKind::kText:
      case RecordKind::kNsId: {
        auto [it, inserted] =
            out.observations.try_emplace(KeyOf(r), Observation{r.kind, r.a, r.b, r.err, TextOf(r)});
        if (!inserted) out.recorded_twice.push_back(it->first);
        break;
      }
      case RecordKind::kNote:
        out.notes += "[pid " + std::to_string(r.pid) + "] " + TextOf(r) + "\n";
        break;
      // The first of "cannot run here" and "set-up broke" wins: whatever follows it (a parent
      // noticing that its child gave up, say) is a consequence, not the cause.
      case RecordKind::kSkip:
        if (!out.skip && !out.setup_error) out.skip = r;
        break;
      case RecordKind::kSetupError:
        if (!out.setup_error && !out.skip) out.setup_error = r;
        break;
      case RecordKind::kBodyDone:
        out.body_done = true;
        break;
      case RecordKind::kBodyExit:
        out.have_body_exit = true;
        out.body_status = static_cast<int>(r.a);
        break;
      case RecordKind::kLeftovers:
        out.leftovers = r.a;
        break;
    }
  }
  return out;
}

json ToJson(const Observation& o) {
  switch (o.kind) {
    case RecordKind::kValue: return o.a;
    case RecordKind::kCall: {
      json v = {{"ret", o.a}};
      if (o.a == -1) v["errno"] = ErrnoName(o.err);
      return v;
    }
    case RecordKind::kText: return o.text;
    case RecordKind::kNsId:
      if (o.a == -1) return {{"errno", ErrnoName(o.err)}};
      return {{"st_dev", o.a}, {"st_ino", o.b}};
    default: return nullptr;
  }
}

// Every declared expectation: preconditions first, then the rule's own.
std::vector<const Expectation*> Declared(const Case& c) {
  std::vector<const Expectation*> all;
  for (const Expectation& e : c.preconditions) all.push_back(&e);
  for (const Expectation& e : c.expect) all.push_back(&e);
  return all;
}

void FillObservations(const Case& c, const Records& recs, CaseOutcome& out) {
  const auto declared = Declared(c);
  for (const auto& [key, o] : recs.observations) {
    // Values only ever recorded go to "recorded"; a value also judged stays in "observed".
    bool judged = false;
    for (const Expectation* e : declared) {
      if ((e->key == key || e->other == key) && !e->record_only()) judged = true;
    }
    (judged ? out.observed : out.recorded)[key] = ToJson(o);
  }
  auto describe = [](json& into, const Expectation& e) {
    std::string text = e.other.empty() || e.expected.find(e.other) != std::string::npos
                           ? e.expected
                           : e.expected + " (vs " + e.other + ")";
    into[e.key] = into.contains(e.key) ? into[e.key].get<std::string>() + "; and " + text : text;
  };
  for (const Expectation& e : c.preconditions) describe(out.preconditions, e);
  for (const Expectation& e : c.expect) {
    if (!e.record_only()) describe(out.expected, e);
  }
}

std::string Seen(const CaseOutcome& out, const Expectation& e) {
  auto value = [&](const std::string& k) {
    return out.observed.contains(k) ? out.observed[k].dump() : std::string("?");
  };
  std::string seen = value(e.key);
  if (!e.other.empty()) seen += " vs " + e.other + " = " + value(e.other);
  return seen;
}

}  // namespace

void Judge(const Case& c, const FinishedCase& run, CaseOutcome& out) {
  const Records recs = Decode(run.record_bytes);
  FillObservations(c, recs, out);

  out.log = recs.notes;
  if (recs.leftovers > 0) {
    out.log += "harness: killed " + std::to_string(recs.leftovers) +
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

  // 1. How the tree ended.
  if (run.interrupted) return error(ReasonCode::kNotRun, "the run was interrupted before this case finished");
  if (run.timed_out) {
    return error(ReasonCode::kTimeout, "case timed out after " + FormatSeconds(out.timeout_s, 1) +
                                           " s; its process tree was killed");
  }
  if (recs.setup_error) {
    std::string why = TextOf(*recs.setup_error);
    if (recs.setup_error->err != 0) why += ": " + ErrnoName(recs.setup_error->err);
    return error(ReasonCode::kSetupFailed, "set-up failed: " + why);
  }
  if (recs.skip) {
    out.status = Status::kSkip;
    out.code = static_cast<ReasonCode>(recs.skip->reason);
    out.reason = TextOf(*recs.skip);
    return;
  }
  if (recs.corrupt) return error(ReasonCode::kHarnessError, "corrupt records on the result pipe");
  if (!run.reaped || !WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
    if (run.reaped && WIFSIGNALED(run.status)) {
      out.signal = SignalName(WTERMSIG(run.status));
      return error(ReasonCode::kCrashed, "case supervisor killed by " + out.signal);
    }
    return error(ReasonCode::kHarnessError, "case supervisor exited abnormally");
  }
  if (!recs.have_body_exit) return error(ReasonCode::kHarnessError, "case supervisor reported no body status");
  if (WIFSIGNALED(recs.body_status)) {
    out.signal = SignalName(WTERMSIG(recs.body_status));
    return error(ReasonCode::kCrashed, "case body killed by " + out.signal);
  }
  if (!recs.body_done) {
    return error(ReasonCode::kHarnessError,
                 "case body exited (status " + std::to_string(WEXITSTATUS(recs.body_status)) +
                     ") without finishing: it never reported completion");
  }

  // 2. Defects of the case.
  if (!recs.recorded_twice.empty()) {
    return error(ReasonCode::kHarnessError,
                 "observation '" + recs.recorded_twice.front() + "' was recorded more than once");
  }
  const auto declared = Declared(c);
  for (const auto& [key, o] : recs.observations) {
    bool known = false;
    for (const Expectation* e : declared) known = known || e->key == key || e->other == key;
    if (!known) {
      return error(ReasonCode::kHarnessError,
                   "observation '" + key + "' was recorded but is declared nowhere (neither a "
                   "precondition, a verdict key nor a Record)");
    }
  }
  for (const Expectation* e : declared) {
    for (const std::string* k : {&e->key, &e->other}) {
      if (!k->empty() && !recs.observations.contains(*k) && !e->record_only()) {
        return error(ReasonCode::kHarnessError, "case did not report observation '" + *k + "'");
      }
    }
  }
  auto judge = [&](const Expectation& e) -> Verdict {
    auto other = e.other.empty() ? recs.observations.end() : recs.observations.find(e.other);
    return e.judge(recs.observations.at(e.key),
                   other == recs.observations.end() ? nullptr : &other->second);
  };

  // 3. Preconditions.
  for (const Expectation& e : c.preconditions) {
    Verdict v = judge(e);
    if (v.unjudgeable != ReasonCode::kNone) {
      return error(v.unjudgeable, "precondition " + e.key + " cannot be judged: " + v.explanation);
    }
    if (v.ok) continue;
    std::string why = "precondition " + e.key + " does not hold: expected " + e.expected +
                      ", observed " + Seen(out, e) +
                      (v.explanation.empty() ? "" : " (" + v.explanation + ")");
    if (e.unmet == ReasonCode::kNone) return error(ReasonCode::kSetupFailed, why);
    out.status = Status::kSkip;
    out.code = e.unmet;
    out.reason = why;
    return;
  }

  // 4. Verdict keys.
  std::vector<std::string> mismatches;
  for (const Expectation& e : c.expect) {
    if (e.record_only() || !recs.observations.contains(e.key)) continue;
    Verdict v = judge(e);
    if (v.unjudgeable != ReasonCode::kNone) {
      return error(v.unjudgeable, e.key + " cannot be judged: " + v.explanation);
    }
    if (v.ok) continue;
    out.contradicted.push_back(e.key);
    mismatches.push_back(e.key + ": expected " + e.expected + ", observed " + Seen(out, e) +
                         (v.explanation.empty() ? "" : " (" + v.explanation + ")"));
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

}  // namespace nsc
