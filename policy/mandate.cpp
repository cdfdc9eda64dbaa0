// Mandate rule; see mandate.h.
#include "policy/mandate.h"

#include <vector>

namespace kp::policy {

std::optional<Level> parse_level(std::string_view s) {
  if (s == "EH1") return Level::EH1;
  if (s == "EH2") return Level::EH2;
  if (s == "EH2+") return Level::EH2Plus;
  if (s == "EH3") return Level::EH3;
  if (s == "EH4") return Level::EH4;
  return std::nullopt;
}

std::string level_name(Level l) {
  switch (l) {
    case Level::EH1: return "EH1";
    case Level::EH2: return "EH2";
    case Level::EH2Plus: return "EH2+";
    case Level::EH3: return "EH3";
    case Level::EH4: return "EH4";
  }
  return "EH1";
}

std::string_view scope_name(Scope s) { return s == Scope::upload ? "upload" : "download"; }

std::optional<std::string> normalise_scopes(std::string_view list) {
  bool up = false, down = false;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    std::string_view item = list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos);
    if (item == "upload" && !up) up = true;
    else if (item == "download" && !down) down = true;
    else return std::nullopt;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (up && down) return "upload,download";
  return up ? "upload" : "download";
}

bool has_scope(const Mandate& m, Scope s) {
  std::string_view want = scope_name(s);
  std::string_view all = m.scopes;
  std::size_t pos = 0;
  while (pos <= all.size()) {
    std::size_t comma = all.find(',', pos);
    if (all.substr(pos, comma == all.npos ? all.npos : comma - pos) == want) return true;
    if (comma == all.npos) break;
    pos = comma + 1;
  }
  return false;
}

Status check_mandate(const Mandate& m, int64_t now_ms, std::optional<Scope> scope) {
  KP_ENSURE(!m.revoked_ms, "mandate-revoked",
            "the mandate of " + m.person + " for " + m.municipality + " has been revoked");
  KP_ENSURE(now_ms >= m.valid_from_ms, "mandate-not-yet-valid",
            "the mandate of " + m.person + " for " + m.municipality + " is not valid yet");
  KP_ENSURE(!m.valid_until_ms || now_ms < *m.valid_until_ms, "mandate-expired",
            "the mandate of " + m.person + " for " + m.municipality + " has expired");
  auto level = parse_level(m.level);
  KP_ENSURE(level && *level >= kMinimumLevel, "mandate-level-too-low",
            "the mandate's assurance level " + m.level + " is below EH3");
  KP_ENSURE(has_scope(m, Scope::upload) || has_scope(m, Scope::download), "mandate-scope-missing",
            "the mandate grants neither upload nor download");
  if (scope)
    KP_ENSURE(has_scope(m, *scope), "mandate-scope-missing",
              "the mandate does not include " + std::string(scope_name(*scope)));
  return ok_status();
}

}  // namespace kp::policy
