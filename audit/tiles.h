// The transfer log as C2SP tlog-tiles (c2sp.org/tlog-tiles): the signed
// checkpoint, hash tiles and entry bundles, so that an auditor can mirror
// the log and recompute every root and proof with standard tools.
//
//   <prefix>/checkpoint                      the latest checkpoint (with cosignatures)
//   <prefix>/tile/<L>/<N>[.p/<W>]            256 hashes (8 KiB) of tree level 8*L
//   <prefix>/tile/entries/<N>[.p/<W>]        256 entries, each uint16 BE length || bytes
//
// <N> is written in 3-digit groups, all but the last prefixed with 'x'
// (1234067 -> x001/x234/067). Hash i of tile (L, N) is the perfect subtree
// of 256^L leaves at index N*256+i, which the store keeps as merkle node
// (8L, N*256+i); an entry is a record's canonical bytes (audit/record.h),
// whose leaf hash is the level-0 tile's hash. A full tile never changes; a
// partial one (W < 256 hashes) exists only for sizes a checkpoint names.
//
// Error codes: "tile-not-found" (a path that names no tile of the tree),
// "tile-malformed" (a path not in the spec's form), store errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace kp::audit {

inline constexpr uint64_t kTileWidth = 256;
inline constexpr unsigned kTileHeight = 8;

struct Tile {
  bool entries = false;  // an entry bundle instead of a hash tile
  unsigned level = 0;    // hash tiles: 0..63
  uint64_t index = 0;
  uint64_t width = kTileWidth;  // 1..256; < 256 is a partial tile
  bool full() const { return width == kTileWidth; }
};

// "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]" (no prefix).
std::string tile_path(const Tile& t);
// Parses a path as tile_path writes it; refuses leading zeros, levels above
// 63, widths outside 1..255 after ".p/", anything else. Error "tile-malformed".
Result<Tile> parse_tile_path(std::string_view path);

// Every tile (hash tiles and entry bundles) of a tree of `size` leaves: all
// full ones and the partial ones of that size.
std::vector<Tile> tiles_of(uint64_t size);

// True when `t` is a tile of the tree of `size` leaves: full tiles within
// it, or exactly the partial tile that size has.
bool tile_in_tree(const Tile& t, uint64_t size);

// True when every hash (or entry) of `t` lies within the first `size`
// leaves: any full tile there, and any partial tile a smaller checkpoint
// could have named (its bytes never change either).
bool tile_available(const Tile& t, uint64_t size);

// The bytes of tile `t` read from the store (the caller checked
// tile_in_tree against a checkpoint's size). Errors: "tile-not-found",
// "audit-tree-damaged", store errors.
Result<std::string> read_tile(store::Db& db, const Tile& t);

// Writes the tiles of the tree of the checkpoint's size below `dir` in the
// spec's layout (a full tile once, a partial one replaced by the full one
// when it completes) and then `checkpoint_note` as dir/checkpoint; every
// file atomically, so a reader never sees half a tile. Files of full tiles
// already there are kept: they cannot change.
Status write_tiles(store::Db& db, const std::string& dir, uint64_t size,
                   const std::string& checkpoint_note);

}  // namespace kp::audit
