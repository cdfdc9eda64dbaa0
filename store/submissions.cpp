// Staff submissions; see submissions.h.
#include "store/submissions.h"

#include "store/claims.h"

namespace kp::store {

Result<int64_t> record_submission(Db& db, const Upload& s, AuditEvent audit) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt st, db.prepare("INSERT INTO submissions(submitter, name, partial_name, size, sha256, "
                             "received_ms) VALUES (?,?,?,?,?,?)"));
  st.bind(1, s.person)
      .bind(2, s.name)
      .bind(3, s.partial_name)
      .bind(4, s.size)
      .bind(5, s.sha256)
      .bind(6, s.received_ms);
  Status r = st.run();
  if (!r.ok() && r.error().code == "store-duplicate")
    return make_error("already-exists", s.name + " was uploaded before");
  KP_GUARD(r);
  int64_t id = db.last_insert_rowid();
  audit.object = "submission/" + std::to_string(id) + " " + s.name;
  KP_GUARD(append_audit(db, audit));
  KP_GUARD(tx.commit());
  return id;
}

Status delete_submission(Db& db, int64_t id) {
  KP_TRY(Stmt st, db.prepare("DELETE FROM submissions WHERE id = ?"));
  st.bind(1, id);
  return st.run();
}

Result<bool> submission_name_taken(Db& db, const std::string& name) {
  KP_TRY(Stmt st, db.prepare("SELECT 1 FROM submissions WHERE name = ?"));
  st.bind(1, name);
  return st.step();
}

Result<std::optional<Upload>> claim_submission(Db& db, int64_t pid, int64_t now_ms) {
  return claim_oldest(db, ClaimTable::submissions, pid, now_ms);
}

Result<int> release_dead_submission_claims(Db& db, const std::function<bool(int64_t)>& alive) {
  return release_dead(db, ClaimTable::submissions, alive);
}

Status record_submission_verdict(Db& db, int64_t id, int64_t pid, bool accepted,
                                 const std::string& reason_code, const std::string& reason_text,
                                 const std::vector<AuditEvent>& events,
                                 const std::function<Status(int64_t log_index)>& before_commit) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt st,
         db.prepare(
             "UPDATE submissions SET state = ?, reason_code = ?, reason_text = ?, processed_ms = ? "
             "WHERE id = ? AND state = 'processing' AND claim_pid = ?"));
  int64_t now = events.empty() ? 0 : events.back().ts_ms;
  st.bind(1, accepted ? "accepted" : "rejected")
      .bind(2, reason_code)
      .bind(3, reason_text)
      .bind(4, now)
      .bind(5, id)
      .bind(6, pid);
  KP_GUARD(st.run());
  KP_ENSURE(db.changes() == 1, "claim-lost",
            "submission " + std::to_string(id) + " is no longer claimed");
  int64_t last = 0;
  for (const auto& e : events) {
    KP_TRY(int64_t event_id, append_audit(db, e));
    last = event_id;
  }
  KP_GUARD(before_commit(last));
  return tx.commit();
}

Status set_submission_receipt(Db& db, int64_t id, const std::string& json,
                              const std::string& signature) {
  KP_TRY(Stmt st,
         db.prepare("UPDATE submissions SET receipt_json = ?, receipt_signature = ? WHERE id = ?"));
  st.bind(1, json).bind(2, signature).bind(3, id);
  return st.run();
}

Result<std::vector<SubmissionReceipt>> unplaced_submission_receipts(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT id, name, receipt_json, receipt_signature FROM submissions "
                             "WHERE receipt_json IS NOT NULL AND receipt_placed = 0 ORDER BY id"));
  std::vector<SubmissionReceipt> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back({st.col_int(0), st.col_text(1), st.col_text(2), st.col_text(3)});
  }
}

Status mark_submission_receipt_placed(Db& db, int64_t id) {
  KP_TRY(Stmt st, db.prepare("UPDATE submissions SET receipt_placed = 1 WHERE id = ?"));
  st.bind(1, id);
  return st.run();
}

Result<std::vector<Upload>> list_submissions(Db& db) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kSubmissionColumns + " FROM submissions ORDER BY id"));
  std::vector<Upload> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_upload(st));
  }
}

}  // namespace kp::store
