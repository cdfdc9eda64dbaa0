// The /metrics page; see metrics.h.
#include "gateway/metrics.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace kp::gateway {

namespace {

struct Described {
  const char* name;  // as store::read_metrics names it
  const char* type;
  const char* help;
};

constexpr Described kStoreCounters[] = {
    {"logins_total", "counter", "SSH logins that succeeded."},
    {"logins_refused_total", "counter",
     "SSH login attempts refused (each refused key offer, with its reason in the transfer log)."},
    {"limit_hits_total", "counter", "Requests refused by a limit (files or bytes per day, handles, sessions)."},
    {"intake_failed_total", "counter", "Uploads rejected as intake-failed after intake_max_attempts failed attempts."},
    {"intake_retrying", "gauge", "Uploads waiting for another attempt after a failed one."},
    {"audit_events_total", "counter", "Records appended to the transfer log."},
};

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) out_ += c == '\n' ? ' ' : c;  // our own one-line texts; never a second line
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::start(std::string_view name, const Labels& labels) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void Exposition::sample(std::string_view name, int64_t value, const Labels& labels) {
  start(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

void Exposition::sample(std::string_view name, double value, const Labels& labels) {
  start(name, labels);
  out_ += format_number(value);
  out_ += '\n';
}

std::string render_metrics(const MetricsFacts& f, const Settings& settings, int64_t now_ms) {
  Exposition e;
  auto per_municipality = [&](std::string_view name, const char* type, const char* help,
                              const store::ByMunicipality& values) {
    e.family(name, type, help);
    for (const auto& [code, v] : values) e.sample(name, v, {{"municipality", code}});
  };
  per_municipality("knooppunt_uploads_total", "counter", "Uploads received (committed to the inbox), per municipality.",
                   f.store.uploads);
  per_municipality("knooppunt_upload_bytes_total", "counter", "Bytes of the uploads received, per municipality.",
                   f.store.upload_bytes);
  for (const auto& [name, value] : f.counters) {
    const Described* d = nullptr;
    for (const auto& c : kStoreCounters)
      if (name == c.name) d = &c;
    const std::string full = "knooppunt_" + name;
    e.family(full, d ? d->type : "gauge", d ? d->help : "A count from the store.");
    e.sample(full, value);
  }

  per_municipality("knooppunt_intake_queue_depth", "gauge",
                   "Uploads received and not yet decided (no verdict, no receipt yet), per municipality.",
                   f.store.intake_waiting);
  e.family("knooppunt_intake_oldest_waiting_seconds", "gauge",
           "Age of the oldest upload not yet decided (0 when none waits).");
  e.sample("knooppunt_intake_oldest_waiting_seconds",
           f.store.oldest_waiting_ms ? seconds(std::max<int64_t>(0, now_ms - *f.store.oldest_waiting_ms)) : 0.0);
  e.family("knooppunt_submissions_waiting", "gauge",
           "Staff submissions (SIPs, enrichment requests) not yet processed.");
  e.sample("knooppunt_submissions_waiting", f.store.submissions_waiting);
  e.family("knooppunt_cases_open", "gauge", "Cases in the hub's queue, by state.");
  e.sample("knooppunt_cases_open", f.store.cases_queued, {{"state", "queued"}});
  e.sample("knooppunt_cases_open", f.store.cases_taken, {{"state", "taken"}});

  // The histogram: buckets cumulative, as the format wants them.
  e.family("knooppunt_receipt_latency_seconds", "histogram",
           "Time from an upload's commit to the commit of its verdict and receipt.");
  int64_t cumulative = 0, sum_ms = 0;
  bool inf_seen = false;
  for (const auto& b : f.store.receipt_latency) {
    cumulative += b.count;
    sum_ms += b.sum_ms;
    const bool inf = b.le_ms == std::numeric_limits<int64_t>::max();
    inf_seen = inf_seen || inf;
    e.sample("knooppunt_receipt_latency_seconds_bucket", cumulative,
             {{"le", inf ? "+Inf" : format_number(seconds(b.le_ms))}});
  }
  if (!inf_seen) e.sample("knooppunt_receipt_latency_seconds_bucket", cumulative, {{"le", "+Inf"}});
  e.sample("knooppunt_receipt_latency_seconds_sum", seconds(sum_ms));
  e.sample("knooppunt_receipt_latency_seconds_count", cumulative);

  if (const auto& r = f.health.records) {
    e.family("knooppunt_staff_recipients", "gauge", "Staff members (not disabled) with an age recipient.");
    e.sample("knooppunt_staff_recipients", r->staff_recipients);
    e.family("knooppunt_log_records", "gauge", "Records in the transfer log.");
    e.sample("knooppunt_log_records", static_cast<int64_t>(r->log_size));
    e.family("knooppunt_checkpoint_records", "gauge", "Records the latest signed checkpoint covers.");
    e.sample("knooppunt_checkpoint_records", static_cast<int64_t>(r->checkpoint_size));
    if (r->checkpoint_ms) {
      e.family("knooppunt_checkpoint_age_seconds", "gauge", "Time since the latest checkpoint was signed.");
      e.sample("knooppunt_checkpoint_age_seconds", seconds(std::max<int64_t>(0, now_ms - *r->checkpoint_ms)));
    }
  }
  if (const auto& h = f.health.host) {
    e.family("knooppunt_disk_free_bytes", "gauge",
             "Free space (available to unprivileged users) on the data directory's file system.");
    e.sample("knooppunt_disk_free_bytes", static_cast<int64_t>(h->disk_free_bytes));
    e.family("knooppunt_disk_size_bytes", "gauge", "Size of the data directory's file system.");
    e.sample("knooppunt_disk_size_bytes", static_cast<int64_t>(h->disk_size_bytes));
    e.family("knooppunt_ssh_connections", "gauge", "SSH connections open now (authenticated or not).");
    e.sample("knooppunt_ssh_connections", h->serve.connections);
    e.family("knooppunt_ssh_sessions", "gauge", "SSH connections open now whose user authenticated.");
    e.sample("knooppunt_ssh_sessions", h->serve.sessions);
    e.family("knooppunt_workers_expected", "gauge", "Intake workers serve runs (the workers setting).");
    e.sample("knooppunt_workers_expected", h->serve.workers_expected);
    e.family("knooppunt_workers_running", "gauge", "Intake workers running now.");
    e.sample("knooppunt_workers_running", h->serve.workers_running);
    e.family("knooppunt_worker_restarts_total", "counter",
             "Intake workers restarted after they exited, since serve started.");
    e.sample("knooppunt_worker_restarts_total", h->serve.worker_restarts);
  }

  // The /healthz checks, 1 passing and 0 failing, to alert on.
  const auto failing = failing_checks(f.health, settings, now_ms);
  e.family("knooppunt_health_check", "gauge", "1 when the /healthz check passes, 0 when it fails.");
  for (const char* check : kHealthChecks) {
    bool failed = false;
    for (const auto& x : failing) failed = failed || x.check == check;
    e.sample("knooppunt_health_check", int64_t(failed ? 0 : 1), {{"check", check}});
  }
  return e.text();
}

Result<MetricsFacts> gather_metrics(std::mutex& mu, store::Db& db, HttpMonitorClient& monitor) {
  MetricsFacts f;
  {
    std::lock_guard<std::mutex> lock(mu);
    KP_TRY(f.counters, store::read_metrics(db));
    KP_TRY(f.store, store::read_store_metrics(db));
    KP_TRY(f.health.records, store::read_health_records(db));
  }
  auto host = monitor.status();
  if (host.ok()) f.health.host = *host;
  return f;
}

}  // namespace kp::gateway
