// Which rules a run selects (--filter, --namespace) and what the catalogue is.
#pragma once

#include <string>
#include <vector>

#include "nsconform/case.h"
#include "options.h"

namespace nsc {

// The rules matching --filter and --namespace, in catalogue order.
std::vector<const Case*> Select(const Options& o);
// What --namespace accepts: the eight namespace types and every group of this catalogue.
std::vector<std::string> KnownNamespaces();
// sha256 over "id\ttitle\n" of every rule: the identity of the catalogue in a report.
std::string CatalogSha256();

}  // namespace nsc
