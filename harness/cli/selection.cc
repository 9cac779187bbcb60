#include "selection.h"

#include <sched.h>

#include <algorithm>

#include "../environment.h"
#include "../text.h"

namespace nsc {

std::vector<const Case*> Select(const Options& o) {
  std::vector<const Case*> out;
  for (const Case& c : AllCases()) {
    bool in = o.include.empty();
    for (const auto& g : o.include) in = in || GlobMatch(g, c.id);
    for (const auto& g : o.exclude) in = in && !GlobMatch(g, c.id);
    if (!o.namespaces.empty()) {
      bool ns = false;
      for (const auto& n : o.namespaces) ns = ns || n == c.Namespace();
      in = in && ns;
    }
    if (in) out.push_back(&c);
  }
  return out;
}

std::vector<std::string> KnownNamespaces() {
  std::vector<std::string> names;
  for (unsigned long flag : {CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID,
                             CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS}) {
    names.emplace_back(NsTypeName(flag));
  }
  for (const Case& c : AllCases()) names.push_back(c.Namespace());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string CatalogSha256() {
  std::string all;
  for (const Case& c : AllCases()) all += c.id + "\t" + c.title + "\n";
  return Sha256Hex(all);
}

}  // namespace nsc
