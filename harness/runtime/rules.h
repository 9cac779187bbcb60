// The runtime.* rules: one property of the container a runtime made, judged against the
// expectation its configuration gives, from the probe's report (inside) and the harness's view
// of the held container (outside).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../runner.h"
#include "adapter.h"
#include "launch.h"

namespace nsc::runtime {

struct Judgement {
  Status status = Status::kError;
  ReasonCode code = ReasonCode::kNone;
  std::string reason;
  nlohmann::json expected = nlohmann::json::object();  // key -> description
  nlohmann::json observed = nlohmann::json::object();  // key -> string or integer
};

using JudgeFn = Judgement (*)(const Expectation&, const ContainerRun&, const std::string& arg);

struct RuntimeRule {
  Case meta;             // id, title, observe, control text; source filled per adapter
  std::string property;  // what Adapter::Plant removes for the control
  std::string arg;       // e.g. the namespace type
  JudgeFn judge = nullptr;
};

// Every runtime.* rule, sorted by ID.
const std::vector<RuntimeRule>& RuntimeRules();

// What the probe must be asked for to judge `exp` (paths to inspect, sysctls to read).
ProbeRequest RequestFor(const Expectation& exp);

}  // namespace nsc::runtime
