#include "catalogue_commands.h"

#include <sstream>

#include "../admission.h"
#include "../environment.h"
#include "../report.h"
#include "../text.h"
#include "write.h"

namespace nsc {
namespace {

using nlohmann::json;

std::string Explain(const Case& c, const Environment& env, bool force_userns) {
  std::ostringstream out;
  json m = CaseMetadata(c);
  out << c.id << "\n  " << c.title << "\n\n"
      << "Source:    " << c.source.doc << ", " << c.source.section << "\n";
  for (const auto& r : c.references) out << "           " << r << "\n";
  out << "Observed:  " << c.observe << "\n"
      << "Control:   " << c.control << "\n"
      << "Requires:  " << m["requires"].dump() << "\n"
      << "Timeout:   " << FormatSeconds(c.timeout_s, 1) << " s\n"
      << "Expects:\n";
  for (const auto& e : c.expect) out << "  - " << e.key << ": " << e.expected << "\n";
  Admission a = Admit(c, env, force_userns);
  out << "Here:      ";
  if (!a.runnable) {
    out << "skips (" << ReasonCodeName(a.code) << ": " << a.reason << ")\n";
  } else {
    out << "runs" << (a.enter_userns ? " inside a fresh user namespace" : "") << "\n";
  }
  out << "Defined:   " << c.file << ":" << c.line << "\n";
  return out.str();
}

}  // namespace

int ListMain(const Options& o, const std::vector<const Case*>& selected) {
  std::string text;
  if (o.list_json) {
    json all = json::array();
    for (const Case* c : selected) all.push_back(CaseMetadata(*c));
    text = all.dump(2) + "\n";
  } else {
    for (const Case* c : selected) text += c->id + "\n";
  }
  return EmitToStdout(text);
}

int ExplainMain(const Options& o) {
  for (const Case& c : AllCases()) {
    if (c.id == o.explain) return EmitToStdout(Explain(c, ProbeEnvironment(o.redact), o.force_userns));
  }
  // One line: up to ten near matches.
  std::string near;
  int shown = 0, more = 0;
  for (const Case& c : AllCases()) {
    if (c.id.find(o.explain) == std::string::npos) continue;
    if (shown++ < 10) {
      near += (near.empty() ? " " : ", ") + c.id;
    } else {
      ++more;
    }
  }
  if (more > 0) near += " and " + std::to_string(more) + " more";
  throw UsageError{"no rule '" + SanitizeUtf8(o.explain) + "'" +
                   (near.empty() ? " (see nsconform --list)" : "; did you mean:" + near)};
}

}  // namespace nsc
