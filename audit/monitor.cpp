// The auditor's monitor checks; see monitor.h.
#include "audit/monitor.h"

#include <variant>

#include "audit/tiles.h"
#include "keys/cosignature.h"

namespace kp::audit {

namespace {

Finding finding(const char* kind, int code, std::string detail) {
  return Finding{kind, code, std::move(detail)};
}

// The index line of a canonical record (audit/record.h): "index: N".
bool record_index(std::string_view entry, uint64_t& index) {
  const std::size_t p = entry.find("\nindex: ");
  if (p == std::string_view::npos) return false;
  const std::size_t start = p + 8, end = entry.find('\n', start);
  if (end == std::string_view::npos || end == start || end - start > 19) return false;
  index = 0;
  for (std::size_t i = start; i < end; ++i) {
    if (entry[i] < '0' || entry[i] > '9') return false;
    index = index * 10 + uint64_t(entry[i] - '0');
  }
  return true;
}

// Leaf hashes of entries [from, to) from the entry bundles, each checked
// against the level-0 hash tile and its own index line.
Result<std::variant<std::vector<merkle::Hash>, Finding>> fetch_leaves(uint64_t from, uint64_t to,
                                                                      const TileFetch& fetch) {
  using Out = std::variant<std::vector<merkle::Hash>, Finding>;
  std::vector<merkle::Hash> out;
  for (uint64_t n = from / kTileWidth; n * kTileWidth < to; ++n) {
    const uint64_t width = std::min<uint64_t>(kTileWidth, to - n * kTileWidth);
    KP_TRY(std::string bundle, fetch(tile_path(Tile{true, 0, n, width})));
    KP_TRY(std::string hashes, fetch(tile_path(Tile{false, 0, n, width})));
    if (hashes.size() != width * 32)
      return Out(
          finding("missing-entry", 5, "hash tile " + std::to_string(n) + " has the wrong length"));
    std::string_view rest = bundle;
    for (uint64_t i = 0; i < width; ++i) {
      const uint64_t index = n * kTileWidth + i;
      if (rest.size() < 2)
        return Out(finding("missing-entry", 5, "entry " + std::to_string(index) + " is missing"));
      const std::size_t len = (uint8_t(rest[0]) << 8) | uint8_t(rest[1]);
      if (rest.size() < 2 + len)
        return Out(finding("missing-entry", 5, "entry " + std::to_string(index) + " is cut short"));
      std::string_view entry = rest.substr(2, len);
      rest.remove_prefix(2 + len);
      uint64_t named = 0;
      if (!record_index(entry, named) || named != index)
        return Out(
            finding("missing-entry", 5,
                    "entry " + std::to_string(index) + " is not record " + std::to_string(index)));
      merkle::Hash leaf = merkle::leaf_hash(entry);
      if (std::string_view(reinterpret_cast<const char*>(leaf.data()), 32) !=
          std::string_view(hashes).substr(i * 32, 32))
        return Out(
            finding("rewritten-record", 4,
                    "entry " + std::to_string(index) + " does not hash to its leaf in the tree"));
      if (index >= from) out.push_back(leaf);
    }
    if (!rest.empty())
      return Out(
          finding("missing-entry", 5, "entry bundle " + std::to_string(n) + " has trailing bytes"));
  }
  return Out(std::move(out));
}

}  // namespace

Result<Finding> monitor_step(MonitorState& state, const std::string& checkpoint,
                             const note::VerifierKey& log_key,
                             const std::vector<note::VerifierKey>& witnesses, std::size_t quorum,
                             const TileFetch& fetch) {
  auto text = note::open(checkpoint, log_key);
  if (!text.ok())
    return finding("unverified", 6,
                   "the checkpoint is not signed by the log key: " + text.error().message());
  auto cp = merkle::parse_checkpoint(*text);
  if (!cp.ok()) return finding("unverified", 6, cp.error().message());
  std::size_t cosigned = 0;
  std::string missing;
  for (const auto& w : witnesses) {
    if (cosig::verify(checkpoint, w).ok())
      ++cosigned;
    else
      missing += (missing.empty() ? "" : ", ") + w.name;
  }
  const uint64_t old_size = state.leaves.size();
  if (!state.checkpoint.empty()) {
    auto old_text = note::open(state.checkpoint, log_key);
    KP_ENSURE(old_text.ok(), "monitor-state-damaged",
              "the mirror's checkpoint no longer verifies with the log key");
    auto old = merkle::parse_checkpoint(*old_text);
    if (old.ok() && old->origin != cp->origin)
      return finding("split-view", 3, "the checkpoint names another log: " + cp->origin);
    if (cp->size < old_size)
      return finding("missing-entry", 5,
                     "the log shrank from " + std::to_string(old_size) + " to " +
                         std::to_string(cp->size) + " records: records were removed");
    if (cp->size == old_size && old.ok() && old->root != cp->root)
      return finding("split-view", 3,
                     "two different checkpoints of size " + std::to_string(cp->size));
  }
  KP_TRY(auto got, fetch_leaves(old_size, cp->size, fetch));
  if (auto* f = std::get_if<Finding>(&got)) return *f;
  auto& fresh = std::get<std::vector<merkle::Hash>>(got);
  std::vector<merkle::Hash> all = state.leaves;
  all.insert(all.end(), fresh.begin(), fresh.end());
  if (merkle::root_of(all) != cp->root) {
    // Which one: a record we mirrored changed, or the tree is not the entries'.
    for (uint64_t n = 0; n * kTileWidth < old_size; ++n) {
      const uint64_t width = std::min<uint64_t>(kTileWidth, cp->size - n * kTileWidth);
      auto hashes = fetch(tile_path(Tile{false, 0, n, width}));
      if (!hashes.ok()) break;
      for (uint64_t i = 0; i < width && n * kTileWidth + i < old_size; ++i) {
        const uint64_t index = n * kTileWidth + i;
        if (hashes->size() < (i + 1) * 32 ||
            std::string_view(*hashes).substr(i * 32, 32) !=
                std::string_view(reinterpret_cast<const char*>(state.leaves[index].data()), 32))
          return finding("rewritten-record", 4,
                         "record " + std::to_string(index) +
                             " is not the record mirrored before: the log was rewritten");
      }
    }
    return finding("split-view", 3,
                   "checkpoint " + std::to_string(cp->size) + " does not extend the one of size " +
                       std::to_string(old_size) + " seen before");
  }
  if (cosigned < quorum)
    return finding("unverified", 6,
                   "checkpoint " + std::to_string(cp->size) + " has " + std::to_string(cosigned) +
                       " of " + std::to_string(quorum) +
                       " witness cosignatures needed (missing: " + missing +
                       "): the witnesses did not see it, a split view or a rewritten log");
  state.checkpoint = checkpoint;
  state.leaves = std::move(all);
  return finding("ok", 0,
                 "checkpoint " + std::to_string(cp->size) + " verified with " +
                     std::to_string(cosigned) + " cosignatures; " + std::to_string(fresh.size()) +
                     " new entries checked");
}

}  // namespace kp::audit
