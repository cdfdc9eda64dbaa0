// Storage of the transfer log's tree and checkpoints (SQL lives in store/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "common/result.h"
#include "store/audit_events.h"
#include "store/db.h"

namespace kp::store {

// The number of records (leaves) in the log.
Result<uint64_t> log_size(Db& db);

// A stored perfect-subtree hash. Error "audit-tree-damaged" when missing.
Result<merkle::Hash> tree_node(Db& db, unsigned level, uint64_t index);

// Every record in id order (one sequential scan of the table), for
// verification; columns as kAuditColumns, read rows with read_audit().
Result<Stmt> prepare_audit_scan(Db& db);

// The stored nodes of one tree level in index order (columns: idx, hash),
// for verification: one sequential range of the merkle_nodes B-tree.
Result<Stmt> prepare_tree_level(Db& db, unsigned level);

// Lets the connection read the database file through a memory map of up
// to `bytes` (PRAGMA mmap_size; 0 turns it off), which saves a read() and
// a copy per page on a full scan. Returns the previous limit.
Result<int64_t> set_mmap_size(Db& db, int64_t bytes);

// The highest level that has a stored node, or -1 when the tree is empty.
Result<int64_t> top_tree_level(Db& db);

struct StoredCheckpoint {
  uint64_t size = 0;
  merkle::Hash root{};
  std::string note;  // the signed note, verbatim
  int64_t ts_ms = 0;
};
Status insert_checkpoint(Db& db, const StoredCheckpoint& c);
Result<std::optional<StoredCheckpoint>> latest_checkpoint(Db& db);
Result<std::vector<StoredCheckpoint>> all_checkpoints(Db& db);
// The smallest checkpoint whose size is greater than `index`.
Result<std::optional<StoredCheckpoint>> checkpoint_covering(Db& db, uint64_t index);

// The stored nodes (level, first) .. (level, first + count - 1), their
// hashes concatenated (a tlog tile). Error "audit-tree-damaged" when one is
// missing.
Result<std::string> tree_node_run(Db& db, unsigned level, uint64_t first, uint64_t count);

// Records with index first .. first + count - 1 (index = id - 1), in order.
// Error "audit-record-missing" when one is missing.
Result<std::vector<AuditEvent>> audit_run(Db& db, uint64_t first, uint64_t count);

// Witness cosignatures of stored checkpoints (tlog-cosignature lines, each
// "— <name> <base64>\n"), one per witness and checkpoint size.
Status insert_cosignature(Db& db, uint64_t size, const std::string& witness, const std::string& line);
Result<std::vector<std::string>> cosignatures_of(Db& db, uint64_t size);
// The largest stored checkpoint with at least `quorum` cosignatures.
Result<std::optional<StoredCheckpoint>> latest_witnessed_checkpoint(Db& db, int64_t quorum);
// The size of the last checkpoint `witness` cosigned (0 when none).
Result<uint64_t> witness_size(Db& db, const std::string& witness);
Status set_witness_size(Db& db, const std::string& witness, uint64_t size);

}  // namespace kp::store
