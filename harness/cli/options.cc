// The hand-written parser of `nsconform [OPTIONS]`. CLI11 (libcli11-dev 2.1) was measured as
// the alternative: +545 KB in a static binary, ~20 s to compile its one translation unit, and
// it accepts `--list=yes`, so it would change the tested behaviour; the table below is enough.
#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>

#include "../text.h"

namespace nsc {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

std::string Range(double min, double max) {
  return "[" + FormatSeconds(min, min < 1 ? 3 : 0) + ", " + FormatSeconds(max, 0) + "]";
}

void NotEmpty(const std::string& flag, const std::string& value) {
  if (value.empty()) throw UsageError{flag + " needs a non-empty value"};
}

// --filter POS[:POS...][-NEG[:NEG...]] (GoogleTest syntax).
void ParseFilter(const std::string& flag, const std::string& f, Options& o) {
  NotEmpty(flag, f);
  const auto dash = f.find('-');
  const std::string pos = f.substr(0, dash);
  const std::string neg = dash == std::string::npos ? "" : f.substr(dash + 1);
  auto include = Split(pos, ':');
  auto exclude = Split(neg, ':');
  if (dash != std::string::npos && exclude.empty()) {
    throw UsageError{flag + " '" + f + "' has an empty negative part after '-'"};
  }
  if (include.empty() && exclude.empty()) throw UsageError{flag + " '" + f + "' names no glob"};
  o.include.insert(o.include.end(), include.begin(), include.end());
  o.exclude.insert(o.exclude.end(), exclude.begin(), exclude.end());
}

void ParseNamespaces(const std::string& flag, const std::string& list,
                     const std::vector<std::string>& known, Options& o) {
  NotEmpty(flag, list);
  auto names = Split(list, ',');
  if (names.empty()) throw UsageError{flag + " '" + list + "' names no namespace"};
  for (const auto& n : names) {
    bool ok = false;
    for (const auto& k : known) ok = ok || k == n;
    if (!ok) {
      std::string all;
      for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
      throw UsageError{flag + ": unknown namespace '" + n + "' (known: " + all + ")"};
    }
    o.namespaces.push_back(n);
  }
}

struct Flag {
  bool takes_value;
  std::function<void(const std::string& name, const std::string& value, Options&)> apply;
};

}  // namespace

double ParseReal(const std::string& what, const std::string& value, double min, double max) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(value.c_str(), &end);
  const bool number = !value.empty() && *end == '\0' && errno != ERANGE && std::isfinite(v);
  if (!number || v < min || v > max) {
    throw UsageError{what + " needs a number in " + Range(min, max) + ", got '" + value + "'"};
  }
  return v;
}

long ParseInteger(const std::string& what, const std::string& value, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno == ERANGE || v < min || v > max) {
    throw UsageError{what + " needs a number in [" + std::to_string(min) + ", " +
                     std::to_string(max) + "], got '" + value + "'"};
  }
  return v;
}

Options ParseOptions(const std::vector<std::string>& args,
                     const std::vector<std::string>& known_namespaces) {
  Options o;
  if (const char* mul = std::getenv("NSCONFORM_TIMEOUT_MUL"); mul != nullptr && *mul != '\0') {
    o.timeout_multiplier =
        ParseReal("NSCONFORM_TIMEOUT_MUL", mul, kMinTimeoutMultiplier, kMaxTimeoutMultiplier);
  }
  auto sw = [](bool Options::*member) {
    return Flag{false, [member](const std::string&, const std::string&, Options& o) { o.*member = true; }};
  };
  auto path = [](std::string Options::*member) {
    return Flag{true, [member](const std::string& name, const std::string& v, Options& o) {
                  NotEmpty(name, v);
                  o.*member = v;
                }};
  };
  auto jobs = Flag{true, [](const std::string& name, const std::string& v, Options& o) {
                     o.jobs = static_cast<int>(ParseInteger(name, v, 1, kMaxJobs));
                   }};
  const std::map<std::string, Flag> flags = {
      {"--help", sw(&Options::help)},
      {"-h", sw(&Options::help)},
      {"--version", sw(&Options::version)},
      {"--list", sw(&Options::list)},
      {"--json-list", {false, [](const std::string&, const std::string&, Options& o) {
                         o.list = o.list_json = true;
                       }}},
      {"--explain", path(&Options::explain)},
      {"--filter", {true, [](const std::string& name, const std::string& v, Options& o) {
                      ParseFilter(name, v, o);
                    }}},
      {"--namespace", {true, [&](const std::string& name, const std::string& v, Options& o) {
                         ParseNamespaces(name, v, known_namespaces, o);
                       }}},
      {"--allow-empty", sw(&Options::allow_empty)},
      {"-j", jobs},
      {"--jobs", jobs},
      {"--timeout-multiplier", {true, [](const std::string& name, const std::string& v, Options& o) {
                                  o.timeout_multiplier =
                                      ParseReal(name, v, kMinTimeoutMultiplier, kMaxTimeoutMultiplier);
                                }}},
      {"--max-runtime", {true, [](const std::string& name, const std::string& v, Options& o) {
                           o.max_runtime_s = ParseReal(name, v, kMinMaxRuntime, kMaxMaxRuntime);
                         }}},
      {"--control", sw(&Options::control)},
      {"--userns", sw(&Options::force_userns)},
      {"-q", sw(&Options::quiet)},
      {"--quiet", sw(&Options::quiet)},
      {"--report-dir", path(&Options::report_dir)},
      {"--no-default-reports", {false, [](const std::string&, const std::string&, Options& o) {
                                  o.default_reports = false;
                                }}},
      {"--json", path(&Options::json_path)},
      {"--junit", path(&Options::junit_path)},
      {"--junit-profile", {true, [](const std::string&, const std::string& p, Options& o) {
                             if (p == "common") {
                               o.junit_profile = JunitProfile::kCommon;
                             } else if (p == "strict") {
                               o.junit_profile = JunitProfile::kStrict;
                             } else {
                               throw UsageError{"--junit-profile is common or strict, not '" + p + "'"};
                             }
                           }}},
      {"--ktap", path(&Options::ktap_path)},
      {"--ktap-nested", sw(&Options::ktap_nested)},
      {"--kcidb", path(&Options::kcidb_path)},
      {"--stable", sw(&Options::stable)},
      {"--redact", sw(&Options::redact)},
      {"--no-error-on-fail", sw(&Options::no_error_on_fail)},
  };

  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    bool has_inline = false;
    if (name.starts_with("--") && name.find('=') != std::string::npos) {
      value = name.substr(name.find('=') + 1);
      name = name.substr(0, name.find('='));
      has_inline = true;
    } else if (name.starts_with("-j") && name.size() > 2 && !name.starts_with("--")) {
      value = name.substr(2);  // -j4
      name = "-j";
      has_inline = true;
    }
    auto it = flags.find(name);
    if (it == flags.end()) throw UsageError{"unknown option '" + args[i] + "' (see nsconform --help)"};
    const Flag& flag = it->second;
    if (!flag.takes_value && has_inline) throw UsageError{name + " takes no value"};
    if (flag.takes_value && !has_inline) {
      if (i + 1 >= args.size()) throw UsageError{name + " needs a value"};
      value = args[++i];
    }
    flag.apply(name, value, o);
    if (o.help || o.version) return o;  // the rest of the line does not matter
  }
  return o;
}

}  // namespace nsc
