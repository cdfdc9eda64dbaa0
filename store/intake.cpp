// The intake queue; see intake.h.
#include "store/intake.h"

#include <cstdio>

#include "common/log.h"
#include "store/claims.h"

namespace kp::store {


Result<std::optional<Upload>> claim_upload(Db& db, int64_t pid, int64_t now_ms) {
  return claim_oldest(db, ClaimTable::uploads, pid, now_ms);
}

Result<int> release_dead_claims(Db& db, const std::function<bool(int64_t)>& alive) {
  return release_dead(db, ClaimTable::uploads, alive);
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
  Status s = st.run();
  if (s.ok()) {
    KP_TRY(Stmt item, db.prepare(
        "UPDATE outbox_items SET placed_ms = ? WHERE upload_id = ? AND kind = 'receipt' AND placed_ms IS NULL"));
    item.bind(1, static_cast<int64_t>(log::now_ms())).bind(2, upload_id);
    s = item.run();
  }
  return s;
}

Result<std::vector<ReceiptToWitness>> receipts_to_witness(Db& db, uint64_t size, int limit) {
  KP_TRY(Stmt st, db.prepare(
                      "SELECT r.upload_id, json_extract(r.json, '$.log_index') AS li, u.municipality, u.name "
                      "FROM receipts r JOIN uploads u ON u.id = r.upload_id "
                      "WHERE r.witnessed_size IS NULL AND r.placed = 1 AND li IS NOT NULL AND li < ? "
                      "ORDER BY r.upload_id LIMIT ?"));
  st.bind(1, static_cast<int64_t>(size)).bind(2, static_cast<int64_t>(limit));
  std::vector<ReceiptToWitness> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back({st.col_int(0), static_cast<uint64_t>(st.col_int(1)), st.col_text(2), st.col_text(3)});
  }
}

Status mark_receipt_witnessed(Db& db, int64_t upload_id, uint64_t size) {
  UnsyncedCommits unsynced(db);
  KP_GUARD(unsynced.status());
  KP_TRY(Stmt st, db.prepare("UPDATE receipts SET witnessed_size = ? WHERE upload_id = ?"));
  st.bind(1, static_cast<int64_t>(size)).bind(2, upload_id);
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
