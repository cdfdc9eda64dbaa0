// Unit tests for gateway/metrics.h: the exposition format's details (HELP
// and TYPE before samples, escaped labels, cumulative buckets ending in
// +Inf) and which families appear.
#include "gateway/metrics.h"

#include <doctest/doctest.h>

#include <limits>

using namespace kp;
using namespace kp::gateway;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

MetricsFacts facts() {
  MetricsFacts f;
  f.counters = {{"logins_total", 3}, {"intake_retrying", 1}};
  f.store.uploads = {{"GM0363", 2}, {"GM0599", 0}};
  f.store.upload_bytes = {{"GM0363", 20}, {"GM0599", 0}};
  f.store.intake_waiting = {{"GM0363", 1}, {"GM0599", 0}};
  f.store.oldest_waiting_ms = 1000;
  f.store.receipt_latency = {
      {100, 1, 50}, {1000, 2, 1500}, {std::numeric_limits<int64_t>::max(), 1, 90000}};
  store::HealthRecords r;
  r.staff_recipients = 1;
  r.checkpoint_ms = 4000;
  f.health.records = r;
  return f;
}

}  // namespace

TEST_CASE("metrics: numbers and label values as the format writes them") {
  CHECK(format_number(0.1) == "0.1");
  CHECK(format_number(2.5) == "2.5");
  CHECK(format_number(3600) == "3600");
  CHECK(format_number(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  Exposition e;
  e.family("x_total", "counter", "Two\nlines.");
  e.sample("x_total", int64_t(5), {{"municipality", "GM0363"}, {"odd", "q\""}});
  CHECK(e.text() == "# HELP x_total Two lines.\n# TYPE x_total counter\nx_total{municipality=\"GM0363\",odd=\"q\\\"\"} 5\n");
}

TEST_CASE("metrics: the page has every family with HELP and TYPE, labelled by municipality code") {
  const std::string text = render_metrics(facts(), Settings{}, 11000);
  CHECK(has_line(text, "# TYPE knooppunt_uploads_total counter"));
  CHECK(has_line(text, "knooppunt_uploads_total{municipality=\"GM0363\"} 2"));
  CHECK(has_line(text, "knooppunt_uploads_total{municipality=\"GM0599\"} 0"));
  CHECK(has_line(text, "# TYPE knooppunt_logins_total counter"));
  CHECK(has_line(text, "# TYPE knooppunt_intake_retrying gauge"));
  CHECK(has_line(text, "knooppunt_intake_queue_depth{municipality=\"GM0363\"} 1"));
  CHECK(has_line(text, "knooppunt_intake_oldest_waiting_seconds 10"));
  CHECK(has_line(text, "knooppunt_checkpoint_age_seconds 7"));
  // Buckets cumulative, sum and count over all.
  CHECK(has_line(text, "# TYPE knooppunt_receipt_latency_seconds histogram"));
  CHECK(has_line(text, "knooppunt_receipt_latency_seconds_bucket{le=\"0.1\"} 1"));
  CHECK(has_line(text, "knooppunt_receipt_latency_seconds_bucket{le=\"1\"} 3"));
  CHECK(has_line(text, "knooppunt_receipt_latency_seconds_bucket{le=\"+Inf\"} 4"));
  CHECK(has_line(text, "knooppunt_receipt_latency_seconds_sum 91.55"));
  CHECK(has_line(text, "knooppunt_receipt_latency_seconds_count 4"));
  // No monitor answer: its families are left out, its checks fail.
  CHECK(text.find("knooppunt_disk_free_bytes") == std::string::npos);
  CHECK(has_line(text, "knooppunt_health_check{check=\"disk\"} 0"));
  CHECK(has_line(text, "knooppunt_health_check{check=\"staff\"} 1"));
  // Every sample's family was announced first.
  std::string announced;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) announced = line.substr(7, line.find(' ', 7) - 7);
    if (line.empty() || line[0] == '#') continue;
    CHECK_MESSAGE(line.rfind(announced, 0) == 0, line);
  }
}

TEST_CASE("metrics: the monitor's facts add disk, sessions and workers") {
  MetricsFacts f = facts();
  HostStatus h;
  h.store_ok = true;
  h.disk_free_bytes = 5ULL << 30;
  h.disk_size_bytes = 9ULL << 30;
  h.serve = {2, 2, 1, 0, 3, 2};
  f.health.host = h;
  const std::string text = render_metrics(f, Settings{}, 11000);
  CHECK(has_line(text, "knooppunt_disk_free_bytes 5368709120"));
  CHECK(has_line(text, "knooppunt_ssh_sessions 2"));
  CHECK(has_line(text, "knooppunt_ssh_connections 3"));
  CHECK(has_line(text, "knooppunt_workers_running 2"));
  CHECK(has_line(text, "knooppunt_worker_restarts_total 1"));
  CHECK(has_line(text, "knooppunt_health_check{check=\"disk\"} 1"));
}
