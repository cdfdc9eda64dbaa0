// UTC days; see dates.h.
#include "common/dates.h"

#include <cstdio>
#include <ctime>

namespace kp {

Result<int64_t> parse_date_ms(const std::string& s) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  KP_ENSURE(s.size() == 10 && std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 &&
                s[4] == '-' && s[7] == '-',
            "usage", "bad date '" + s + "' (want YYYY-MM-DD)");
  KP_ENSURE(m >= 1 && m <= 12 && d >= 1 && d <= 31 && y >= 1970 && y <= 9999, "usage",
            "bad date '" + s + "'");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  std::time_t t = timegm(&tm);
  std::tm back{};
  gmtime_r(&t, &back);
  KP_ENSURE(back.tm_mday == d && back.tm_mon == m - 1, "usage", "no such date '" + s + "'");
  return static_cast<int64_t>(t) * 1000;
}

namespace {
std::tm utc_tm(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
}  // namespace

std::string format_utc(int64_t ms, const char* format) {
  std::tm tm = utc_tm(ms);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string format_day(int64_t ms) { return format_utc(ms, "%Y-%m-%d"); }

int utc_year(int64_t ms) { return utc_tm(ms).tm_year + 1900; }

std::string daily_reset_text(int64_t now_ms) {
  const int64_t left_min = (kDayMs - (now_ms % kDayMs) + 59999) / 60000;
  return "it resets at 00:00 UTC, in " + std::to_string(left_min / 60) + " h " + std::to_string(left_min % 60) +
         " min";
}

}  // namespace kp
