// Every string of a JSON document (values and keys) as valid UTF-8, so that no argv byte,
// kernel string or case output can make dumping a report throw after the run (text.h
// SanitizeUtf8: invalid sequences become U+FFFD).
#pragma once

#include <nlohmann/json.hpp>

namespace nsc {

void SanitizeStrings(nlohmann::json& doc);

}  // namespace nsc
