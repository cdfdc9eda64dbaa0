// A JSON object as an ordered list of top-level members (key, raw JSON), for
// the manifest tests: start from a valid document, then replace, drop or add
// one member and keep the rest valid. Values are raw JSON on purpose, so a
// test can put in anything (a number in quotes, a float, bad UTF-8).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kp::testing {

struct JsonDoc {
  std::vector<std::pair<std::string, std::string>> members;

  // Replaces the member `key`, or appends it when absent.
  JsonDoc& set(const std::string& key, std::string raw) {
    for (auto& [k, v] : members)
      if (k == key) {
        v = std::move(raw);
        return *this;
      }
    members.emplace_back(key, std::move(raw));
    return *this;
  }
  JsonDoc& drop(const std::string& key) {
    std::erase_if(members, [&](const auto& m) { return m.first == key; });
    return *this;
  }
  std::string json() const {
    std::string out = "{";
    for (const auto& [k, v] : members) {
      if (out.size() > 1) out += ",\n ";
      out += "\"" + k + "\": " + v;
    }
    return out + "}";
  }
};

}  // namespace kp::testing
