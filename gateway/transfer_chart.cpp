// The transfers chart; see transfer_chart.h.
#include "gateway/transfer_chart.h"

#include <algorithm>
#include <map>

#include "common/dates.h"
#include "gateway/html.h"

namespace kp::gateway {

namespace {

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr int kBar = 14, kGap = 4, kHeight = 160, kLeft = 40, kTop = 10, kBottom = 40;

}  // namespace

std::string transfer_chart_svg(const std::vector<store::DayCount>& counts) {
  if (counts.empty()) return "<p id=\"chart-empty\">No transfers in this selection.</p>";
  int64_t last_day = counts.back().day_ms;
  int64_t first_day = std::max(counts.front().day_ms, last_day - (kChartMaxDays - 1) * kDayMs);
  std::map<std::string, std::size_t> colour;
  std::map<int64_t, int64_t> totals;
  for (const auto& c : counts) {
    if (c.day_ms < first_day) continue;
    colour.emplace(c.municipality, 0);
    totals[c.day_ms] += c.count;
  }
  std::size_t i = 0;
  for (auto& [m, idx] : colour) idx = i++ % std::size(kPalette);
  int64_t peak = 1;
  for (const auto& [day, total] : totals) peak = std::max(peak, total);
  int64_t days = (last_day - first_day) / kDayMs + 1;
  int width = kLeft + static_cast<int>(days) * (kBar + kGap) + 10;
  int height = kTop + kHeight + kBottom + 18 * static_cast<int>(colour.size());
  std::string out = "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(width) + "\" height=\"" + std::to_string(height) +
                    "\" role=\"img\" aria-label=\"transfers per day\">";
  out += "<text x=\"0\" y=\"" + std::to_string(kTop + 10) + "\" font-size=\"10\">" +
         std::to_string(peak) + "</text><text x=\"0\" y=\"" + std::to_string(kTop + kHeight) +
         "\" font-size=\"10\">0</text>";
  out += "<line x1=\"" + std::to_string(kLeft - 2) + "\" y1=\"" + std::to_string(kTop + kHeight) +
         "\" x2=\"" + std::to_string(width) + "\" y2=\"" + std::to_string(kTop + kHeight) +
         "\" stroke=\"#888\"/>";
  std::map<int64_t, int64_t> stacked;  // day -> count drawn so far
  for (const auto& c : counts) {
    if (c.day_ms < first_day) continue;
    int x = kLeft + static_cast<int>((c.day_ms - first_day) / kDayMs) * (kBar + kGap);
    int64_t below = stacked[c.day_ms];
    stacked[c.day_ms] += c.count;
    int y0 = kTop + kHeight - static_cast<int>(below * kHeight / peak);
    int y1 = kTop + kHeight - static_cast<int>(stacked[c.day_ms] * kHeight / peak);
    std::string label =
        format_day(c.day_ms) + " " + c.municipality + ": " + std::to_string(c.count);
    out += "<rect class=\"bar\" data-day=\"" + format_day(c.day_ms) + "\" data-municipality=\"" +
           html::escape(c.municipality) + "\" data-count=\"" + std::to_string(c.count) + "\" x=\"" +
           std::to_string(x) + "\" y=\"" + std::to_string(y1) + "\" width=\"" +
           std::to_string(kBar) + "\" height=\"" + std::to_string(std::max(1, y0 - y1)) +
           "\" fill=\"" + kPalette[colour[c.municipality]] + "\"><title>" + html::escape(label) +
           "</title></rect>";
  }
  int axis_y = kTop + kHeight + 14;
  out += "<text x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(axis_y) +
         "\" font-size=\"10\">" + format_day(first_day) + "</text>";
  if (days > 1)
    out += "<text x=\"" + std::to_string(width - 10) + "\" y=\"" + std::to_string(axis_y) +
           "\" font-size=\"10\" text-anchor=\"end\">" + format_day(last_day) + "</text>";
  int ly = kTop + kHeight + kBottom;
  for (const auto& [m, idx] : colour) {
    out += "<rect x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(ly - 10) +
           "\" width=\"10\" height=\"10\" fill=\"" + kPalette[idx] + "\"/><text x=\"" +
           std::to_string(kLeft + 14) + "\" y=\"" + std::to_string(ly) + "\" font-size=\"11\">" +
           html::escape(m) + "</text>";
    ly += 18;
  }
  return out + "</svg>";
}

}  // namespace kp::gateway
