// UTC calendar days as the operator and the auditors write them
// (YYYY-MM-DD): the CLI's --since/--until/--from, the auditors' page's
// period filters and the names of the daily log exports.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace kp {

inline constexpr int64_t kDayMs = 86400000;

// Parses YYYY-MM-DD (1970..9999, a real date); returns ms at 00:00 UTC of
// that day. Error "usage" naming the text.
Result<int64_t> parse_date_ms(const std::string& s);

// The UTC time `ms` formatted by strftime's `format`.
std::string format_utc(int64_t ms, const char* format);
// The UTC day of `ms` as YYYY-MM-DD.
std::string format_day(int64_t ms);
// The UTC calendar year of `ms`.
int utc_year(int64_t ms);

// When a per-UTC-day limit reached at `now_ms` resets, for a refusal:
// "it resets at 00:00 UTC, in 3 h 12 min".
std::string daily_reset_text(int64_t now_ms);

}  // namespace kp
