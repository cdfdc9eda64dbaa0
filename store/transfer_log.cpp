// Transfer log storage; see transfer_log.h.
#include "store/transfer_log.h"

#include "store/audit_events.h"

namespace kp::store {

namespace {
Result<std::optional<StoredCheckpoint>> one_checkpoint(Stmt& st) {
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<StoredCheckpoint>();
  return std::optional<StoredCheckpoint>(
      StoredCheckpoint{static_cast<uint64_t>(st.col_int(0)), st.col_hash(1), st.col_text(2), st.col_int(3)});
}
}  // namespace

Result<Stmt> prepare_audit_with_leaves(Db& db) {
  return db.prepare(
      "SELECT e.id, e.ts_ms, e.event, e.outcome, e.actor, e.role, e.municipality, e.object, e.size, e.sha256, "
      "e.source, e.channel, e.reason, n.hash FROM audit_events e "
      "LEFT JOIN merkle_nodes n ON n.level = 0 AND n.idx = e.id - 1 ORDER BY e.id");
}

Result<Stmt> prepare_interior_nodes(Db& db) {
  return db.prepare(
      "SELECT c.level, c.idx, c.hash, l.hash, r.hash FROM merkle_nodes c "
      "LEFT JOIN merkle_nodes l ON l.level = c.level - 1 AND l.idx = 2 * c.idx "
      "LEFT JOIN merkle_nodes r ON r.level = c.level - 1 AND r.idx = 2 * c.idx + 1 "
      "WHERE c.level > 0");
}

Result<uint64_t> log_size(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT coalesce(max(id), 0) FROM audit_events"));
  KP_TRY(bool row, st.step());
  return static_cast<uint64_t>(row ? st.col_int(0) : 0);
}

Result<merkle::Hash> tree_node(Db& db, unsigned level, uint64_t index) {
  KP_TRY(Stmt st, db.prepare("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?"));
  st.bind(1, static_cast<int64_t>(level)).bind(2, static_cast<int64_t>(index));
  KP_TRY(bool row, st.step());
  KP_ENSURE(row, "audit-tree-damaged",
            "tree node " + std::to_string(level) + "/" + std::to_string(index) + " is missing");
  return st.col_hash(0);
}

Status insert_checkpoint(Db& db, const StoredCheckpoint& c) {
  KP_TRY(Stmt st, db.prepare("INSERT INTO checkpoints(size, root, note, ts_ms) VALUES (?, ?, ?, ?)"));
  st.bind(1, static_cast<int64_t>(c.size)).bind_blob(2, c.root.data(), c.root.size()).bind(3, c.note).bind(4, c.ts_ms);
  return st.run();
}

Result<std::optional<StoredCheckpoint>> latest_checkpoint(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT size, root, note, ts_ms FROM checkpoints ORDER BY size DESC LIMIT 1"));
  return one_checkpoint(st);
}

Result<std::vector<StoredCheckpoint>> all_checkpoints(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT size, root, note, ts_ms FROM checkpoints ORDER BY size"));
  std::vector<StoredCheckpoint> out;
  for (;;) {
    KP_TRY(auto c, one_checkpoint(st));
    if (!c) return out;
    out.push_back(std::move(*c));
  }
}

Result<std::optional<StoredCheckpoint>> checkpoint_covering(Db& db, uint64_t index) {
  KP_TRY(Stmt st, db.prepare("SELECT size, root, note, ts_ms FROM checkpoints WHERE size > ? ORDER BY size LIMIT 1"));
  st.bind(1, static_cast<int64_t>(index));
  return one_checkpoint(st);
}

}  // namespace kp::store
