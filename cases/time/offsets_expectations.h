// Expectation lists of the time-offset rules (cases/time/offsets.cc), built in the harness when
// the rules register — never after fork — so they may allocate.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "nsconform/case.h"

namespace nsc::cases {

// Preconditions for RecordOffsets(prefix) of every prefix: both lines were read and parsed (a
// missing or malformed line is SKIP PRECONDITION_UNMET, never a value of -1 compared).
inline std::vector<Expectation> OffsetsRead(std::initializer_list<const char*> prefixes) {
  std::vector<Expectation> out;
  for (const char* prefix : prefixes) {
    for (const char* clock : {".read_monotonic", ".read_boottime"}) {
      out.push_back(Given(ExpectCall(std::string(prefix) + clock, Succeeds()),
                          ReasonCode::kPreconditionUnmet));
    }
  }
  return out;
}

// `judged`, plus a Record for every value RecordOffsets(prefix) writes that `judged` does not
// mention.
inline std::vector<Expectation> WithOffsetRecords(const char* prefix, std::vector<Expectation> judged) {
  for (const char* field : {".monotonic_secs", ".monotonic_nsecs", ".boottime_secs", ".boottime_nsecs"}) {
    const std::string key = std::string(prefix) + field;
    bool mentioned = false;
    for (const Expectation& e : judged) mentioned = mentioned || e.key == key;
    if (!mentioned) judged.push_back(Record(key));
  }
  return judged;
}

inline std::vector<Expectation> ConcatExpectations(std::vector<Expectation> a, std::vector<Expectation> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace nsc::cases
