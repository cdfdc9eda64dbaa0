// Per-source penalties, after OpenSSH 9.8's PerSourcePenalties: failures are
// counted per source block (common/address.h: an IPv4 address, an IPv6 /64)
// and `after_failures` of them within `window_ms` (counted from the first)
// ban the block. A ban lasts `ban_ms`, twice as long for each further ban of
// the same block, at most `max_ms`; a block quiet for `max_ms` after its
// last ban and failure is forgotten (its row goes). What a failure is, is
// the caller's: a connection that ended without authenticating (however
// many keys it offered), one past the login grace, a refused web login.
// Failures while banned are not counted: a ban never extends itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/settings.h"
#include "store/db.h"

namespace kp::store {

struct PenaltyRules {
  int64_t after_failures = 10;
  int64_t window_ms = 600'000;
  int64_t ban_ms = 600'000;
  int64_t max_ms = 86'400'000;
};

// The rules the settings give: ban_after_failures, ban_window_seconds,
// ban_seconds, ban_max_seconds.
PenaltyRules penalty_rules(const Settings& s);

struct Penalty {
  std::string block;
  int64_t failures = 0;         // in the window that started at window_start_ms
  int64_t window_start_ms = 0;
  int64_t banned_until_ms = 0;  // 0 = never banned
  int64_t bans = 0;             // bans so far (each doubles the next)
  int64_t last_ms = 0;          // last failure
  std::string reason;           // of the last failure
};

// When the ban of `block` ends, if it is banned at `now_ms`.
Result<std::optional<int64_t>> banned_until(Db& db, const std::string& block, int64_t now_ms);

// Counts one failure of `block` (`reason`, on `channel`: "ssh" or "http").
// Returns the ban's end when this failure started a ban; then the ban is an
// audit record (`source.banned`) in the same transaction.
Result<std::optional<int64_t>> add_failure(Db& db, const std::string& block, const std::string& reason,
                                           const std::string& channel, const PenaltyRules& rules,
                                           int64_t now_ms);

// Every block not yet forgotten, banned ones first, then by last failure.
Result<std::vector<Penalty>> list_penalties(Db& db, const PenaltyRules& rules, int64_t now_ms);

// Removes `block` (its ban, failures and ban count); the row it had, if any.
Result<std::optional<Penalty>> lift_penalty(Db& db, const std::string& block);

}  // namespace kp::store
