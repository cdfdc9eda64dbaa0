// The transfer log; see log.h.
#include "audit/log.h"

#include "audit/record.h"
#include "common/log.h"
#include "store/audit_events.h"

namespace kp::audit {

namespace {

class StoreSource final : public merkle::HashSource {
 public:
  explicit StoreSource(store::Db& db) : db_(db) {}
  Result<merkle::Hash> perfect(unsigned level, uint64_t index) override { return store::tree_node(db_, level, index); }

 private:
  store::Db& db_;
};

}  // namespace

Result<merkle::Hash> root_at(store::Db& db, uint64_t size) {
  StoreSource src(db);
  return merkle::tree_root(src, size);
}

Result<store::StoredCheckpoint> sign_checkpoint(store::Db& db, const note::SignerKey& key,
                                                const std::string& origin) {
  std::optional<store::Transaction> own;
  if (sqlite3_get_autocommit(db.raw())) {
    KP_TRY(store::Transaction tx, store::Transaction::begin(db));
    own.emplace(std::move(tx));
  }
  KP_TRY(uint64_t size, store::log_size(db));
  KP_TRY(auto latest, store::latest_checkpoint(db));
  if (latest && latest->size == size) return *latest;
  KP_ENSURE(!latest || latest->size < size, "audit-tree-damaged", "the log is smaller than its last checkpoint");
  // Never sign a fork: the tree must still hold the last signed checkpoint.
  if (latest) {
    KP_TRY(merkle::Hash old_root, root_at(db, latest->size));
    KP_ENSURE(old_root == latest->root, "audit-fork-refused",
              "the stored tree no longer matches the signed checkpoint of size " + std::to_string(latest->size) +
                  "; refusing to sign a checkpoint that contradicts it");
  }
  KP_TRY(merkle::Hash root, root_at(db, size));
  merkle::Checkpoint cp{origin, size, root, {}};
  KP_TRY(std::string body, merkle::format_checkpoint(cp));
  KP_TRY(std::string signed_note, note::sign(body, key));
  store::StoredCheckpoint stored{size, root, signed_note, log::now_ms()};
  KP_GUARD(store::insert_checkpoint(db, stored));
  if (own) KP_GUARD(own->commit());
  return stored;
}

Result<std::string> proof_for(store::Db& db, uint64_t index) {
  KP_TRY(auto cp, store::checkpoint_covering(db, index));
  KP_ENSURE(cp, "audit-no-checkpoint", "no signed checkpoint covers record " + std::to_string(index) + " yet");
  StoreSource src(db);
  KP_TRY(auto hashes, merkle::inclusion_proof(src, index, cp->size));
  // Check the proof before handing it out: a damaged interior node must
  // give an error here, not a proof that fails at the municipality.
  KP_TRY(merkle::Hash leaf, store::tree_node(db, 0, index));
  KP_ENSURE(merkle::verify_inclusion(leaf, index, cp->size, hashes, cp->root).ok(), "audit-tree-damaged",
            "the stored tree does not prove record " + std::to_string(index) + " against checkpoint " +
                std::to_string(cp->size));
  merkle::TlogProof proof;
  proof.index = index;
  proof.hashes = std::move(hashes);
  proof.checkpoint = cp->note;
  return merkle::format_tlog_proof(proof);
}

Result<VerifyReport> verify_log(store::Db& db, const note::VerifierKey& key, const std::string& origin,
                                const std::optional<std::string>& trusted_checkpoint) {
  VerifyReport report;
  KP_TRY(auto checkpoints, store::all_checkpoints(db));
  std::size_t next_cp = 0;
  merkle::Appender tree;
  int64_t expected_id = 1;
  auto check_checkpoints_at = [&](uint64_t size) -> Status {
    while (next_cp < checkpoints.size() && checkpoints[next_cp].size == size) {
      const auto& c = checkpoints[next_cp];
      auto text = note::open(c.note, key);
      KP_ENSURE(text.ok(), "audit-checkpoint-signature",
                "the checkpoint of size " + std::to_string(c.size) + " is not signed by the log key");
      KP_TRY(merkle::Checkpoint parsed, merkle::parse_checkpoint(*text));
      KP_ENSURE(parsed.origin == origin && parsed.size == c.size, "audit-checkpoint-mismatch",
                "the checkpoint of size " + std::to_string(c.size) + " names another log or size");
      KP_ENSURE(parsed.root == tree.root(), "audit-checkpoint-mismatch",
                "the records do not add up to the signed checkpoint of size " + std::to_string(c.size) +
                    ": a record before it was altered, inserted or removed");
      // The stored tree (which proofs are built from) must agree too.
      KP_TRY(merkle::Hash stored, root_at(db, c.size));
      KP_ENSURE(stored == parsed.root, "audit-tree-damaged",
                "the stored tree nodes disagree with the checkpoint of size " + std::to_string(c.size));
      ++report.checkpoints;
      ++next_cp;
    }
    return ok_status();
  };
  KP_GUARD(check_checkpoints_at(0));
  KP_TRY(store::Stmt st, store::prepare_audit_with_leaves(db));
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) break;
    store::AuditEvent e = store::read_audit(st);
    KP_ENSURE(e.id == expected_id, "audit-record-missing",
              "record " + std::to_string(expected_id - 1) + " is missing (the next one is " +
                  std::to_string(e.id - 1) + ")");
    uint64_t index = static_cast<uint64_t>(e.id - 1);
    merkle::Hash leaf = merkle::leaf_hash(canonical_record(e, index));
    KP_ENSURE(!st.col_null(13) && st.col_hash(13) == leaf, "audit-record-altered",
              "record " + std::to_string(index) + " (" + e.event + " at " + log::format_iso8601(e.ts_ms) +
                  ") does not match its leaf in the tree");
    tree.append(leaf);
    ++expected_id;
    ++report.records;
    KP_GUARD(check_checkpoints_at(tree.size()));
  }
  KP_ENSURE(next_cp == checkpoints.size(), "audit-record-missing",
            "the log has " + std::to_string(tree.size()) + " records but a checkpoint of size " +
                std::to_string(checkpoints[next_cp].size) + " was signed: records were removed");
  // Every stored interior node (proofs are built from them) must be the hash
  // of its two children; the leaves were checked against the records above.
  KP_TRY(store::Stmt nodes, store::prepare_interior_nodes(db));
  for (;;) {
    KP_TRY(bool row, nodes.step());
    if (!row) break;
    std::string where = std::to_string(nodes.col_int(0)) + "/" + std::to_string(nodes.col_int(1));
    KP_ENSURE(!nodes.col_null(3) && !nodes.col_null(4), "audit-tree-damaged",
              "stored tree node " + where + " has a missing child");
    KP_ENSURE(merkle::node_hash(nodes.col_hash(3), nodes.col_hash(4)) == nodes.col_hash(2), "audit-tree-damaged",
              "stored tree node " + where + " is not the hash of its children");
  }
  if (trusted_checkpoint) {
    auto text = note::open(*trusted_checkpoint, key);
    KP_ENSURE(text.ok(), "audit-checkpoint-signature", "the given checkpoint is not signed by the log key");
    KP_TRY(merkle::Checkpoint old, merkle::parse_checkpoint(*text));
    KP_ENSURE(old.origin == origin, "audit-checkpoint-mismatch",
              "the given checkpoint is for another log (" + old.origin + ")");
    KP_ENSURE(old.size <= tree.size(), "audit-not-grown",
              "the given checkpoint has " + std::to_string(old.size) + " records, the log only " +
                  std::to_string(tree.size()));
    StoreSource src(db);
    KP_TRY(auto proof, merkle::consistency_proof(src, old.size, tree.size()));
    KP_ENSURE(merkle::verify_consistency(old.size, tree.size(), old.root, tree.root(), proof).ok(),
              "audit-not-grown", "the log is not an extension of the given checkpoint");
  }
  return report;
}

}  // namespace kp::audit
