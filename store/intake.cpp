// The intake queue; see intake.h.
#include "store/intake.h"

#include <cstdio>

namespace kp::store {

namespace {

// While it lives, commits skip the fsync (synchronous=NORMAL); for writes
// that need not survive power loss on their own. Restores FULL at the end.
class UnsyncedCommits {
 public:
  explicit UnsyncedCommits(Db& db) : db_(db), status_(db.run_script("PRAGMA synchronous=NORMAL")) {}
  ~UnsyncedCommits() { (void)db_.run_script("PRAGMA synchronous=FULL"); }
  const Status& status() const { return status_; }

 private:
  Db& db_;
  Status status_;
};

}  // namespace

Result<std::optional<Upload>> claim_upload(Db& db, int64_t pid, int64_t now_ms) {
  // A claim need not survive power loss (the upload is then simply claimed
  // again), so it commits without an fsync; verdicts keep synchronous=FULL.
  UnsyncedCommits unsynced(db);
  KP_GUARD(unsynced.status());
  // One statement: the row is claimed atomically even with many workers.
  KP_TRY(Stmt st, db.prepare(std::string(
      "UPDATE uploads SET state = 'processing', claim_pid = ?1, claimed_ms = ?2, attempts = attempts + 1 "
      "WHERE id = (SELECT id FROM uploads WHERE state = 'received' ORDER BY id LIMIT 1) RETURNING ") +
      kUploadColumns));
  st.bind(1, pid).bind(2, now_ms);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<Upload>();
  Upload u = read_upload(st);
  KP_GUARD(st.run());
  return std::optional<Upload>(std::move(u));
}

Result<int> release_dead_claims(Db& db, const std::function<bool(int64_t)>& alive) {
  KP_TRY(Stmt st, db.prepare("SELECT id, claim_pid FROM uploads WHERE state = 'processing'"));
  std::vector<std::pair<int64_t, int64_t>> dead;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) break;
    if (!alive(st.col_int(1))) dead.emplace_back(st.col_int(0), st.col_int(1));
  }
  for (const auto& [id, pid] : dead) {
    KP_TRY(Stmt up, db.prepare(
        "UPDATE uploads SET state = 'received', claim_pid = NULL WHERE id = ? AND state = 'processing' "
        "AND claim_pid = ?"));
    up.bind(1, id).bind(2, pid);
    KP_GUARD(up.run());
  }
  return static_cast<int>(dead.size());
}

Status record_verdict(Db& db, const Verdict& v, const std::vector<AuditEvent>& events,
                      const std::function<Status(int64_t log_index)>& before_commit) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt st, db.prepare(
      "UPDATE uploads SET state = ?, reason_code = ?, reason_text = ?, processed_ms = ? "
      "WHERE id = ? AND state = 'processing' AND claim_pid = ?"));
  int64_t now = events.empty() ? 0 : events.back().ts_ms;
  st.bind(1, v.accepted ? "accepted" : "rejected").bind(2, v.reason_code).bind(3, v.reason_text)
      .bind(4, now).bind(5, v.upload_id).bind(6, v.pid);
  KP_GUARD(st.run());
  KP_ENSURE(db.changes() == 1, "claim-lost", "upload " + std::to_string(v.upload_id) + " is no longer claimed by this worker");
  if (v.new_case) {
    const Case& c = *v.new_case;
    KP_TRY(Stmt cs, db.prepare(
        "INSERT INTO cases(id, upload_id, municipality, kind, in_reply_to, provider_kvk, provider_name, "
        "domain, score, score_parts, queue_name, state, created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    cs.bind(1, c.id).bind(2, c.upload_id).bind(3, c.municipality).bind(4, c.kind).bind(5, c.in_reply_to)
        .bind(6, c.provider_kvk).bind(7, c.provider_name).bind(8, c.domain).bind_double(9, c.score)
        .bind(10, c.score_parts).bind(11, c.queue_name).bind(12, c.state).bind(13, c.created_ms);
    KP_GUARD(cs.run());
  }
  int64_t last = 0;
  for (const auto& e : events) {
    KP_TRY(int64_t id, append_audit(db, e));
    last = id;
  }
  KP_GUARD(before_commit(last));
  return tx.commit();
}

Status insert_receipt(Db& db, int64_t upload_id, const std::string& json, const std::string& signature) {
  KP_TRY(Stmt st, db.prepare("INSERT INTO receipts(upload_id, json, signature) VALUES (?, ?, ?)"));
  st.bind(1, upload_id).bind(2, json).bind(3, signature);
  return st.run();
}

Result<std::vector<StoredReceipt>> unplaced_receipts(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT upload_id, json, signature FROM receipts WHERE placed = 0 ORDER BY upload_id"));
  std::vector<StoredReceipt> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back({st.col_int(0), st.col_text(1), st.col_text(2)});
  }
}

Result<std::optional<StoredReceipt>> receipt_of(Db& db, int64_t upload_id) {
  KP_TRY(Stmt st, db.prepare("SELECT upload_id, json, signature FROM receipts WHERE upload_id = ?"));
  st.bind(1, upload_id);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<StoredReceipt>();
  return std::optional<StoredReceipt>(StoredReceipt{st.col_int(0), st.col_text(1), st.col_text(2)});
}

Status mark_receipt_placed(Db& db, int64_t upload_id) {
  UnsyncedCommits unsynced(db);
  KP_GUARD(unsynced.status());
  KP_TRY(Stmt st, db.prepare("UPDATE receipts SET placed = 1 WHERE upload_id = ?"));
  st.bind(1, upload_id);
  return st.run();
}

Result<std::vector<KvkMatch>> other_reports_of(Db& db, const std::string& kvk,
                                               const std::string& municipality) {
  KP_TRY(Stmt st, db.prepare(
      "SELECT municipality, min(created_ms) FROM cases WHERE provider_kvk = ? AND municipality != ? "
      "GROUP BY municipality ORDER BY 2"));
  st.bind(1, kvk).bind(2, municipality);
  std::vector<KvkMatch> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back({st.col_text(0), st.col_int(1)});
  }
}

Result<std::string> next_case_id(Db& db, int year) {
  UnsyncedCommits unsynced(db);
  KP_GUARD(unsynced.status());
  KP_TRY(Stmt st, db.prepare(
      "INSERT INTO case_numbers(year, last) VALUES (?, 1) "
      "ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last"));
  st.bind(1, year);
  KP_TRY(bool row, st.step());
  KP_ENSURE(row, "store-failed", "no case number returned");
  int64_t n = st.col_int(0);
  KP_GUARD(st.run());
  char id[32];
  std::snprintf(id, sizeof id, "KP-%04d-%06lld", year, static_cast<long long>(n));
  return std::string(id);
}

Result<std::vector<Case>> list_cases(Db& db) {
  KP_TRY(Stmt st, db.prepare(
      "SELECT id, upload_id, municipality, kind, in_reply_to, provider_kvk, provider_name, domain, score, "
      "score_parts, queue_name, state, created_ms FROM cases ORDER BY score DESC, created_ms"));
  std::vector<Case> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
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
    out.push_back(std::move(c));
  }
}

Result<std::vector<Upload>> processed_uploads(Db& db) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kUploadColumns +
                             " FROM uploads WHERE state IN ('accepted', 'rejected') ORDER BY id"));
  std::vector<Upload> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_upload(st));
  }
}

}  // namespace kp::store
