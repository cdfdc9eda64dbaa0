// The auditors' web tokens: only a hash per auditor is stored (see
// gateway/web_token.h for how it is made and compared).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

using TokenHash = std::array<uint8_t, 32>;

// Sets or replaces the token hash of `account`, which must be an auditor.
// Errors: "not-found" (no auditor of that id).
Status set_auditor_token(Db& db, const std::string& account, const TokenHash& hash, int64_t now_ms);

// The token hash of `account` when it is an auditor, not disabled, with a
// token set.
Result<std::optional<TokenHash>> auditor_token(Db& db, const std::string& account);

}  // namespace kp::store
