// Storage of the transfer log's tree and checkpoints (SQL lives in store/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "common/result.h"
#include "store/db.h"

namespace kp::store {

// The number of records (leaves) in the log.
Result<uint64_t> log_size(Db& db);

// A stored perfect-subtree hash. Error "audit-tree-damaged" when missing.
Result<merkle::Hash> tree_node(Db& db, unsigned level, uint64_t index);

// Every record in id order with its stored leaf hash as column 13 (NULL
// when missing), for verification; read rows with read_audit().
Result<Stmt> prepare_audit_with_leaves(Db& db);

// Every interior node with its two children's hashes (columns: level, idx,
// hash, left hash or NULL, right hash or NULL), for verification.
Result<Stmt> prepare_interior_nodes(Db& db);

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

}  // namespace kp::store
