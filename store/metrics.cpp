// Metrics and health queries; see metrics.h.
#include "store/metrics.h"

#include <map>

namespace kp::store {

namespace {

Result<int64_t> one_int(Db& db, const char* sql) {
  KP_TRY(Stmt st, db.prepare(sql));
  KP_TRY(bool row, st.step());
  return row ? st.col_int(0) : 0;
}

// Every registered municipality with `value` (0 where the query has no row),
// so a gauge drops to 0 instead of vanishing. Columns: code, value.
Result<ByMunicipality> by_municipality(Db& db, const std::vector<std::string>& codes, const char* sql, int column) {
  std::map<std::string, int64_t> found;
  KP_TRY(Stmt st, db.prepare(sql));
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) break;
    found[st.col_text(0)] = st.col_int(column);
  }
  ByMunicipality out;
  for (const auto& code : codes) {
    auto it = found.find(code);
    out.emplace_back(code, it == found.end() ? 0 : it->second);
  }
  return out;
}

}  // namespace

Result<std::vector<std::pair<std::string, int64_t>>> read_metrics(Db& db) {
  struct Query {
    const char* name;
    const char* sql;
  };
  // None of these reads a whole table: the audit counts go through the
  // partial index audit_counted, whose WHERE each repeats.
  static const Query kQueries[] = {
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
    KP_TRY(int64_t v, one_int(db, q.sql));
    out.emplace_back(q.name, v);
  }
  return out;
}

Result<StoreMetrics> read_store_metrics(Db& db) {
  StoreMetrics m;
  std::vector<std::string> codes;
  {
    KP_TRY(Stmt st, db.prepare("SELECT code FROM municipalities ORDER BY code"));
    for (;;) {
      KP_TRY(bool row, st.step());
      if (!row) break;
      codes.push_back(st.col_text(0));
    }
  }
  // Upload totals from the per-day counters (kept true by triggers on uploads).
  static const char* kTotals =
      "SELECT municipality, sum(files), sum(bytes) FROM upload_days GROUP BY municipality";
  KP_TRY(m.uploads, by_municipality(db, codes, kTotals, 1));
  KP_TRY(m.upload_bytes, by_municipality(db, codes, kTotals, 2));
  // The backlog, through uploads_unpurged (state, id): proportional to what waits.
  KP_TRY(m.intake_waiting,
         by_municipality(db, codes,
                         "SELECT municipality, count(*) FROM uploads WHERE state IN ('received', 'processing') "
                         "AND purged_ms IS NULL GROUP BY municipality",
                         1));
  {
    KP_TRY(Stmt st, db.prepare("SELECT min(received_ms) FROM uploads WHERE state IN ('received', 'processing') "
                               "AND purged_ms IS NULL"));
    KP_TRY(bool row, st.step());
    if (row && !st.col_null(0)) m.oldest_waiting_ms = st.col_int(0);
  }
  KP_TRY(m.submissions_waiting,
         one_int(db, "SELECT count(*) FROM submissions WHERE state IN ('received', 'processing')"));
  KP_TRY(m.cases_queued, one_int(db, "SELECT count(*) FROM cases WHERE state = 'queued' AND purged_ms IS NULL"));
  KP_TRY(m.cases_taken, one_int(db, "SELECT count(*) FROM cases WHERE state = 'taken' AND purged_ms IS NULL"));
  {
    KP_TRY(Stmt st, db.prepare("SELECT le_ms, count, sum_ms FROM receipt_latency ORDER BY le_ms"));
    for (;;) {
      KP_TRY(bool row, st.step());
      if (!row) break;
      m.receipt_latency.push_back({st.col_int(0), st.col_int(1), st.col_int(2)});
    }
  }
  return m;
}

Result<int64_t> count_staff_recipients(Db& db) {
  return one_int(db, "SELECT count(*) FROM accounts WHERE role = 'staff' AND disabled_ms IS NULL "
                     "AND recipient IS NOT NULL AND recipient <> ''");
}

Result<HealthRecords> read_health_records(Db& db) {
  HealthRecords h;
  KP_TRY(h.staff_recipients, count_staff_recipients(db));
  KP_TRY(int64_t size, one_int(db, "SELECT coalesce(max(id), 0) FROM audit_events"));  // ids are dense
  h.log_size = static_cast<uint64_t>(size);
  {
    KP_TRY(Stmt st, db.prepare("SELECT size, ts_ms FROM checkpoints ORDER BY size DESC LIMIT 1"));
    KP_TRY(bool row, st.step());
    if (row) {
      h.checkpoint_size = static_cast<uint64_t>(st.col_int(0));
      h.checkpoint_ms = st.col_int(1);
    }
  }
  if (h.log_size > h.checkpoint_size) {
    // Record index i is audit_events id i + 1.
    KP_TRY(Stmt st, db.prepare("SELECT ts_ms FROM audit_events WHERE id = ?"));
    st.bind(1, static_cast<int64_t>(h.checkpoint_size + 1));
    KP_TRY(bool row, st.step());
    if (row) h.oldest_uncovered_ms = st.col_int(0);
  }
  return h;
}

}  // namespace kp::store
