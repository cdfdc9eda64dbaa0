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

Result<Stmt> prepare_audit_scan(Db& db) {
  return db.prepare(std::string("SELECT ") + kAuditColumns + " FROM audit_events ORDER BY id");
}

Result<Stmt> prepare_tree_level(Db& db, unsigned level) {
  KP_TRY(Stmt st, db.prepare("SELECT idx, hash FROM merkle_nodes WHERE level = ? ORDER BY idx"));
  st.bind(1, static_cast<int64_t>(level));
  return st;
}

Result<int64_t> set_mmap_size(Db& db, int64_t bytes) {
  KP_TRY(Stmt get, db.prepare("PRAGMA mmap_size"));
  KP_TRY(bool row, get.step());
  const int64_t previous = row ? get.col_int(0) : 0;
  // A PRAGMA takes no bound parameters; the value is a number formatted here.
  KP_TRY(Stmt set, db.prepare("PRAGMA mmap_size = " + std::to_string(bytes)));
  KP_TRY(bool ignored, set.step());
  (void)ignored;
  return previous;
}

Result<int64_t> top_tree_level(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT coalesce(max(level), -1) FROM merkle_nodes"));
  KP_TRY(bool row, st.step());
  return row ? st.col_int(0) : -1;
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

Result<std::string> tree_node_run(Db& db, unsigned level, uint64_t first, uint64_t count) {
  KP_TRY(Stmt st, db.prepare("SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"));
  st.bind(1, static_cast<int64_t>(level)).bind(2, static_cast<int64_t>(first)).bind(3, static_cast<int64_t>(first + count));
  std::string out;
  out.reserve(count * 32);
  for (uint64_t want = first; want < first + count; ++want) {
    KP_TRY(bool row, st.step());
    KP_ENSURE(row && static_cast<uint64_t>(st.col_int(0)) == want, "audit-tree-damaged",
              "tree node " + std::to_string(level) + "/" + std::to_string(want) + " is missing");
    auto h = st.col_hash(1);
    out.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  return out;
}

Result<std::vector<AuditEvent>> audit_run(Db& db, uint64_t first, uint64_t count) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kAuditColumns + " FROM audit_events WHERE id > ? AND id <= ? ORDER BY id"));
  st.bind(1, static_cast<int64_t>(first)).bind(2, static_cast<int64_t>(first + count));
  std::vector<AuditEvent> out;
  for (uint64_t want = first; want < first + count; ++want) {
    KP_TRY(bool row, st.step());
    KP_ENSURE(row && static_cast<uint64_t>(st.col_int(0)) == want + 1, "audit-record-missing",
              "record " + std::to_string(want) + " is missing");
    out.push_back(read_audit(st));
  }
  return out;
}

Status insert_cosignature(Db& db, uint64_t size, const std::string& witness, const std::string& line) {
  KP_TRY(Stmt st, db.prepare("INSERT OR REPLACE INTO checkpoint_cosignatures(size, witness, line) VALUES (?, ?, ?)"));
  st.bind(1, static_cast<int64_t>(size)).bind(2, witness).bind(3, line);
  return st.run();
}

Result<std::vector<std::string>> cosignatures_of(Db& db, uint64_t size) {
  KP_TRY(Stmt st, db.prepare("SELECT line FROM checkpoint_cosignatures WHERE size = ? ORDER BY witness"));
  st.bind(1, static_cast<int64_t>(size));
  std::vector<std::string> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(st.col_text(0));
  }
}

Result<std::optional<StoredCheckpoint>> latest_witnessed_checkpoint(Db& db, int64_t quorum) {
  KP_TRY(Stmt st, db.prepare(
                      "SELECT size, root, note, ts_ms FROM checkpoints c WHERE (SELECT count(*) FROM "
                      "checkpoint_cosignatures w WHERE w.size = c.size) >= ? ORDER BY size DESC LIMIT 1"));
  st.bind(1, quorum);
  return one_checkpoint(st);
}

Result<uint64_t> witness_size(Db& db, const std::string& witness) {
  KP_TRY(Stmt st, db.prepare("SELECT size FROM witness_state WHERE witness = ?"));
  st.bind(1, witness);
  KP_TRY(bool row, st.step());
  return row ? static_cast<uint64_t>(st.col_int(0)) : uint64_t{0};
}

Status set_witness_size(Db& db, const std::string& witness, uint64_t size) {
  KP_TRY(Stmt st, db.prepare("INSERT INTO witness_state(witness, size) VALUES (?, ?) "
                             "ON CONFLICT(witness) DO UPDATE SET size = excluded.size"));
  st.bind(1, witness).bind(2, static_cast<int64_t>(size));
  return st.run();
}

}  // namespace kp::store
