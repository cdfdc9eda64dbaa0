// The transfer log; see log.h.
#include "audit/log.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

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
                                                const std::string& origin, Persist persist,
                                                const note::SignerKey* cosigner) {
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
  if (cosigner) {
    KP_TRY(signed_note, note::add_signature(signed_note, *cosigner));
  }
  store::StoredCheckpoint stored{size, root, signed_note, log::now_ms()};
  const bool due = !latest || size - latest->size >= kCheckpointEveryRecords ||
                   stored.ts_ms - latest->ts_ms >= kCheckpointEveryMs;
  if (persist == Persist::always || due) KP_GUARD(store::insert_checkpoint(db, stored));
  if (own) KP_GUARD(own->commit());
  return stored;
}

Result<std::string> proof_for(store::Db& db, uint64_t index) {
  KP_TRY(auto cp, store::checkpoint_covering(db, index));
  KP_ENSURE(cp, "audit-no-checkpoint", "no signed checkpoint covers record " + std::to_string(index) + " yet");
  return proof_against(db, index, *cp);
}

Result<std::string> proof_against(store::Db& db, uint64_t index, const store::StoredCheckpoint& checkpoint) {
  const store::StoredCheckpoint* cp = &checkpoint;
  KP_ENSURE(index < cp->size, "audit-no-checkpoint",
            "checkpoint " + std::to_string(cp->size) + " does not cover record " + std::to_string(index));
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

namespace {

// The stored nodes of one tree level, read in index order while the tree is
// recomputed: a merge of two sorted streams instead of one B-tree lookup per
// node, so verification reads each stored node once, sequentially.
class LevelCursor {
 public:
  enum class Match { kSame, kDiffers, kMissing };

  LevelCursor(store::Stmt st, unsigned level) : st_(std::move(st)), level_(level) {}

  // Compares the recomputed node `index` with the stored one. Nodes are
  // recomputed left to right, so a stored node below `index` that was not
  // compared cannot be; it is reported as damage.
  Result<Match> check(uint64_t index, const merkle::Hash& hash) {
    KP_GUARD(fill());
    if (done_ || idx_ > index) return Match::kMissing;
    KP_ENSURE(idx_ == index, "audit-tree-damaged",
              "stored tree node " + std::to_string(level_) + "/" + std::to_string(idx_) +
                  " is not part of the tree the records make");
    pending_ = false;
    return hash_ == hash ? Match::kSame : Match::kDiffers;
  }

  // The index of the first stored node that no check() consumed: a node
  // beyond the tree the records make.
  Result<std::optional<uint64_t>> leftover() {
    KP_GUARD(fill());
    if (done_) return std::optional<uint64_t>();
    return std::optional<uint64_t>(idx_);
  }

 private:
  Status fill() {
    if (pending_ || done_) return ok_status();
    KP_TRY(bool row, st_.step());
    if (!row) {
      done_ = true;
      return ok_status();
    }
    idx_ = static_cast<uint64_t>(st_.col_int(0));
    hash_ = st_.col_hash(1);
    pending_ = true;
    return ok_status();
  }

  store::Stmt st_;
  unsigned level_;
  bool pending_ = false, done_ = false;
  uint64_t idx_ = 0;
  merkle::Hash hash_{};
};

// Address space for the scan's memory map (SQLite caps it at its
// compile-time maximum); the log is ~300 MB at 1e6 records.
constexpr int64_t kScanMmapBytes = int64_t{1} << 32;

std::string node_name(unsigned level, uint64_t index) {
  return std::to_string(level) + "/" + std::to_string(index);
}

}  // namespace

Result<VerifyReport> verify_log(store::Db& db, const note::VerifierKey& key, const std::string& origin,
                                const std::optional<std::string>& trusted_checkpoint) {
  return verify_log(db, keys::LogKeyHistory{{key, 0}}, origin, trusted_checkpoint);
}

Result<VerifyReport> verify_log(store::Db& db, const keys::LogKeyHistory& history,
                                const std::string& origin,
                                const std::optional<std::string>& trusted_checkpoint) {
  KP_ENSURE(!history.empty(), "audit-checkpoint-signature", "no log key");
  // The key of the era a checkpoint of `size` belongs to.
  auto key_for = [&](uint64_t size) -> const note::VerifierKey& {
    const note::VerifierKey* k = &history.front().key;
    for (const auto& era : history)
      if (era.from_size <= size) k = &era.key;
    return *k;
  };
  VerifyReport report;
  // The scan reads every page of the log once: map the file instead of
  // copying it page by page, and restore the connection's setting after.
  KP_TRY(int64_t old_mmap, store::set_mmap_size(db, kScanMmapBytes));
  struct RestoreMmap {
    store::Db& db;
    int64_t bytes;
    ~RestoreMmap() { (void)store::set_mmap_size(db, bytes); }
  } restore_mmap{db, old_mmap};
  KP_TRY(auto checkpoints, store::all_checkpoints(db));
  // One cursor per stored level; a node the recomputation reaches above the
  // top stored level is missing.
  KP_TRY(int64_t top, store::top_tree_level(db));
  std::vector<LevelCursor> levels;
  for (int64_t level = 0; level <= top; ++level) {
    KP_TRY(store::Stmt st, store::prepare_tree_level(db, unsigned(level)));
    levels.emplace_back(std::move(st), unsigned(level));
  }
  // The first interior node (lowest level, then index) that is missing or
  // differs from the recomputed one. Reported after the records, as before
  // the merge: a bad record or checkpoint names the cause more precisely.
  std::optional<std::pair<unsigned, uint64_t>> damaged;
  std::size_t next_cp = 0;
  merkle::Appender tree;
  auto check_checkpoints_at = [&](uint64_t size) -> Status {
    while (next_cp < checkpoints.size() && checkpoints[next_cp].size == size) {
      const auto& c = checkpoints[next_cp];
      auto text = note::open(c.note, key_for(c.size));
      KP_ENSURE(text.ok(), "audit-checkpoint-signature",
                "the checkpoint of size " + std::to_string(c.size) + " is not signed by the log key of its time");
      KP_TRY(merkle::Checkpoint parsed, merkle::parse_checkpoint(*text));
      KP_ENSURE(parsed.origin == origin && parsed.size == c.size, "audit-checkpoint-mismatch",
                "the checkpoint of size " + std::to_string(c.size) + " names another log or size");
      KP_ENSURE(parsed.root == tree.root(), "audit-checkpoint-mismatch",
                "the records do not add up to the signed checkpoint of size " + std::to_string(c.size) +
                    ": a record before it was altered, inserted or removed");
      // The stored tree (which proofs are built from) must agree too. While
      // every stored node so far matched its recomputed one, the stored
      // root (folded from stored nodes that were all compared) is
      // tree.root(); only after a mismatch is it worth reading.
      if (damaged) {
        KP_TRY(merkle::Hash stored, root_at(db, c.size));
        KP_ENSURE(
            stored == parsed.root, "audit-tree-damaged",
            "the stored tree nodes disagree with the checkpoint of size " + std::to_string(c.size));
      }
      ++report.checkpoints;
      ++next_cp;
    }
    return ok_status();
  };
  KP_GUARD(check_checkpoints_at(0));
  KP_TRY(store::Stmt st, store::prepare_audit_scan(db));
  int64_t expected_id = 1;
  std::string bytes;                  // one record's canonical form, reused
  std::vector<merkle::Subtree> done;  // the subtrees one append completes, reused
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) break;
    const int64_t id = st.col_int(0);
    KP_ENSURE(id == expected_id, "audit-record-missing",
              "record " + std::to_string(expected_id - 1) + " is missing (the next one is " +
                  std::to_string(id - 1) + ")");
    const uint64_t index = static_cast<uint64_t>(id - 1);
    audit::RecordView r;  // columns as store::kAuditColumns
    r.ts_ms = st.col_int(1);
    r.event = st.col_view(2);
    r.outcome = st.col_view(3);
    r.actor = st.col_view(4);
    r.role = st.col_view(5);
    r.municipality = st.col_view(6);
    r.object = st.col_view(7);
    r.size = st.col_opt_int(8);
    r.sha256 = st.col_view(9);
    r.source = st.col_view(10);
    r.channel = st.col_view(11);
    r.reason = st.col_view(12);
    canonical_record_into(bytes, r, index);
    tree.append(merkle::leaf_hash(bytes), done);
    // done[0] is the leaf, then every interior node this leaf completed.
    for (const merkle::Subtree& node : done) {
      LevelCursor::Match m = LevelCursor::Match::kMissing;
      if (node.level < levels.size()) {
        KP_TRY(LevelCursor::Match got, levels[node.level].check(node.index, node.hash));
        m = got;
      }
      if (m == LevelCursor::Match::kSame) continue;
      if (node.level == 0) {
        store::AuditEvent e = store::read_audit(st);
        return make_error("audit-record-altered", "record " + std::to_string(index) + " (" +
                                                      e.event + " at " +
                                                      log::format_iso8601(e.ts_ms) +
                                                      ") does not match its leaf in the tree");
      }
      if (!damaged || std::pair(node.level, node.index) < *damaged)
        damaged.emplace(node.level, node.index);
    }
    ++expected_id;
    ++report.records;
    KP_GUARD(check_checkpoints_at(tree.size()));
  }
  KP_ENSURE(next_cp == checkpoints.size(), "audit-record-missing",
            "the log has " + std::to_string(tree.size()) + " records but a checkpoint of size " +
                std::to_string(checkpoints[next_cp].size) + " was signed: records were removed");
  // A stored leaf beyond the last record is a record removed from the end.
  if (!levels.empty()) {
    KP_TRY(auto extra, levels[0].leftover());
    KP_ENSURE(!extra, "audit-record-missing",
              "record " + std::to_string(extra.value_or(0)) +
                  " is missing: the tree has its leaf but the log ends at " +
                  std::to_string(tree.size()) + " records");
  }
  // Every stored interior node (proofs are built from them) must be the one
  // the records make; the leaves were checked against the records above.
  KP_ENSURE(!damaged, "audit-tree-damaged",
            "stored tree node " + node_name(damaged->first, damaged->second) +
                " is missing or is not the hash of its children");
  for (std::size_t level = 1; level < levels.size(); ++level) {
    KP_TRY(auto extra, levels[level].leftover());
    KP_ENSURE(!extra, "audit-tree-damaged",
              "stored tree node " + node_name(unsigned(level), extra.value_or(0)) +
                  " lies beyond the " + std::to_string(tree.size()) + " records of the log");
  }
  if (trusted_checkpoint) {
    // The key of its era, which its size names (read before the signature
    // is checked, and checked against that key).
    KP_TRY(note::Note unverified, note::parse(*trusted_checkpoint));
    KP_TRY(merkle::Checkpoint claimed, merkle::parse_checkpoint(unverified.text));
    auto text = note::open(*trusted_checkpoint, key_for(claimed.size));
    KP_ENSURE(text.ok(), "audit-checkpoint-signature", "the given checkpoint is not signed by the log key of its time");
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
