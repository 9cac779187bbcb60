// The commands that read the catalogue and run nothing: --list, --json-list, --explain.
#pragma once

#include <vector>

#include "nsconform/case.h"
#include "options.h"

namespace nsc {

// `--list` / `--json-list`: the selected rule IDs, or their metadata as a JSON array.
int ListMain(const Options& o, const std::vector<const Case*>& selected);
// `--explain RULE`: one rule in words, and whether it can run here. UsageError for an
// unknown rule (with near matches).
int ExplainMain(const Options& o);

}  // namespace nsc
