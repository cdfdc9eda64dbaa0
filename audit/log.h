// The tamper-evident transfer log: every audit record is a leaf of an
// RFC 6962 Merkle tree (stored as perfect-subtree hashes, so roots and
// proofs cost O(log n) reads); checkpoints in the C2SP tlog-checkpoint
// format are signed as C2SP signed notes with the log key. The log signs a
// checkpoint only for the tree it has, inside a write transaction, and sizes
// only grow, so it never signs two checkpoints that disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "audit/merkle.h"
#include "common/result.h"
#include "keys/announcement.h"
#include "keys/signed_note.h"
#include "store/db.h"
#include "store/transfer_log.h"

namespace kp::audit {

// Root of the first `size` leaves.
Result<merkle::Hash> root_at(store::Db& db, uint64_t size);

// How often checkpoints are stored (published to auditors and checked by
// verify_log): every this many records or seconds, whichever comes first,
// and whenever the worker's timer or shutdown asks.
inline constexpr uint64_t kCheckpointEveryRecords = 1000;
inline constexpr int64_t kCheckpointEveryMs = 10000;

enum class Persist {
  always,    // store the checkpoint (timer, shutdown, CLI)
  when_due,  // store it only when the last stored one is kCheckpointEvery* old
};

// Signs a checkpoint of the current tree unless one of that size is stored;
// returns it (or the latest stored one). With Persist::when_due a checkpoint
// that is not due yet is signed and returned but not stored: receipts need
// a checkpoint that covers their own record, auditors need one every N
// records or T seconds -- one stored per receipt would make verify_log check
// a signature every few records. Such a checkpoint is a prefix of the same
// tree, so it is consistent with every stored one (verify --from-checkpoint
// checks it). Never signs a fork. Must run inside the caller's write
// transaction or opens its own.
// With `cosigner` (the previous log key during its grace period after a
// rotation, keys/keystore.h) the note carries its signature too.
Result<store::StoredCheckpoint> sign_checkpoint(store::Db& db, const note::SignerKey& key,
                                                const std::string& origin, Persist persist = Persist::always,
                                                const note::SignerKey* cosigner = nullptr);

// A C2SP tlog-proof for leaf `index` against the first stored checkpoint
// that covers it. Error "audit-no-checkpoint" when none covers it yet.
Result<std::string> proof_for(store::Db& db, uint64_t index);

// A C2SP tlog-proof for leaf `index` against `cp` (index < cp.size), checked
// before it is returned ("audit-tree-damaged" when the stored tree disagrees).
Result<std::string> proof_against(store::Db& db, uint64_t index, const store::StoredCheckpoint& cp);

struct VerifyReport {
  uint64_t records = 0;
  uint64_t checkpoints = 0;
};

// Recomputes the tree from the records in one pass (every leaf from its
// record, every interior node bottom-up) and compares each stored node with
// it, checks every checkpoint's signature and root, and (with
// `trusted_checkpoint`, a note an auditor kept) that the log only grew
// since. Reads the records and each tree level once, sequentially.
// Errors name the first bad record or checkpoint: "audit-record-altered",
// "audit-record-missing" (also a stored leaf past the last record),
// "audit-checkpoint-mismatch", "audit-checkpoint-signature",
// "audit-tree-damaged" (a stored interior node missing, altered or beyond
// the tree; named at the first checkpoint whose stored root it changes,
// else after the records), "audit-not-grown".
Result<VerifyReport> verify_log(store::Db& db, const note::VerifierKey& key, const std::string& origin,
                                const std::optional<std::string>& trusted_checkpoint);
// The same across log key rotations: each checkpoint (and the trusted one)
// must be signed by the key whose era covers its size (keys/announcement.h).
Result<VerifyReport> verify_log(store::Db& db, const keys::LogKeyHistory& history, const std::string& origin,
                                const std::optional<std::string>& trusted_checkpoint);

}  // namespace kp::audit
