// Expectation lists of api.unshare_zero_noop (cases/api/unshare_clone.cc), built in the harness
// when the rule registers — never after fork — so they may allocate.
#pragma once

#include <string>
#include <vector>

#include "nsconform/case.h"

namespace nsc::cases {

// unshare succeeded, and after.<entry> is the same namespace as before.<entry> for every entry.
template <size_t N>
std::vector<Expectation> UnshareSucceedsAndAllNsEntriesUnchanged(const char* const (&entries)[N]) {
  std::vector<Expectation> out = {ExpectCall("unshare", Succeeds())};
  for (const char* entry : entries) {
    out.push_back(ExpectSameNs(std::string("after.") + entry, std::string("before.") + entry));
  }
  return out;
}

}  // namespace nsc::cases
