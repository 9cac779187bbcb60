// Judging a finished case (see judge.h).
#include "judge.h"

#include <sys/wait.h>

#include <cstring>
#include <map>

#include "text.h"

namespace nsc {

using nlohmann::json;

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

void Judge(const Case& c, const FinishedCase& run, CaseOutcome& out) {
  const bool timed_out = run.timed_out, interrupted = run.interrupted;
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

}  // namespace nsc
