// Audit event storage; see audit_events.h.
#include "store/audit_events.h"

#include "common/log.h"

namespace kp::store {

Result<int64_t> append_audit(Db& db, AuditEvent e) {
  if (e.ts_ms == 0) e.ts_ms = log::now_ms();
  KP_TRY(Stmt st, db.prepare(
      "INSERT INTO audit_events(ts_ms, event, outcome, actor, role, municipality, object, size, "
      "sha256, source, channel, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
  st.bind(1, e.ts_ms).bind(2, e.event).bind(3, e.outcome).bind(4, e.actor).bind(5, e.role)
      .bind(6, e.municipality).bind(7, e.object).bind(8, e.size).bind(9, e.sha256)
      .bind(10, e.source).bind(11, e.channel).bind(12, e.reason);
  KP_GUARD(st.run());
  return db.last_insert_rowid();
}

Result<std::vector<AuditEvent>> list_audit(Db& db, const std::optional<std::string>& event) {
  KP_TRY(Stmt st, db.prepare(
      "SELECT id, ts_ms, event, outcome, actor, role, municipality, object, size, sha256, source, "
      "channel, reason FROM audit_events WHERE (?1 IS NULL OR event = ?1) ORDER BY id"));
  st.bind(1, event);
  std::vector<AuditEvent> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    AuditEvent e;
    e.id = st.col_int(0);
    e.ts_ms = st.col_int(1);
    e.event = st.col_text(2);
    e.outcome = st.col_text(3);
    e.actor = st.col_opt_text(4);
    e.role = st.col_opt_text(5);
    e.municipality = st.col_opt_text(6);
    e.object = st.col_opt_text(7);
    e.size = st.col_opt_int(8);
    e.sha256 = st.col_opt_text(9);
    e.source = st.col_opt_text(10);
    e.channel = st.col_opt_text(11);
    e.reason = st.col_opt_text(12);
    out.push_back(std::move(e));
  }
}

Result<int64_t> count_failed_logins(Db& db, const std::string& source, int64_t since_ms) {
  KP_TRY(Stmt st, db.prepare(
      "SELECT count(*) FROM audit_events WHERE source = ? AND event = 'auth.login' "
      "AND outcome = 'refused' AND ts_ms >= ?"));
  st.bind(1, source).bind(2, since_ms);
  KP_TRY(bool row, st.step());
  return row ? st.col_int(0) : 0;
}

}  // namespace kp::store
