// The transfers chart; see transfer_chart.h.
#include "gateway/transfer_chart.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "common/dates.h"
#include "gateway/html.h"

namespace kp::gateway {

namespace {

constexpr int kColours = 8;  // .s0 .. .s7 in web_style.css

// Wide chart geometry (SVG user units = CSS pixels at natural size).
constexpr int kWidePlot = 1100, kWideHeight = 220, kWideLeft = 44, kWideRight = 12, kWideTop = 22,
              kWideBottom = 30;
// Narrow chart: one row per day.
constexpr int kNarrowWidth = 340, kNarrowLabel = 56, kNarrowTotal = 34, kRow = 22;

std::string num(int64_t v) {
  return std::to_string(v);
}

// A coordinate with one decimal.
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A round step for the y axis: 1, 2 or 5 times a power of ten, at most
// five steps up to `peak`.
int64_t nice_step(int64_t peak) {
  int64_t raw = std::max<int64_t>(1, (peak + 4) / 5);
  int64_t magnitude = 1;
  while (magnitude * 10 <= raw) magnitude *= 10;
  for (int64_t m : {1, 2, 5, 10})
    if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

struct Prepared {
  int64_t days = 0;
  std::map<int64_t, std::vector<const store::DayCount*>> by_day;  // day index -> its counts
  std::map<int64_t, int64_t> day_total;                           // day index -> total
  std::map<std::string, int64_t> muni_total;                      // code -> total
  std::map<std::string, int> colour;                              // code -> 0..kColours-1
  std::map<std::string, std::string> name;                        // code -> name
  int64_t total = 0, peak = 0;
};

Prepared prepare(const ChartSpec& s) {
  Prepared p;
  p.days = (s.period.last_ms - s.period.first_ms) / kDayMs + 1;
  int i = 0;
  for (const auto& m : s.municipalities) {
    p.colour[m.code] = i++ % kColours;
    p.name[m.code] = m.name.empty() ? m.code : m.name;
  }
  for (const auto& c : s.counts) {
    if (c.day_ms < s.period.first_ms || c.day_ms > s.period.last_ms || c.count <= 0) continue;
    int64_t d = (c.day_ms - s.period.first_ms) / kDayMs;
    p.by_day[d].push_back(&c);
    p.day_total[d] += c.count;
    p.muni_total[c.municipality] += c.count;
    p.total += c.count;
    if (!p.colour.count(c.municipality)) p.colour[c.municipality] = i++ % kColours;
    if (!p.name.count(c.municipality)) p.name[c.municipality] = c.municipality;
  }
  for (const auto& [d, t] : p.day_total) p.peak = std::max(p.peak, t);
  return p;
}

std::string bar_title(const Prepared& p, const store::DayCount& c) {
  return format_day(c.day_ms) + " \xC2\xB7 " + p.name.at(c.municipality) + " (" + c.municipality +
         "): " + num(c.count);
}

std::string bar_data(const store::DayCount& c) {
  return "data-day=\"" + format_day(c.day_ms) + "\" data-municipality=\"" +
         html::escape(c.municipality) + "\" data-count=\"" + num(c.count) + "\"";
}

std::string wide_svg(const ChartSpec& s, const Prepared& p) {
  const int width = kWideLeft + kWidePlot + kWideRight;
  const int height = kWideTop + kWideHeight + kWideBottom;
  const int base = kWideTop + kWideHeight;
  const double slot = static_cast<double>(kWidePlot) / static_cast<double>(p.days);
  const double bar = std::min(44.0, std::max(2.0, slot * 0.66));
  const int64_t step = nice_step(p.peak);
  const int64_t top = ((p.peak + step - 1) / step) * step;
  auto y_of = [&](int64_t v) { return base - static_cast<double>(v) * kWideHeight / top; };

  std::string out =
      "<svg id=\"chart\" class=\"chart chart-wide\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 " +
      num(width) + " " + num(height) + "\" width=\"" + num(width) + "\" height=\"" + num(height) +
      "\" role=\"img\" aria-label=\"" + html::escape(text(s.lang, Txt::chart_aria)) + "\">";
  for (int64_t v = 0; v <= top; v += step) {
    std::string y = fmt(y_of(v));
    out += "<line class=\"" + std::string(v == 0 ? "axis" : "grid") + "\" x1=\"" + num(kWideLeft) +
           "\" x2=\"" + num(kWideLeft + kWidePlot) + "\" y1=\"" + y + "\" y2=\"" + y + "\"/>";
    out += "<text class=\"tick\" x=\"" + num(kWideLeft - 8) + "\" y=\"" + fmt(y_of(v) + 4) +
           "\" text-anchor=\"end\">" + num(v) + "</text>";
  }
  // Label every k-th day, counted back from the last, so labels never collide.
  const int64_t every = std::max<int64_t>(1, static_cast<int64_t>(56.0 / slot + 0.999));
  for (int64_t d = 0; d < p.days; ++d) {
    const double cx = kWideLeft + slot * (static_cast<double>(d) + 0.5);
    const int64_t day_ms = s.period.first_ms + d * kDayMs;
    if ((p.days - 1 - d) % every == 0)
      out += "<text class=\"day\" data-day=\"" + format_day(day_ms) + "\" x=\"" + fmt(cx) +
             "\" y=\"" + num(base + 20) + "\" text-anchor=\"middle\">" +
             html::escape(chart_day_label(s.lang, day_ms)) + "</text>";
    auto it = p.by_day.find(d);
    if (it == p.by_day.end()) continue;
    int64_t below = 0;
    for (const store::DayCount* c : it->second) {
      const double y1 = y_of(below + c->count), y0 = y_of(below);
      below += c->count;
      out += "<rect class=\"bar s" + num(p.colour.at(c->municipality)) + "\" " + bar_data(*c) +
             " x=\"" + fmt(cx - bar / 2) + "\" y=\"" + fmt(y1) + "\" width=\"" + fmt(bar) +
             "\" height=\"" + fmt(std::max(1.0, y0 - y1)) + "\"><title>" +
             html::escape(bar_title(p, *c)) + "</title></rect>";
    }
    if (slot >= 16)
      out += "<text class=\"total\" x=\"" + fmt(cx) + "\" y=\"" + fmt(y_of(below) - 5) +
             "\" text-anchor=\"middle\">" + num(below) + "</text>";
  }
  return out + "</svg>";
}

std::string narrow_svg(const ChartSpec& s, const Prepared& p) {
  const int height = static_cast<int>(p.days) * kRow + 4;
  const int plot = kNarrowWidth - kNarrowLabel - kNarrowTotal;
  std::string out =
      "<svg id=\"chart-narrow\" class=\"chart chart-narrow\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 " +
      num(kNarrowWidth) + " " + num(height) + "\" width=\"" + num(kNarrowWidth) + "\" height=\"" +
      num(height) + "\" role=\"img\" aria-label=\"" + html::escape(text(s.lang, Txt::chart_aria)) +
      "\">";
  out += "<line class=\"axis\" x1=\"" + num(kNarrowLabel) + "\" x2=\"" + num(kNarrowLabel) +
         "\" y1=\"0\" y2=\"" + num(height) + "\"/>";
  for (int64_t d = 0; d < p.days; ++d) {
    const int64_t day_ms = s.period.first_ms + d * kDayMs;
    const int y = static_cast<int>(d) * kRow + 2;
    out += "<text class=\"day\" data-day=\"" + format_day(day_ms) + "\" x=\"" +
           num(kNarrowLabel - 6) + "\" y=\"" + num(y + 15) + "\" text-anchor=\"end\">" +
           html::escape(chart_day_label(s.lang, day_ms)) + "</text>";
    auto it = p.by_day.find(d);
    if (it == p.by_day.end()) continue;
    int64_t left = 0;
    for (const store::DayCount* c : it->second) {
      const int x0 = kNarrowLabel + static_cast<int>(left * plot / p.peak);
      left += c->count;
      const int x1 = kNarrowLabel + static_cast<int>(left * plot / p.peak);
      out += "<rect class=\"bar-n s" + num(p.colour.at(c->municipality)) + "\" " + bar_data(*c) +
             " x=\"" + num(x0) + "\" y=\"" + num(y + 3) + "\" width=\"" +
             num(std::max(1, x1 - x0)) + "\" height=\"" + num(kRow - 6) + "\"><title>" +
             html::escape(bar_title(p, *c)) + "</title></rect>";
    }
    out += "<text class=\"total\" x=\"" +
           num(kNarrowLabel + static_cast<int>(left * plot / p.peak) + 5) + "\" y=\"" +
           num(y + 15) + "\">" + num(left) + "</text>";
  }
  return out + "</svg>";
}

std::string full_day(Lang lang, int64_t day_ms) {
  return chart_day_label(lang, day_ms) + " " + format_utc(day_ms, "%Y");
}

}  // namespace

ChartPeriod chart_period(std::optional<int64_t> since_day, std::optional<int64_t> until_day,
                         const std::vector<store::DayCount>& counts, int64_t today_ms) {
  ChartPeriod p;
  p.last_ms = until_day ? *until_day : today_ms - today_ms % kDayMs;
  if (since_day) {
    p.first_ms = *since_day;
  } else {
    p.first_ms = p.last_ms - 6 * kDayMs;
    for (const auto& c : counts)
      if (c.day_ms <= p.last_ms) p.first_ms = std::min(p.first_ms, c.day_ms);
  }
  if (p.first_ms > p.last_ms) p.first_ms = p.last_ms;
  if ((p.last_ms - p.first_ms) / kDayMs + 1 > kChartMaxDays) {
    p.first_ms = p.last_ms - (kChartMaxDays - 1) * kDayMs;
    p.truncated = true;
  }
  return p;
}

std::string chart_day_label(Lang lang, int64_t day_ms) {
  const int month = std::stoi(format_utc(day_ms, "%m"));
  return std::to_string(std::stoi(format_utc(day_ms, "%d"))) + " " +
         std::string(text(lang, static_cast<Txt>(static_cast<int>(Txt::jan) + month - 1)));
}

std::string transfer_chart(const ChartSpec& s) {
  Prepared p = prepare(s);
  if (p.total == 0)
    return "<p id=\"chart-empty\" class=\"lead\">" + html::escape(text(s.lang, Txt::chart_empty)) +
           "</p>";
  const Lang l = s.lang;
  std::string out = "<p class=\"totals\" id=\"chart-totals\"><strong>" + num(p.total) +
                    "</strong> " + html::escape(text(l, Txt::transfers_total)) +
                    " &middot; <strong>" + num(static_cast<int64_t>(p.muni_total.size())) +
                    "</strong> " + html::escape(text(l, Txt::municipalities_count)) +
                    " &middot; <strong>" + num(p.days) + "</strong> " +
                    html::escape(text(l, Txt::days_count)) + "</p>\n";
  std::string caption = format_text(
      l, Txt::chart_caption,
      {num(p.total), s.what, full_day(l, s.period.first_ms), full_day(l, s.period.last_ms)});
  if (s.period.truncated)
    caption += " " + format_text(l, Txt::chart_truncated, {num(kChartMaxDays)});
  out += "<figure class=\"chart\"><figcaption id=\"chart-caption\">" + html::escape(caption) +
         "</figcaption>\n" + wide_svg(s, p) + "\n" + narrow_svg(s, p) +
         "\n<ul class=\"legend\" id=\"legend\">";
  for (const auto& [code, total] : p.muni_total)
    out += "<li data-municipality=\"" + html::escape(code) + "\"><span class=\"swatch s" +
           num(p.colour.at(code)) + "\"></span><span class=\"name\">" +
           html::escape(p.name.at(code)) + "</span> <span class=\"code\">" + html::escape(code) +
           "</span> <span class=\"count\">" + num(total) + "</span></li>";
  return out + "</ul></figure>";
}

}  // namespace kp::gateway
