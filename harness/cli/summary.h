// The human summary printed after a run: a table per namespace group, the noteworthy rules,
// run errors and where the reports went.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report_files.h"

namespace nsc {

std::string RenderSummary(const nlohmann::json& report, const std::vector<ReportFile>& files,
                          bool control);

}  // namespace nsc
