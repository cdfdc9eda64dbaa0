// Filtered audit reads; see audit_queries.h.
#include "store/audit_queries.h"

#include "common/dates.h"

namespace kp::store {

namespace {

// Parameters ?1..?5 of every query here, in this order.
constexpr const char* kWhere =
    " WHERE (?1 IS NULL OR municipality = ?1) AND (?2 IS NULL OR event = ?2) AND (?3 IS NULL OR "
    "outcome = ?3)"
    " AND (?4 IS NULL OR ts_ms >= ?4) AND (?5 IS NULL OR ts_ms < ?5)";

void bind_filter(Stmt& st, const AuditFilter& f) {
  st.bind(1, f.municipality)
      .bind(2, f.event)
      .bind(3, f.outcome)
      .bind(4, f.since_ms)
      .bind(5, f.until_ms);
}

}  // namespace

Result<std::vector<AuditEvent>> list_audit_filtered(Db& db, const AuditFilter& f, int64_t offset,
                                                    int64_t limit, bool newest_first) {
  KP_TRY(Stmt st,
         db.prepare(std::string("SELECT ") + kAuditColumns + " FROM audit_events" + kWhere +
                    (newest_first ? " ORDER BY id DESC" : " ORDER BY id") + " LIMIT ?6 OFFSET ?7"));
  bind_filter(st, f);
  st.bind(6, limit < 0 ? int64_t(-1) : limit).bind(7, offset < 0 ? int64_t(0) : offset);
  std::vector<AuditEvent> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_audit(st));
  }
}

Result<int64_t> count_audit(Db& db, const AuditFilter& f) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT count(*) FROM audit_events") + kWhere));
  bind_filter(st, f);
  KP_TRY(bool row, st.step());
  return row ? st.col_int(0) : 0;
}

Result<std::vector<DayCount>> transfers_per_day(Db& db, const AuditFilter& f) {
  KP_TRY(Stmt st,
         db.prepare(std::string("SELECT ts_ms / ?6, municipality, count(*) FROM audit_events") +
                    kWhere +
                    " AND municipality IS NOT NULL AND outcome = coalesce(?3, 'success')"
                    " AND event IN ('sftp.upload', 'sftp.download')"
                    " GROUP BY 1, 2 ORDER BY 1, 2"));
  bind_filter(st, f);
  st.bind(6, kDayMs);
  std::vector<DayCount> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(DayCount{st.col_int(0) * kDayMs, st.col_text(1), st.col_int(2)});
  }
}

Result<std::optional<int64_t>> first_audit_ms(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT min(ts_ms) FROM audit_events"));
  KP_TRY(bool row, st.step());
  if (!row || st.col_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(st.col_int(0));
}

}  // namespace kp::store
