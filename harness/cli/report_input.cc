#include "report_input.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "../text.h"
#include "nsconform/case.h"
#include "report_schema.h"

namespace nsc {
namespace {

using nlohmann::json;

// valijson 1.0 (Debian 12) rejects valid documents when "propertyNames" sits in a
// definition reached through "$ref" from "properties" (observed -> observations): the
// keyword is dropped here, and the one thing it checks (observation keys of 1..55 bytes)
// matters to no renderer.
void DropPropertyNames(json& node) {
  if (node.is_object()) {
    node.erase("propertyNames");
    for (auto& [key, value] : node.items()) DropPropertyNames(value);
  } else if (node.is_array()) {
    for (auto& item : node) DropPropertyNames(item);
  }
}

// The embedded schema, with every rule group of this binary's catalogue added to the
// namespace enum (and to the "namespace is the ID prefix" clauses), as
// tests/tools/validate_json.py --extra-namespace does.
json WidenedSchema() {
  json schema = json::parse(kReportSchemaJson);
  DropPropertyNames(schema);
  json& names = schema["definitions"]["namespace"]["enum"];
  json& prefixes = schema["definitions"]["namespace_is_id_prefix"]["allOf"];
  for (const Case& c : AllCases()) {
    const std::string ns = c.Namespace();
    if (std::find(names.begin(), names.end(), ns) != names.end()) continue;
    names.push_back(ns);
    prefixes.push_back({{"if", {{"properties", {{"namespace", {{"const", ns}}}}}}},
                        {"then", {{"properties", {{"id", {{"pattern", "^" + ns + "\\."}}}}}}}});
  }
  return schema;
}

const valijson::Schema& ReportSchema() {
  static const valijson::Schema* schema = [] {
    auto* s = new valijson::Schema;
    const json doc = WidenedSchema();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *schema;
}

// valijson's context ("<root>", "[results]", "[0]", "[status]") as a JSON pointer.
std::string Pointer(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string p = part;
    if (p.size() >= 2 && p.front() == '[' && p.back() == ']') p = p.substr(1, p.size() - 2);
    if (p.size() >= 2 && p.front() == '"' && p.back() == '"') p = p.substr(1, p.size() - 2);
    out += "/" + p;
  }
  return out.empty() ? "/" : out;
}

}  // namespace

std::string ReportSchemaProblem(const json& report) {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(report);
  if (validator.validate(ReportSchema(), adapter, &results)) return {};
  // The deepest error names the field itself; the outer ones only say "item #0 failed".
  const valijson::ValidationResults::Error* best = nullptr;
  for (const auto& e : results) {
    if (best == nullptr || e.context.size() > best->context.size()) best = &e;
  }
  if (best == nullptr) return "/: does not match the report schema";
  return Pointer(best->context) + ": " + best->description;
}

json LoadReport(const std::string& path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) throw UsageError{"cannot read report " + path};
  if (S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) > kMaxReportBytes) {
    throw UsageError{path + " is " + std::to_string(st.st_size / (1024 * 1024)) +
                     " MiB, more than a report can be (" + std::to_string(kMaxReportBytes / (1024 * 1024)) +
                     " MiB)"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError{"cannot read report " + path};
  std::string text;
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {  // also a pipe: bounded as it comes
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxReportBytes) throw UsageError{path + " is larger than a report can be"};
  }
  json report;
  try {
    report = json::parse(text);
  } catch (const json::exception& e) {
    throw UsageError{path + " is not JSON: " + e.what()};
  }
  if (!report.is_object() || report.value("schema", json()) != "nsconform-report") {
    throw UsageError{path + " is not an nsconform report (no \"schema\": \"nsconform-report\")"};
  }
  const json version = report.value("schema_version", json());
  if (!version.is_string() || !version.get<std::string>().starts_with("1.")) {
    throw UsageError{path + ": /schema_version: unsupported schema version " + version.dump() +
                     " (this nsconform reads 1.x)"};
  }
  if (std::string problem = ReportSchemaProblem(report); !problem.empty()) {
    throw UsageError{path + ": " + SanitizeUtf8(problem)};
  }
  return report;
}

}  // namespace nsc
