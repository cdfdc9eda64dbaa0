// Audit event storage; see audit_events.h.
#include "store/audit_events.h"

#include "audit/merkle.h"
#include "audit/record.h"
#include "common/log.h"

namespace kp::store {

namespace {

// Appends leaf `index` to the stored tree: the leaf hash at level 0, then
// every perfect subtree it completes (one sibling read and one write per
// level; amortised O(1)).
Status append_leaf(Db& db, uint64_t index, const merkle::Hash& leaf) {
  KP_TRY(Stmt put, db.prepare("INSERT INTO merkle_nodes(level, idx, hash) VALUES (?, ?, ?)"));
  KP_TRY(Stmt get, db.prepare("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?"));
  merkle::Hash h = leaf;
  uint64_t idx = index;
  for (int64_t level = 0;; ++level) {
    put.reset();
    put.bind(1, level).bind(2, static_cast<int64_t>(idx)).bind_blob(3, h.data(), h.size());
    KP_GUARD(put.run());
    if ((idx & 1) == 0) return ok_status();
    get.reset();
    get.bind(1, level).bind(2, static_cast<int64_t>(idx - 1));
    KP_TRY(bool row, get.step());
    KP_ENSURE(row, "audit-tree-damaged", "missing node " + std::to_string(level) + "/" + std::to_string(idx - 1));
    merkle::Hash left = get.col_hash(0);
    h = merkle::node_hash(left, h);
    idx >>= 1;
  }
}

}  // namespace

Result<int64_t> append_audit(Db& db, AuditEvent e) {
  if (e.ts_ms == 0) e.ts_ms = log::now_ms();
  // The record and its tree nodes commit together: inside the caller's
  // transaction when there is one, else in a write transaction of its own.
  std::optional<Transaction> own;
  if (sqlite3_get_autocommit(db.raw())) {
    KP_TRY(Transaction tx, Transaction::begin(db));
    own.emplace(std::move(tx));
  }
  KP_TRY(Stmt st, db.prepare(
      "INSERT INTO audit_events(ts_ms, event, outcome, actor, role, municipality, object, size, "
      "sha256, source, channel, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
  st.bind(1, e.ts_ms).bind(2, e.event).bind(3, e.outcome).bind(4, e.actor).bind(5, e.role)
      .bind(6, e.municipality).bind(7, e.object).bind(8, e.size).bind(9, e.sha256)
      .bind(10, e.source).bind(11, e.channel).bind(12, e.reason);
  KP_GUARD(st.run());
  int64_t id = db.last_insert_rowid();
  e.id = id;
  uint64_t index = static_cast<uint64_t>(id - 1);
  KP_GUARD(append_leaf(db, index, merkle::leaf_hash(audit::canonical_record(e, index))));
  if (own) KP_GUARD(own->commit());
  return id;
}

Status audit_person_success(Db& db, const std::string& event, const std::string& person,
                            const std::optional<std::string>& municipality, const std::string& object,
                            const std::string& source) {
  AuditEvent e;
  e.event = event;
  e.outcome = "success";
  e.actor = person;
  e.role = "person";
  e.municipality = municipality;
  e.object = object;
  e.source = source;
  e.channel = "http";
  KP_TRY(int64_t id, append_audit(db, std::move(e)));
  (void)id;
  return ok_status();
}

Status rebuild_tree_leaves(Db& db) {
  KP_TRY(auto events, list_audit(db, std::nullopt));
  for (const auto& e : events) {
    uint64_t index = static_cast<uint64_t>(e.id - 1);
    KP_GUARD(append_leaf(db, index, merkle::leaf_hash(audit::canonical_record(e, index))));
  }
  return ok_status();
}

AuditEvent read_audit(const Stmt& st) {
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
  return e;
}

Result<std::vector<AuditEvent>> list_audit(Db& db, const std::optional<std::string>& event) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kAuditColumns +
                             " FROM audit_events WHERE (?1 IS NULL OR event = ?1) ORDER BY id"));
  st.bind(1, event);
  std::vector<AuditEvent> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_audit(st));
  }
}

}  // namespace kp::store
