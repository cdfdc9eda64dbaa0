// /metrics in the Prometheus text exposition format (version 0.0.4): every
// family with its # HELP and # TYPE lines, counters named *_total, seconds
// and bytes as base units, one histogram (upload-to-receipt latency), and
// labels that are never personal data (a municipality code, a check's name,
// a case state; never a person's id or name). `promtool check metrics`
// accepts it (tests/integration/test_metrics.py).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/settings.h"
#include "gateway/health.h"
#include "store/metrics.h"

namespace kp::gateway {

// Writes the exposition text: family() once before a family's samples.
class Exposition {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string>>;
  // `type`: counter, gauge or histogram; `help` one line.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, int64_t value, const Labels& labels = {});
  void sample(std::string_view name, double value, const Labels& labels = {});
  const std::string& text() const { return out_; }

 private:
  void start(std::string_view name, const Labels& labels);
  std::string out_;
};

// A label value escaped for the format (backslash, double quote, newline).
std::string escape_label_value(std::string_view v);

// A number as the format writes it: the shortest exact decimal ("0.25",
// "3600"), "+Inf" for infinity.
std::string format_number(double v);

struct MetricsFacts {
  std::vector<std::pair<std::string, int64_t>> counters;  // store::read_metrics
  store::StoreMetrics store;
  HealthFacts health;  // records and host status (host absent: its families are left out)
};

// The whole page.
std::string render_metrics(const MetricsFacts& facts, const Settings& settings, int64_t now_ms);

// The HTTP process's side: reads the store (holding `mu`), then asks the
// monitor. Error "store-failed" when the store cannot be read.
Result<MetricsFacts> gather_metrics(std::mutex& mu, store::Db& db, HttpMonitorClient& monitor);

}  // namespace kp::gateway
