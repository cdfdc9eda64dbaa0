// Cases; see cases.h.
#include "store/cases.h"

namespace kp::store {

namespace {

constexpr const char* kCaseColumns =
    "id, upload_id, municipality, kind, in_reply_to, provider_kvk, provider_name, domain, score, "
    "score_parts, "
    "queue_name, state, created_ms, state_ms, state_by, state_reason, taken_ms";

Case read_case(const Stmt& st) {
  Case c;
  c.id = st.col_text(0);
  c.upload_id = st.col_int(1);
  c.municipality = st.col_text(2);
  c.kind = st.col_text(3);
  c.in_reply_to = st.col_opt_text(4);
  c.provider_kvk = st.col_text(5);
  c.provider_name = st.col_text(6);
  c.domain = st.col_text(7);
  c.score = st.col_double(8);
  c.score_parts = st.col_text(9);
  c.queue_name = st.col_text(10);
  c.state = st.col_text(11);
  c.created_ms = st.col_int(12);
  c.state_ms = st.col_opt_int(13);
  c.state_by = st.col_opt_text(14);
  c.state_reason = st.col_opt_text(15);
  c.taken_ms = st.col_opt_int(16);
  return c;
}

Result<std::vector<Reply>> select_replies(Db& db, const std::optional<std::string>& case_id) {
  KP_TRY(
      Stmt st,
      db.prepare(std::string(
                     "SELECT upload_id, request_id, case_id, queue_name, created_ms FROM replies") +
                 (case_id ? " WHERE case_id = ?" : "") + " ORDER BY upload_id"));
  if (case_id) st.bind(1, *case_id);
  std::vector<Reply> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back({st.col_int(0), st.col_text(1), st.col_text(2), st.col_text(3), st.col_int(4)});
  }
}

}  // namespace

Result<std::vector<Case>> list_cases(Db& db) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kCaseColumns +
                             " FROM cases ORDER BY score DESC, created_ms"));
  std::vector<Case> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_case(st));
  }
}

Result<std::optional<Case>> find_case(Db& db, const std::string& id) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kCaseColumns + " FROM cases WHERE id = ?"));
  st.bind(1, id);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<Case>();
  return std::optional<Case>(read_case(st));
}

Status set_case_state(Db& db, const std::string& id, const std::string& from, const std::string& to,
                      const std::string& by, const std::optional<std::string>& reason,
                      int64_t now_ms) {
  KP_TRY(Stmt st,
         db.prepare("UPDATE cases SET state = ?1, state_ms = ?2, state_by = ?3, state_reason = ?4, "
                    "taken_ms = CASE WHEN ?1 = 'taken' THEN ?2 ELSE taken_ms END WHERE id = ?5 AND "
                    "state = ?6"));
  st.bind(1, to).bind(2, now_ms).bind(3, by).bind(4, reason).bind(5, id).bind(6, from);
  KP_GUARD(st.run());
  KP_ENSURE(db.changes() == 1, "case-state-changed", "case " + id + " is no longer " + from);
  return ok_status();
}

Result<int64_t> cases_taken_since(Db& db, int64_t since_ms) {
  KP_TRY(Stmt st, db.prepare("SELECT count(*) FROM cases WHERE taken_ms >= ?"));
  st.bind(1, since_ms);
  KP_TRY(bool row, st.step());
  return row ? st.col_int(0) : 0;
}

Status insert_reply(Db& db, const Reply& r) {
  KP_TRY(Stmt st, db.prepare("INSERT INTO replies(upload_id, request_id, case_id, queue_name, "
                             "created_ms) VALUES (?,?,?,?,?)"));
  st.bind(1, r.upload_id)
      .bind(2, r.request_id)
      .bind(3, r.case_id)
      .bind(4, r.queue_name)
      .bind(5, r.created_ms);
  return st.run();
}

Result<std::vector<Reply>> replies_of(Db& db, const std::string& case_id) {
  return select_replies(db, case_id);
}

Result<std::vector<Reply>> list_replies(Db& db) {
  return select_replies(db, std::nullopt);
}

Result<std::set<std::string>> decided_queue_files(Db& db) {
  KP_TRY(Stmt st, db.prepare(
                      "SELECT queue_name FROM cases WHERE state IN ('declined', 'closed') "
                      "UNION SELECT r.queue_name FROM replies r JOIN cases c ON c.id = r.case_id "
                      "WHERE c.state IN ('declined', 'closed')"));
  std::set<std::string> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) break;
    out.insert(st.col_text(0));
  }
  return out;
}

}  // namespace kp::store
