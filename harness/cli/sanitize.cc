#include "sanitize.h"

#include "../text.h"

namespace nsc {

void SanitizeStrings(nlohmann::json& doc) {
  if (doc.is_string()) {
    const std::string& s = doc.get_ref<const std::string&>();
    std::string clean = SanitizeUtf8(s);
    if (clean != s) doc = std::move(clean);
  } else if (doc.is_array()) {
    for (auto& item : doc) SanitizeStrings(item);
  } else if (doc.is_object()) {
    bool bad_key = false;
    for (auto& [key, value] : doc.items()) {
      SanitizeStrings(value);
      bad_key = bad_key || SanitizeUtf8(key) != key;
    }
    if (bad_key) {
      nlohmann::json clean = nlohmann::json::object();
      for (auto& [key, value] : doc.items()) clean[SanitizeUtf8(key)] = std::move(value);
      doc = std::move(clean);
    }
  }
}

}  // namespace nsc
