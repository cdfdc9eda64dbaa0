// The auditors' chart of successful transfers per UTC day per municipality:
// an inline SVG written on the server (no script, nothing fetched), one
// stacked bar per day, a colour and a legend entry per municipality, and a
// <title> on every segment giving day, municipality and count.
#pragma once

#include <string>
#include <vector>

#include "store/audit_queries.h"

namespace kp::gateway {

// At most this many days are drawn (the most recent ones).
inline constexpr int64_t kChartMaxDays = 92;

// The SVG for `counts` (ordered by day, as transfers_per_day returns
// them); a short note instead when there is nothing to draw.
std::string transfer_chart_svg(const std::vector<store::DayCount>& counts);

}  // namespace kp::gateway
