// Claims; see claims.h.
#include "store/claims.h"

#include "store/submissions.h"

#include <string>
#include <utility>
#include <vector>

namespace kp::store {

namespace {

// Table names cannot be bound; they come from this fixed list only.
struct TableSql {
  const char* name;
  const char* columns;  // as read_upload() expects
  // ANDed to the state test so the query matches the table's index of
  // claimable rows (uploads: the partial index uploads_unpurged).
  const char* indexed;
};

TableSql sql_of(ClaimTable t) {
  if (t == ClaimTable::submissions)
    return {"submissions", kSubmissionColumns, "1"};
  return {"uploads", kUploadColumns, "purged_ms IS NULL"};
}

}  // namespace

Result<std::optional<Upload>> claim_oldest(Db& db, ClaimTable table, int64_t pid, int64_t now_ms) {
  // A claim need not survive power loss (the row is then simply claimed
  // again), so it commits without an fsync; verdicts keep synchronous=FULL.
  UnsyncedCommits unsynced(db);
  KP_GUARD(unsynced.status());
  const TableSql t = sql_of(table);
  // One statement: the row is claimed atomically even with many workers.
  KP_TRY(Stmt st,
         db.prepare(
             std::string("UPDATE ") + t.name +
             " SET state = 'processing', claim_pid = ?1, claimed_ms = ?2, attempts = attempts + 1 "
             "WHERE id = (SELECT id FROM " +
             t.name + " WHERE state = 'received' AND " + t.indexed +
             " AND (retry_after_ms IS NULL OR retry_after_ms <= ?2) ORDER BY id LIMIT 1) RETURNING " + t.columns));
  st.bind(1, pid).bind(2, now_ms);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<Upload>();
  Upload u = read_upload(st);
  KP_GUARD(st.run());
  return std::optional<Upload>(std::move(u));
}

Result<int64_t> attempts_of(Db& db, ClaimTable table, int64_t id) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT attempts FROM ") + sql_of(table).name + " WHERE id = ?"));
  st.bind(1, id);
  KP_TRY(bool row, st.step());
  KP_ENSURE(row, "not-found", "no row " + std::to_string(id));
  return st.col_int(0);
}

Status defer_claim(Db& db, ClaimTable table, int64_t id, int64_t pid, int64_t retry_at_ms, bool counted,
                   const std::string& error) {
  KP_TRY(Stmt st, db.prepare(std::string("UPDATE ") + sql_of(table).name +
                             " SET state = 'received', claim_pid = NULL, retry_after_ms = ?1, last_error = ?2, "
                             "attempts = attempts - ?3 WHERE id = ?4 AND state = 'processing' AND claim_pid = ?5"));
  st.bind(1, retry_at_ms).bind(2, error).bind(3, counted ? int64_t(0) : int64_t(1)).bind(4, id).bind(5, pid);
  KP_GUARD(st.run());
  KP_ENSURE(db.changes() == 1, "claim-lost", "row " + std::to_string(id) + " is no longer claimed by " +
                                                 std::to_string(pid));
  return ok_status();
}

Result<int> release_dead(Db& db, ClaimTable table, const std::function<bool(int64_t)>& alive) {
  const TableSql t = sql_of(table);
  return release_dead_claims(db, {t.name, "state", "processing", "received", t.indexed}, alive);
}

Result<int> release_dead_claims(Db& db, const ClaimColumns& c, const std::function<bool(int64_t)>& alive) {
  const std::string state = std::string(c.state);
  // Only the table and column names are spliced in (fixed strings of the
  // store); the state values are bound.
  KP_TRY(Stmt st, db.prepare("SELECT id, claim_pid FROM " + std::string(c.table) + " WHERE " + state +
                             " = ? AND " + c.filter));
  st.bind(1, c.claimed);
  std::vector<std::pair<int64_t, int64_t>> dead;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) break;
    if (!alive(st.col_int(1))) dead.emplace_back(st.col_int(0), st.col_int(1));
  }
  for (const auto& [id, pid] : dead) {
    KP_TRY(Stmt up, db.prepare("UPDATE " + std::string(c.table) + " SET " + state +
                               " = ?, claim_pid = NULL WHERE id = ? AND " + state + " = ? AND claim_pid = ?"));
    up.bind(1, c.released).bind(2, id).bind(3, c.claimed).bind(4, pid);
    KP_GUARD(up.run());
  }
  return static_cast<int>(dead.size());
}

}  // namespace kp::store
