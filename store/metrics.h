// What /metrics and /healthz read from the store (gateway/metrics.h,
// gateway/health.h). Every read costs the same with ten million uploads as
// with ten: counts come from per-day counters, partial indexes or the
// histogram table a trigger keeps (migrations 9, 12, 18, 19); what is read
// row by row is only what is waiting (the intake backlog, open cases).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

// (name, value) pairs of the counters: uploads_total, logins_total, ...
// (names without the knooppunt_ prefix).
Result<std::vector<std::pair<std::string, int64_t>>> read_metrics(Db& db);

// A value per municipality code (never a person: codes are public).
using ByMunicipality = std::vector<std::pair<std::string, int64_t>>;

// One histogram bucket: the observations whose value is at most le_ms and
// above the previous bucket's (not cumulative); the last is le_ms = INT64_MAX.
struct LatencyBucket {
  int64_t le_ms = 0;
  int64_t count = 0;
  int64_t sum_ms = 0;
};

struct StoreMetrics {
  ByMunicipality uploads;        // uploads ever received, every registered municipality
  ByMunicipality upload_bytes;   // their bytes
  ByMunicipality intake_waiting; // uploads received and not yet decided (received or processing)
  std::optional<int64_t> oldest_waiting_ms;  // received_ms of the oldest of those
  int64_t submissions_waiting = 0;           // staff submissions not yet processed
  int64_t cases_queued = 0, cases_taken = 0;
  std::vector<LatencyBucket> receipt_latency;  // upload committed -> verdict (and receipt) committed
};
Result<StoreMetrics> read_store_metrics(Db& db);

// What /healthz checks in the store.
struct HealthRecords {
  int64_t staff_recipients = 0;  // staff accounts, not disabled, with an age recipient
  uint64_t log_size = 0;         // records in the transfer log
  uint64_t checkpoint_size = 0;  // records the latest signed checkpoint covers
  std::optional<int64_t> checkpoint_ms;      // when it was signed (none yet: nullopt)
  std::optional<int64_t> oldest_uncovered_ms;  // time of the first record no checkpoint covers
};
Result<HealthRecords> read_health_records(Db& db);

// Staff accounts that are not disabled and have an age recipient (what
// intake reseals accepted packages to; none: uploads wait undecided).
Result<int64_t> count_staff_recipients(Db& db);

}  // namespace kp::store
