// Mandates (machtigingen): the rule that decides whether a person may act for
// a municipality right now, for a given scope.
//
// The rule is a pure function of the mandate row and the clock, so the
// gateway can apply it at login and again before every SFTP operation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kp::policy {

// eHerkenning assurance levels, in order. EH3 is the lowest accepted.
enum class Level { EH1 = 1, EH2, EH2Plus, EH3, EH4 };
std::optional<Level> parse_level(std::string_view s);
std::string level_name(Level l);
constexpr Level kMinimumLevel = Level::EH3;

enum class Scope { upload, download };
std::string_view scope_name(Scope s);

// Parses "upload,download" (either or both, no repeats, no spaces).
std::optional<std::string> normalise_scopes(std::string_view list);

struct Mandate {
  int64_t id = 0;
  std::string person;
  std::string municipality;
  std::string scopes;  // normalised, e.g. "upload,download"
  std::string level;   // "EH3"
  int64_t valid_from_ms = 0;
  std::optional<int64_t> valid_until_ms;  // exclusive; none = until revoked
  int64_t granted_ms = 0;
  std::optional<int64_t> activated_ms;
  std::optional<int64_t> revoked_ms;
};

// Checks that `m` is live at `now_ms` and grants `scope` (if given).
// Refusal codes: "mandate-revoked", "mandate-not-yet-valid", "mandate-expired",
// "mandate-level-too-low", "mandate-scope-missing".
Status check_mandate(const Mandate& m, int64_t now_ms, std::optional<Scope> scope);

bool has_scope(const Mandate& m, Scope s);

}  // namespace kp::policy
