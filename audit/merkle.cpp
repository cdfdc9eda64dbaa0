// RFC 6962 Merkle tree hashing, proofs over a HashSource, the incremental
// Appender, and the C2SP checkpoint and proof texts; see merkle.h.
#include "common/base64.h"
#include "audit/merkle.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <charconv>

namespace kp::merkle {
namespace {

constexpr std::string_view kProofHeader = "c2sp.org/tlog-proof@v1";
constexpr std::size_t kMaxProofText = 1u << 20;
constexpr std::size_t kMaxProofHashes = 64;  // a tree of 2^64 leaves needs 64
constexpr std::size_t kMaxExtraBytes = 64u << 10;

Error invalid(std::string detail) { return make_error("proof-invalid", std::move(detail)); }

bool decode_hash(std::string_view in, Hash& h) {
  std::size_t len = 0;
  return in.size() == 44 && base64_decode(in, h.data(), h.size(), len) && len == h.size();
}


bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

// Largest power of two strictly below n (n >= 2).
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

// RFC 9162 §2.1.3.1 PATH over leaves [begin, end), m absolute.
Status path(HashSource& src, uint64_t m, uint64_t begin, uint64_t end, std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (n <= 1) return ok_status();
  const uint64_t k = split_point(n);
  if (m < begin + k) {
    KP_GUARD(path(src, m, begin, begin + k, out));
    KP_TRY(Hash h, subtree_root(src, begin + k, end));
    out.push_back(h);
  } else {
    KP_GUARD(path(src, m, begin + k, end, out));
    KP_TRY(Hash h, subtree_root(src, begin, begin + k));
    out.push_back(h);
  }
  return ok_status();
}

// RFC 9162 §2.1.4.1 SUBPROOF over leaves [begin, end); m counts from begin.
Status subproof(HashSource& src, uint64_t m, uint64_t begin, uint64_t end, bool b, std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!b) {
      KP_TRY(Hash h, subtree_root(src, begin, end));
      out.push_back(h);
    }
    return ok_status();
  }
  const uint64_t k = split_point(n);
  if (m <= k) {
    KP_GUARD(subproof(src, m, begin, begin + k, b, out));
    KP_TRY(Hash h, subtree_root(src, begin + k, end));
    out.push_back(h);
  } else {
    KP_GUARD(subproof(src, m - k, begin + k, end, false, out));
    KP_TRY(Hash h, subtree_root(src, begin, begin + k));
    out.push_back(h);
  }
  return ok_status();
}

// Shifts fn and sn right until fn's lowest bit is set or fn is 0.
void shift_until_odd(uint64_t& fn, uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

// One hashing context per thread, reused: a context per hash (allocation,
// provider set-up, cleanse on free) cost more than hashing a record.
Sha256& hasher() {
  thread_local Sha256 h;
  return h;
}

}  // namespace

bool parse_decimal(std::string_view s, uint64_t& v) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

Hash leaf_hash(std::string_view data) {
  Sha256& h = hasher();
  const uint8_t prefix = 0x00;
  h.update(&prefix, 1);
  h.update(data);
  return h.finish();
}

Hash node_hash(const Hash& left, const Hash& right) {
  Sha256& h = hasher();
  const uint8_t prefix = 0x01;
  h.update(&prefix, 1);
  h.update(left.data(), left.size());
  h.update(right.data(), right.size());
  return h.finish();
}

Hash empty_root() { return sha256(""); }

Hash root_of(std::span<const Hash> leaves) {
  if (leaves.empty()) return empty_root();
  if (leaves.size() == 1) return leaves[0];
  const std::size_t k = split_point(leaves.size());
  return node_hash(root_of(leaves.first(k)), root_of(leaves.subspan(k)));
}

Result<Hash> subtree_root(HashSource& src, uint64_t begin, uint64_t end) {
  KP_ENSURE(begin <= end, "tree-size-invalid", "subtree range is reversed");
  if (begin == end) return empty_root();
  const uint64_t n = end - begin;
  KP_ENSURE((begin & (std::bit_floor(n) - 1)) == 0, "tree-size-invalid", "subtree range is not a tree node");
  // Perfect chunks from the binary digits of n, largest (leftmost) first;
  // each is aligned because begin is aligned to the largest.
  std::vector<Hash> chunks;
  uint64_t at = begin;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((n & width) == 0) continue;
    KP_TRY(Hash h, src.perfect(unsigned(level), at >> level));
    chunks.push_back(h);
    at += width;
  }
  Hash acc = chunks.back();
  for (std::size_t i = chunks.size() - 1; i-- > 0;) acc = node_hash(chunks[i], acc);
  return acc;
}

Result<Hash> tree_root(HashSource& src, uint64_t size) { return subtree_root(src, 0, size); }

Result<std::vector<Hash>> inclusion_proof(HashSource& src, uint64_t index, uint64_t size) {
  KP_ENSURE(index < size, "tree-size-invalid", "leaf index is not below the tree size");
  std::vector<Hash> out;
  KP_GUARD(path(src, index, 0, size, out));
  return out;
}

Result<std::vector<Hash>> consistency_proof(HashSource& src, uint64_t old_size, uint64_t new_size) {
  KP_ENSURE(old_size <= new_size, "tree-size-invalid", "old tree is larger than the new one");
  std::vector<Hash> out;
  if (old_size == 0 || old_size == new_size) return out;
  KP_GUARD(subproof(src, old_size, 0, new_size, true, out));
  return out;
}

Status verify_inclusion(const Hash& leaf, uint64_t index, uint64_t size, std::span<const Hash> proof,
                        const Hash& root) {
  if (index >= size) return invalid("leaf index is not below the tree size");
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return invalid("inclusion proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = node_hash(p, r);
      shift_until_odd(fn, sn);
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return invalid("inclusion proof is too short");
  if (r != root) return invalid("inclusion proof does not lead to the root");
  return ok_status();
}

Status verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                          std::span<const Hash> proof) {
  if (old_size > new_size) return invalid("old tree is larger than the new one");
  if (old_size == new_size) {
    if (!proof.empty()) return invalid("proof between equal sizes must be empty");
    if (old_root != new_root) return invalid("roots of equal-size trees differ");
    return ok_status();
  }
  if (old_size == 0) {
    if (!proof.empty()) return invalid("proof from the empty tree must be empty");
    if (old_root != empty_root()) return invalid("empty tree has the wrong root");
    return ok_status();
  }
  if (proof.empty()) return invalid("consistency proof is empty");

  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());

  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return invalid("consistency proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      shift_until_odd(fn, sn);
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return invalid("consistency proof is too short");
  if (fr != old_root) return invalid("consistency proof does not lead to the old root");
  if (sr != new_root) return invalid("consistency proof does not lead to the new root");
  return ok_status();
}

Result<Appender> Appender::restore(uint64_t size, std::vector<Hash> frontier) {
  KP_ENSURE(frontier.size() == std::size_t(std::popcount(size)), "tree-size-invalid",
            "frontier needs one hash per set bit of the tree size");
  Appender a;
  a.size_ = size;
  a.frontier_ = std::move(frontier);
  return a;
}

Result<Appender> Appender::load(HashSource& src, uint64_t size) {
  std::vector<Hash> frontier;
  uint64_t at = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    KP_TRY(Hash h, src.perfect(unsigned(level), at >> level));
    frontier.push_back(h);
    at += width;
  }
  return restore(size, std::move(frontier));
}

std::vector<Subtree> Appender::append(const Hash& leaf) {
  std::vector<Subtree> done;
  append(leaf, done);
  return done;
}

void Appender::append(const Hash& leaf, std::vector<Subtree>& done) {
  done.clear();
  done.push_back(Subtree{0, size_, leaf});
  frontier_.push_back(leaf);
  // Each trailing 1 bit of the old size is a perfect subtree of the same
  // level as the one just completed, to its left: merge them.
  uint64_t index = size_;
  unsigned level = 0;
  while ((index & 1) == 1) {
    const Hash right = frontier_.back();
    frontier_.pop_back();
    const Hash left = frontier_.back();
    frontier_.pop_back();
    const Hash h = node_hash(left, right);
    frontier_.push_back(h);
    ++level;
    index >>= 1;
    done.push_back(Subtree{level, index, h});
  }
  ++size_;
}

Hash Appender::root() const {
  if (frontier_.empty()) return empty_root();
  Hash acc = frontier_.back();
  for (std::size_t i = frontier_.size() - 1; i-- > 0;) acc = node_hash(frontier_[i], acc);
  return acc;
}

std::vector<Subtree> MemoryTree::append(const Hash& leaf) {
  std::vector<Subtree> done = appender_.append(leaf);
  for (const Subtree& s : done) {
    if (levels_.size() <= s.level) levels_.resize(s.level + 1);
    levels_[s.level].push_back(s.hash);  // completed left to right, so index == size
  }
  return done;
}

Result<Hash> MemoryTree::perfect(unsigned level, uint64_t index) {
  KP_ENSURE(level < levels_.size() && index < levels_[level].size(), "hash-not-found",
            "no complete subtree at level " + std::to_string(level) + " index " + std::to_string(index));
  return levels_[level][index];
}

Result<std::string> format_checkpoint(const Checkpoint& cp) {
  KP_ENSURE(!cp.origin.empty() && !has_control(cp.origin), "checkpoint-malformed",
            "origin must be a non-empty line");
  std::string out = cp.origin + "\n" + std::to_string(cp.size) + "\n" + base64_encode(cp.root.data(), cp.root.size()) + "\n";
  for (const std::string& ext : cp.extensions) {
    KP_ENSURE(!ext.empty() && !has_control(ext), "checkpoint-malformed", "extension lines must be non-empty lines");
    out += ext + "\n";
  }
  return out;
}

Result<Checkpoint> parse_checkpoint(std::string_view text) {
  KP_ENSURE(text.size() <= kMaxProofText, "checkpoint-malformed", "checkpoint is too large");
  KP_ENSURE(!text.empty() && text.back() == '\n', "checkpoint-malformed", "checkpoint must end in a newline");
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  KP_ENSURE(lines.size() >= 3, "checkpoint-malformed", "checkpoint needs origin, size and root lines");
  Checkpoint cp;
  for (std::string_view l : lines)
    KP_ENSURE(!l.empty() && !has_control(l), "checkpoint-malformed", "checkpoint lines must be non-empty");
  cp.origin = std::string(lines[0]);
  KP_ENSURE(parse_decimal(lines[1], cp.size), "checkpoint-malformed", "tree size is not a canonical decimal");
  KP_ENSURE(decode_hash(lines[2], cp.root), "checkpoint-malformed", "root hash is not base64 of 32 bytes");
  for (std::size_t i = 3; i < lines.size(); ++i) cp.extensions.emplace_back(lines[i]);
  return cp;
}

Result<std::string> format_tlog_proof(const TlogProof& proof) {
  KP_ENSURE(!proof.checkpoint.empty() && proof.checkpoint.back() == '\n', "proof-malformed",
            "checkpoint must be a signed note ending in a newline");
  KP_ENSURE(proof.hashes.size() <= kMaxProofHashes, "proof-malformed", "too many proof hashes");
  std::string out(kProofHeader);
  out += '\n';
  if (proof.extra) {
    KP_ENSURE(!proof.extra->empty() && proof.extra->size() <= kMaxExtraBytes, "proof-malformed",
              "extra data must be non-empty and at most 64 KiB");
    out += "extra " + base64_encode(reinterpret_cast<const uint8_t*>(proof.extra->data()), proof.extra->size()) + "\n";
  }
  out += "index " + std::to_string(proof.index) + "\n";
  for (const Hash& h : proof.hashes) out += base64_encode(h.data(), h.size()) + "\n";
  out += "\n";
  out += proof.checkpoint;
  return out;
}

Result<TlogProof> parse_tlog_proof(std::string_view text) {
  KP_ENSURE(text.size() <= kMaxProofText, "proof-malformed", "proof is too large");
  auto next_line = [&text](std::string_view& line) {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    return true;
  };
  std::string_view line;
  KP_ENSURE(next_line(line) && line == kProofHeader, "proof-malformed", "first line must be c2sp.org/tlog-proof@v1");
  TlogProof proof;
  KP_ENSURE(next_line(line), "proof-malformed", "proof is truncated");
  if (line.starts_with("extra ")) {
    std::string_view b64 = line.substr(6);
    KP_ENSURE(b64.size() <= sodium_base64_ENCODED_LEN(kMaxExtraBytes, sodium_base64_VARIANT_ORIGINAL),
              "proof-malformed", "extra data is too large");
    std::string extra(b64.size(), '\0');
    std::size_t len = 0;
    KP_ENSURE(base64_decode(b64, reinterpret_cast<uint8_t*>(extra.data()), extra.size(), len) && len > 0,
              "proof-malformed", "extra data is not base64");
    extra.resize(len);
    proof.extra = std::move(extra);
    KP_ENSURE(next_line(line), "proof-malformed", "proof is truncated");
  }
  KP_ENSURE(line.starts_with("index ") && parse_decimal(line.substr(6), proof.index), "proof-malformed",
            "index line must be \"index\" and a canonical decimal");
  for (;;) {
    KP_ENSURE(next_line(line), "proof-malformed", "proof has no blank line before the checkpoint");
    if (line.empty()) break;
    KP_ENSURE(proof.hashes.size() < kMaxProofHashes, "proof-malformed", "too many proof hashes");
    Hash h{};
    KP_ENSURE(decode_hash(line, h), "proof-malformed", "proof hash is not base64 of 32 bytes");
    proof.hashes.push_back(h);
  }
  KP_ENSURE(!text.empty() && text.back() == '\n', "proof-malformed", "checkpoint is missing or truncated");
  proof.checkpoint = std::string(text);
  return proof;
}

Result<Checkpoint> verify_tlog_proof(const TlogProof& proof, const Hash& leaf, const note::VerifierKey& log_key,
                                     std::string_view origin) {
  KP_TRY(std::string text, note::open(proof.checkpoint, log_key));
  KP_TRY(Checkpoint cp, parse_checkpoint(text));
  KP_ENSURE(cp.origin == origin, "checkpoint-origin-mismatch",
            "checkpoint is for log \"" + cp.origin + "\", expected \"" + std::string(origin) + "\"");
  KP_GUARD(verify_inclusion(leaf, proof.index, cp.size, proof.hashes, cp.root));
  return cp;
}

}  // namespace kp::merkle
