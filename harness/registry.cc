// The case registry: every NSC_CASE adds itself here at static-initialisation time.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "nsconform/case.h"

namespace nsc {
namespace {
std::vector<Case>& Registry() {
  static std::vector<Case> cases;
  return cases;
}
bool g_sorted = false;
}  // namespace

bool RegisterCase(const char* file, int line, Case c) {
  c.file = file;
  c.line = line;
  if (c.body == nullptr || c.id.empty()) {
    std::fprintf(stderr, "nsconform: case at %s:%d has no id or no body\n", file, line);
    std::abort();
  }
  Registry().push_back(std::move(c));
  g_sorted = false;
  return true;
}

const std::vector<Case>& AllCases() {
  auto& cases = Registry();
  if (!g_sorted) {
    std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.id < b.id; });
    for (size_t i = 1; i < cases.size(); ++i) {
      if (cases[i].id == cases[i - 1].id) {
        std::fprintf(stderr, "nsconform: rule %s is registered twice (%s:%d and %s:%d)\n",
                     cases[i].id.c_str(), cases[i - 1].file.c_str(), cases[i - 1].line,
                     cases[i].file.c_str(), cases[i].line);
        std::abort();
      }
    }
    g_sorted = true;
  }
  return cases;
}

}  // namespace nsc
