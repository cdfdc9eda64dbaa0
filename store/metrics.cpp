// Metrics queries; see metrics.h.
#include "store/metrics.h"

namespace kp::store {

Result<std::vector<std::pair<std::string, int64_t>>> read_metrics(Db& db) {
  struct Query {
    const char* name;
    const char* sql;
  };
  // None of these reads a whole table: a scrape must cost the same with
  // ten million uploads as with ten. Upload totals come from the per-day
  // counters (kept true by triggers on uploads); the audit counts go
  // through the partial index audit_counted, whose WHERE each repeats.
  static const Query kQueries[] = {
      {"uploads_total", "SELECT coalesce(sum(files), 0) FROM upload_days"},
      {"upload_bytes_total", "SELECT coalesce(sum(bytes), 0) FROM upload_days"},
      {"logins_total", "SELECT count(*) FROM audit_events WHERE event IN ('auth.login', 'limit.hit') "
                      "AND event = 'auth.login' AND outcome = 'success'"},
      {"logins_refused_total", "SELECT count(*) FROM audit_events WHERE event IN ('auth.login', 'limit.hit') "
                      "AND event = 'auth.login' AND outcome = 'refused'"},
      {"limit_hits_total", "SELECT count(*) FROM audit_events WHERE event IN ('auth.login', 'limit.hit') "
                      "AND event = 'limit.hit'"},
      // Uploads given up after intake_max_attempts (rejected intake-failed),
      // and uploads waiting for a retry after a failed attempt.
      {"intake_failed_total", "SELECT count(*) FROM uploads WHERE reason_code = 'intake-failed'"},
      {"intake_retrying", "SELECT count(*) FROM uploads WHERE state = 'received' AND retry_after_ms IS NOT NULL"},
      {"audit_events_total", "SELECT coalesce(max(id), 0) FROM audit_events"},  // ids are dense
  };

  std::vector<std::pair<std::string, int64_t>> out;
  for (const Query& q : kQueries) {
    KP_TRY(Stmt st, db.prepare(q.sql));
    KP_TRY(bool row, st.step());
    out.emplace_back(q.name, row ? st.col_int(0) : 0);
  }
  return out;
}

}  // namespace kp::store
