// The checkers the other tests rely on, and the report schema's agreement with the sources it
// describes. No nsconform run here: hand-made reports only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "support.h"

namespace nsc::test {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

json Result(const std::string& id, const std::string& status, const std::string& code = "",
            const std::string& reason = "") {
  json r = {{"id", id}, {"namespace", id.substr(0, id.find('.'))}, {"status", status}, {"kind", "assertion"},
            {"timeout_s", 2.0}, {"source", {{"doc", "x(7)"}, {"section", "s"}}}};
  if (!code.empty()) r["reason_code"] = code;
  if (!reason.empty()) r["reason"] = reason;
  return r;
}

json Report(json results, bool complete = true) {
  json summary = {{"total", results.size()}, {"pass", 0}, {"fail", 0}, {"skip", 0}, {"error", 0}};
  for (const auto& r : results) summary[r["status"].get<std::string>()] = summary[r["status"].get<std::string>()].get<int>() + 1;
  return {{"run", {{"complete", complete}}}, {"summary", summary}, {"results", results},
          {"plan", {{"selected", results.size()}}}};
}

const json kReport = Report({Result("pid.a", "pass"), Result("pid.b", "fail", "EXPECTATION_MISMATCH", "r"),
                             Result("user.c", "skip", "PRECONDITION_UNMET", "why"),
                             Result("user.d", "error", "TIMEOUT", "t")});

const std::string kFlat =
    "KTAP version 1\n"
    "1..4\n"
    "# nsconform 0.1.0 run=1 kernel=6.18 machine=x86_64 euid=0 mode=rule\n"
    "ok 1 pid.a\n"
    "# pid.b: r [x(7)]\n"
    "not ok 2 pid.b\n"
    "ok 3 user.c # SKIP why\n"
    "# user.d: t [x(7)]\n"
    "not ok 4 user.d # TIMEOUT 2 seconds\n"
    "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1\n";

const std::string kNested =
    "KTAP version 1\n"
    "1..2\n"
    "# nsconform 0.1.0 run=1 kernel=6.18 machine=x86_64 euid=0 mode=rule\n"
    "  KTAP version 1\n"
    "  # Subtest: pid\n"
    "  1..2\n"
    "  ok 1 pid.a\n"
    "  not ok 2 pid.b\n"
    "not ok 1 pid\n"
    "  KTAP version 1\n"
    "  # Subtest: user\n"
    "  1..2\n"
    "  ok 1 user.c # SKIP why\n"
    "  not ok 2 user.d # TIMEOUT 2 seconds\n"
    "not ok 2 user\n"
    "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1\n";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(KtapChecker, AcceptsWellFormedFlatAndNested) {
  EXPECT_THAT(CheckKtap(kFlat, kReport, false), IsEmpty());
  EXPECT_THAT(CheckKtap(kNested, kReport, true), IsEmpty());
}

TEST(KtapChecker, RejectsMistakes) {
  const std::vector<std::pair<std::string, std::string>> broken = {
      {"wrong plan", Replace(kFlat, "1..4", "1..5")},
      {"no version", Replace(kFlat, "KTAP version 1\n", "")},
      {"skipped number", Replace(kFlat, "ok 3 user.c", "ok 4 user.c")},
      {"wrong name", Replace(kFlat, "ok 1 pid.a", "ok 1 pid.z")},
      {"fail as ok", Replace(kFlat, "not ok 2 pid.b", "ok 2 pid.b")},
      {"skip without directive", Replace(kFlat, "ok 3 user.c # SKIP why", "ok 3 user.c")},
      {"timeout without directive", Replace(kFlat, "not ok 4 user.d # TIMEOUT 2 seconds", "not ok 4 user.d")},
      {"totals not last", kFlat + "# trailing\n"},
      {"wrong totals", Replace(kFlat, "skip:1", "skip:2")},
      {"garbage line", Replace(kFlat, "ok 1 pid.a\n", "ok 1 pid.a\nhello\n")},
      {"bail out in a complete run", kFlat + "Bail out! x\n"},
      {"hash in a name", Replace(kFlat, "ok 1 pid.a", "ok 1 pid#a")},
  };
  for (const auto& [what, ktap] : broken) {
    EXPECT_THAT(CheckKtap(ktap, kReport, false), Not(IsEmpty())) << what;
  }
  const std::vector<std::pair<std::string, std::string>> nested = {
      {"inner plan", Replace(kNested, "  1..2\n  ok 1 pid.a", "  1..3\n  ok 1 pid.a")},
      {"parent name", Replace(kNested, "not ok 1 pid\n", "not ok 1 pidx\n")},
      {"parent does not roll up", Replace(kNested, "not ok 1 pid\n", "ok 1 pid\n")},
      {"no subtest header", Replace(kNested, "  # Subtest: user\n", "")},
  };
  for (const auto& [what, ktap] : nested) {
    EXPECT_THAT(CheckKtap(ktap, kReport, true), Not(IsEmpty())) << what;
  }
}

TEST(KtapChecker, IncompleteRunEndsWithBailOut) {
  json r = kReport;
  r["run"]["complete"] = false;
  EXPECT_THAT(CheckKtap(kFlat + "Bail out! run incomplete (interrupted)\n", r, false), IsEmpty());
  EXPECT_THAT(CheckKtap(kFlat, r, false), Not(IsEmpty()));
}

TEST(SummaryChecker, RejectsWrongCountsAndOrder) {
  EXPECT_THAT(CheckSummary(kReport), IsEmpty());
  json r = kReport;
  r["summary"]["pass"] = 2;
  EXPECT_THAT(CheckSummary(r), Not(IsEmpty()));
  r = kReport;
  std::swap(r["results"][0], r["results"][1]);
  EXPECT_THAT(CheckSummary(r), Not(IsEmpty()));
}

TEST(KcidbChecker, MapsStatuses) {
  json k = {{"tests", json::array()}};
  for (const auto& [id, st] : std::vector<std::pair<std::string, std::string>>{
           {"pid.a", "PASS"}, {"pid.b", "FAIL"}, {"user.c", "SKIP"}, {"user.d", "ERROR"}}) {
    k["tests"].push_back({{"path", "nsconform." + id}, {"status", st}});
  }
  EXPECT_THAT(CheckKcidb(k, kReport), IsEmpty());
  k["tests"][3]["status"] = "MISS";
  EXPECT_THAT(CheckKcidb(k, kReport), Not(IsEmpty()));
}

// --- The report schema agrees with the code and the catalogue ---------------------------------

std::set<std::string> EnumOf(const json& def) {
  std::set<std::string> out;
  for (const auto& v : def["enum"]) out.insert(v.get<std::string>());
  return out;
}

TEST(ReportSchemaSource, ReasonCodesAreExactlyThoseOfReasonCc) {
  const std::string source = ReadFile(Paths::SourceDir() / "harness/reason.cc");
  std::set<std::string> in_code;
  const std::regex name(R"re(return "([A-Z_]+)";)re");
  for (auto it = std::sregex_iterator(source.begin(), source.end(), name); it != std::sregex_iterator(); ++it) {
    in_code.insert((*it)[1]);
  }
  in_code.erase("HARNESS_ERROR");  // also the fallback of an unknown value
  in_code.insert("HARNESS_ERROR");
  const json schema = ReadJson(Paths::ReportSchema());
  const json& defs = schema["definitions"];
  std::set<std::string> in_schema;
  for (const char* d : {"skip_reason_code", "fail_reason_code", "error_reason_code"}) {
    for (const auto& v : EnumOf(defs[d])) {
      EXPECT_TRUE(in_schema.insert(v).second) << v << " is in two status groups";
    }
  }
  EXPECT_EQ(in_schema, in_code) << "harness/reason.cc and the schema's reason_code enums differ";
}

TEST(ReportSchemaSource, NamespaceEnumIsTheCatalogueGroups) {
  std::set<std::string> groups;
  for (const auto& id : Lines(ReadFile(Paths::Catalogue()))) {
    if (!id.empty()) groups.insert(id.substr(0, id.find('.')));
  }
  groups.insert("runtime");  // `nsconform runtime`: its rules are not in the kernel catalogue
  const json schema = ReadJson(Paths::ReportSchema());
  EXPECT_EQ(EnumOf(schema["definitions"]["namespace"]), groups);
  EXPECT_THAT(EnumOf(schema["definitions"]["namespace"]), Not(Contains("selftest")));
}

TEST(ReportSchemaSource, IsAValidDraft7Schema) {
  // Validating an empty object checks the schema itself (check_schema) and must fail on the
  // document only.
  TempDir d("schema");
  WriteFile(d / "empty.json", "{}");
  const std::string out = ValidateJson(Paths::ReportSchema(), {d / "empty.json"});
  EXPECT_THAT(out, HasSubstr("'schema' is a required property"));
  EXPECT_THAT(out, Not(HasSubstr("validator usage/schema error")));
}

}  // namespace
}  // namespace nsc::test
