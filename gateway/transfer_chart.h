// The auditors' chart of transfers per UTC day per municipality, written
// on the server as inline SVG (no script, nothing fetched, nothing inline
// the Content-Security-Policy would have to allow):
//
// - a wide chart (one stacked bar per day, days on the x axis with real
//   labels such as "7 dec", a y axis with round steps, the day's total on
//   top of its bar) and a narrow one for phones (one row per day, bars
//   running right); the stylesheet shows one of them;
// - one colour per municipality, fixed by its place among all registered
//   municipalities, so a filter never repaints one; the legend (HTML)
//   names each with its name, code and total;
// - every bar carries data-day, data-municipality and data-count and a
//   <title> (day, name, code, count).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/auditor_texts.h"
#include "store/audit_queries.h"
#include "store/registry.h"

namespace kp::gateway {

// At most this many days are drawn (the most recent of the period).
inline constexpr int64_t kChartMaxDays = 92;

// The days on the axis (00:00 UTC of the first and last, inclusive).
struct ChartPeriod {
  int64_t first_ms = 0, last_ms = 0;
  bool truncated = false;  // the period was longer than kChartMaxDays
};

// The axis for a selection: from `since` (else the first day with a
// transfer, and at least a week) to `until` (else today); the last
// kChartMaxDays days of it at most. Days are ms at 00:00 UTC.
ChartPeriod chart_period(std::optional<int64_t> since_day, std::optional<int64_t> until_day,
                         const std::vector<store::DayCount>& counts, int64_t today_ms);

struct ChartSpec {
  Lang lang = Lang::nl;
  ChartPeriod period;
  std::vector<store::DayCount> counts;              // ordered by day, then municipality
  std::vector<store::Municipality> municipalities;  // all registered, by code (the colours)
  std::string what;  // what is counted, e.g. "geslaagde uploads en downloads" (unescaped)
};

// The chart's HTML: totals, caption, both SVGs and the legend; a short
// note (id "chart-empty") when the period holds no transfer.
std::string transfer_chart(const ChartSpec& spec);

// "7 dec" / "7 Dec": a day as the chart's axis labels it.
std::string chart_day_label(Lang lang, int64_t day_ms);

}  // namespace kp::gateway
