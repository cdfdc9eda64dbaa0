// The RFC 6962 Merkle tree of the audit log, its proofs, and the C2SP text
// formats that carry them (tlog-checkpoint, tlog-proof).
//
// Every audit record is a leaf; the tree over all leaves makes the log
// tamper-evident: a signed checkpoint (size + root) commits to every record,
// an inclusion proof shows one record is in it, a consistency proof shows a
// later checkpoint extends an earlier one. Hashing (RFC 6962 / RFC 9162):
//
//   leaf  = SHA-256(0x00 || data)
//   node  = SHA-256(0x01 || left || right)
//   MTH() = SHA-256("") for the empty tree
//
// This unit knows nothing of storage. Proof generation reads hashes through
// HashSource, which only ever has to supply *perfect* subtrees — subtree
// (level, index) covers leaves [index * 2^level, (index + 1) * 2^level).
// Those hashes never change once complete, so the store can persist each as
// the Appender reports it, and a proof then costs O(log n) reads: every
// node on a proof path is a perfect subtree except at most one per proof
// along the right edge, and that one is folded from O(log n) perfect ones.
//
// Proof verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 exactly.
//
// Error codes: "proof-invalid" (a proof does not prove the claim),
// "tree-size-invalid" (index or sizes out of range for generation),
// "hash-not-found" (a HashSource lacks a subtree), "checkpoint-malformed",
// "proof-malformed", "checkpoint-origin-mismatch", and the signed-note codes
// from keys/signed_note.h when a proof's checkpoint is opened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/result.h"
#include "keys/signed_note.h"

namespace kp::merkle {

// ASCII decimal without leading zeros (except "0") that fits in uint64:
// sizes and indexes in checkpoints, proofs, tile paths and the witness
// protocol.
bool parse_decimal(std::string_view s, uint64_t& v);

using Hash = Sha256Digest;

// SHA-256(0x00 || data).
Hash leaf_hash(std::string_view data);
// SHA-256(0x01 || left || right).
Hash node_hash(const Hash& left, const Hash& right);
// SHA-256(""), the root of the empty tree.
Hash empty_root();

// MTH over the given leaf hashes (RFC 6962 §2.1); O(n).
Hash root_of(std::span<const Hash> leaves);

// Supplies hashes of perfect subtrees: level 0 are the leaf hashes, and
// (level, index) covers leaves [index << level, (index + 1) << level).
// Generation only asks for subtrees that lie entirely within the tree size
// it was given. Implementations return "hash-not-found" (or their own
// storage error) when they cannot.
class HashSource {
 public:
  virtual ~HashSource() = default;
  virtual Result<Hash> perfect(unsigned level, uint64_t index) = 0;
};

// Adapts a callable to HashSource (for stores that prefer a lambda).
class FunctionHashSource final : public HashSource {
 public:
  explicit FunctionHashSource(std::function<Result<Hash>(unsigned, uint64_t)> fn) : fn_(std::move(fn)) {}
  Result<Hash> perfect(unsigned level, uint64_t index) override { return fn_(level, index); }

 private:
  std::function<Result<Hash>(unsigned, uint64_t)> fn_;
};

// MTH of leaves [begin, end) where the range is a node of some RFC 6962
// tree: begin is a multiple of the largest power of two <= end - begin
// (true of every range the proof algorithms visit, and of [0, n)).
// Empty range: empty_root(). Errors: "tree-size-invalid", source errors.
Result<Hash> subtree_root(HashSource& src, uint64_t begin, uint64_t end);

// Root of the first `size` leaves; O(log size) reads.
Result<Hash> tree_root(HashSource& src, uint64_t size);

// The audit path for leaf `index` in the tree of `size` leaves (RFC 9162
// §2.1.3.1): the leaf's sibling first, the root's child last. Errors:
// "tree-size-invalid" unless index < size; source errors.
Result<std::vector<Hash>> inclusion_proof(HashSource& src, uint64_t index, uint64_t size);

// The consistency proof from `old_size` to `new_size` (RFC 9162 §2.1.4.1).
// Empty when old_size is 0 or equals new_size. Errors: "tree-size-invalid"
// when old_size > new_size; source errors.
Result<std::vector<Hash>> consistency_proof(HashSource& src, uint64_t old_size, uint64_t new_size);

// Checks that `leaf` is leaf `index` of the tree of `size` leaves with
// `root`. Errors: "proof-invalid".
Status verify_inclusion(const Hash& leaf, uint64_t index, uint64_t size, std::span<const Hash> proof,
                        const Hash& root);

// Checks that the tree (new_size, new_root) extends (old_size, old_root).
// old_size == new_size needs an empty proof and equal roots; old_size == 0
// needs an empty proof and old_root == empty_root(). Errors: "proof-invalid".
Status verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                          std::span<const Hash> proof);

// A perfect subtree that has just become complete.
struct Subtree {
  unsigned level = 0;
  uint64_t index = 0;
  Hash hash{};
};

// Appends leaves in O(log n) each, keeping only the "frontier" (compact
// range [0, size)): the roots of the perfect subtrees that the binary
// digits of size cut the tree into, largest (leftmost) first.
class Appender {
 public:
  Appender() = default;

  // Resumes at `size` from the frontier hashes (one per set bit of size,
  // leftmost first), e.g. as stored earlier. Errors: "tree-size-invalid"
  // when the count does not match.
  static Result<Appender> restore(uint64_t size, std::vector<Hash> frontier);
  // Resumes at `size` reading the frontier subtrees from `src`.
  static Result<Appender> load(HashSource& src, uint64_t size);

  // Appends one leaf hash. Returns the perfect subtrees this append
  // completed, smallest first: always (0, old size, leaf), then one per
  // level that the new leaf closed. A store persists exactly these.
  std::vector<Subtree> append(const Hash& leaf);
  // The same, into `done` (cleared first), for callers that append millions
  // of leaves and reuse one vector.
  void append(const Hash& leaf, std::vector<Subtree>& done);

  uint64_t size() const { return size_; }
  // Root of the current tree; O(log n).
  Hash root() const;
  const std::vector<Hash>& frontier() const { return frontier_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> frontier_;
};

// An in-memory tree holding every perfect subtree hash; for tests and for
// small tools. Not for the audit store, which keeps them on disk.
class MemoryTree final : public HashSource {
 public:
  // Appends a leaf hash; returns the subtrees completed (as Appender::append).
  std::vector<Subtree> append(const Hash& leaf);
  void append_data(std::string_view data) { append(leaf_hash(data)); }
  uint64_t size() const { return appender_.size(); }
  Hash root() const { return appender_.root(); }
  Result<Hash> perfect(unsigned level, uint64_t index) override;

 private:
  Appender appender_;
  std::vector<std::vector<Hash>> levels_;
};

// A C2SP tlog-checkpoint body.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // opaque, non-empty lines (not recommended)
};

// "<origin>\n<size>\n<base64 root>\n" plus any extension lines, each ending
// in LF. Errors: "checkpoint-malformed" (empty origin or extension line, or
// one holding LF or control characters).
Result<std::string> format_checkpoint(const Checkpoint& cp);
// Parses a checkpoint note text (as returned by kp::note::open). Size is
// decimal without leading zeros; the root is base64 of 32 bytes. Errors:
// "checkpoint-malformed".
Result<Checkpoint> parse_checkpoint(std::string_view text);

// A C2SP tlog-proof (c2sp.org/tlog-proof@v1).
struct TlogProof {
  std::optional<std::string> extra;  // opaque, unauthenticated bytes
  uint64_t index = 0;
  std::vector<Hash> hashes;          // inclusion proof, leaf sibling first
  std::string checkpoint;            // the signed checkpoint note, verbatim
};

// The proof text; the checkpoint is appended verbatim. Errors:
// "proof-malformed" (checkpoint empty or not ending in LF).
Result<std::string> format_tlog_proof(const TlogProof& proof);
// Parses proof text (at most 1 MiB, at most 64 hashes). Errors: "proof-malformed".
Result<TlogProof> parse_tlog_proof(std::string_view text);

// Verifies a tlog-proof for a leaf: the checkpoint must be signed by
// `log_key` and name `origin`, and the inclusion proof must place `leaf`
// at the proof's index under the checkpoint's root. Returns the checkpoint.
// Errors: note errors, "checkpoint-malformed", "checkpoint-origin-mismatch",
// "proof-invalid".
Result<Checkpoint> verify_tlog_proof(const TlogProof& proof, const Hash& leaf, const note::VerifierKey& log_key,
                                     std::string_view origin);

}  // namespace kp::merkle
