// The /healthz checks, their facts and serve's staff warning; see health.h.
#include "gateway/health.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace kp::gateway {

namespace {

std::string seconds_text(int64_t ms) { return std::to_string(ms / 1000) + " s"; }

}  // namespace

std::vector<FailedCheck> failing_checks(const HealthFacts& f, const Settings& s, int64_t now_ms) {
  std::vector<FailedCheck> out;
  const char* no_monitor = "unknown: the HTTP monitor did not answer";
  if (!f.records)
    out.push_back({"database", "the store does not answer a read (see http.* and store errors in the log)"});
  else if (f.host && !f.host->store_ok)
    out.push_back({"database", "the store does not answer the monitor's read (see the log)"});

  if (!f.host) {
    out.push_back({"disk", no_monitor});
  } else if (f.host->disk_free_bytes < static_cast<uint64_t>(s.health_min_free_bytes)) {
    out.push_back({"disk", std::to_string(f.host->disk_free_bytes) +
                               " bytes free on the data directory's file system, below health_min_free_bytes (" +
                               std::to_string(s.health_min_free_bytes) + ")"});
  }

  if (!f.host) {
    out.push_back({"workers", no_monitor});
  } else if (const ServeCounts& c = f.host->serve; c.workers_expected > 0) {
    if (c.workers_running < c.workers_expected)
      out.push_back({"workers", std::to_string(c.workers_running) + " of " + std::to_string(c.workers_expected) +
                                    " intake workers running"});
    else if (c.worker_restarts_recent > c.workers_expected)
      out.push_back({"workers", std::to_string(c.worker_restarts_recent) +
                                    " intake worker restarts in the last minute (crash loop? see worker.exited "
                                    "in the log)"});
  }

  if (f.records && f.records->staff_recipients == 0)
    out.push_back({"staff", "no staff member with an age recipient is registered; uploads wait in the inbox "
                            "without a verdict or receipt (knooppunt staff add)"});

  if (f.records && f.records->oldest_uncovered_ms) {
    const int64_t waited = now_ms - *f.records->oldest_uncovered_ms;
    if (waited > s.health_checkpoint_max_age_seconds * 1000)
      out.push_back({"checkpoint", std::to_string(f.records->log_size - f.records->checkpoint_size) +
                                       " transfer-log records have waited " + seconds_text(waited) +
                                       " for a signed checkpoint, more than health_checkpoint_max_age (" +
                                       format_duration(s.health_checkpoint_max_age_seconds) +
                                       "); do intake workers run?"});
  }
  return out;
}

HealthAnswer health_answer(const std::vector<FailedCheck>& failing) {
  if (failing.empty()) return {200, "ok\n"};
  HealthAnswer a{503, ""};
  for (const auto& f : failing) a.body += f.check + ": " + f.reason + "\n";
  return a;
}

HealthFacts gather_health(std::mutex& mu, store::Db& db, HttpMonitorClient& monitor) {
  HealthFacts f;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto records = store::read_health_records(db);
    if (records.ok()) f.records = *records;
  }
  auto host = monitor.status();
  if (host.ok()) f.host = *host;
  return f;
}

HostStatus probe_host(store::Db& db, const std::string& data_root, const ServeStatus* serve) {
  HostStatus h;
  h.store_ok = store::count_staff_recipients(db).ok();
  struct statvfs st {};
  if (::statvfs(data_root.c_str(), &st) == 0) {
    h.disk_free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    h.disk_size_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  } else {
    log::event("http.statvfs_failed", {{"error", std::strerror(errno)}});  // reads as 0 bytes free
  }
  if (serve) h.serve = serve->read();
  return h;
}

void StaffWarning::tick(store::Db& db, int64_t now_ms) {
  if (next_ms_ && now_ms < *next_ms_) return;
  next_ms_ = now_ms + interval_ms_;
  auto staff = store::count_staff_recipients(db);
  if (!staff.ok()) {
    log::event("serve.staff_check_failed", {{"error", staff.error().message()}});
    return;
  }
  if (*staff > 0) return;
  log::event("serve.no_staff_recipient",
             {{"level", "warning"},
              {"message", "no staff member with an age recipient is registered: uploads wait in the inbox "
                          "without a verdict or receipt until one is (knooppunt staff add)"}});
}

}  // namespace kp::gateway
