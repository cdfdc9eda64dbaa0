// The transfer log as C2SP tlog-tiles; see tiles.h.
#include "audit/tiles.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "audit/merkle.h"
#include "audit/record.h"
#include "common/atomic_file.h"
#include "common/datadir.h"
#include "store/transfer_log.h"

namespace kp::audit {

namespace {


std::string index_path(uint64_t n) {
  std::string out;
  char group[8];
  std::snprintf(group, sizeof group, "%03u", unsigned(n % 1000));
  out = group;
  for (n /= 1000; n > 0; n /= 1000) {
    std::snprintf(group, sizeof group, "x%03u/", unsigned(n % 1000));
    out = group + out;
  }
  return out;
}

// How many hashes the level-`level` row of a tree of `size` leaves has.
uint64_t row_width(unsigned level, uint64_t size) {
  const unsigned shift = kTileHeight * level;
  return shift >= 64 ? 0 : size >> shift;
}

Status make_parents(const std::string& root, const std::string& rel) {
  std::size_t pos = 0;
  while ((pos = rel.find('/', pos)) != std::string::npos) {
    KP_GUARD(ensure_dir(root + "/" + rel.substr(0, pos)));
    ++pos;
  }
  return ok_status();
}

// Removes dir/<N>.p/* and the folder: the partial tiles a full one replaced.
void remove_partials(const std::string& partial_dir) {
  DIR* d = ::opendir(partial_dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") ::unlink((partial_dir + "/" + name).c_str());
  }
  ::closedir(d);
  ::rmdir(partial_dir.c_str());
}

}  // namespace


std::string tile_path(const Tile& t) {
  std::string p = t.entries ? "tile/entries/" : "tile/" + std::to_string(t.level) + "/";
  p += index_path(t.index);
  if (!t.full()) p += ".p/" + std::to_string(t.width);
  return p;
}

Result<Tile> parse_tile_path(std::string_view path) {
  auto bad = [&] {
    return make_error("tile-malformed", "not a tile path: " + std::string(path.substr(0, 80)));
  };
  if (!path.starts_with("tile/")) return bad();
  path.remove_prefix(5);
  Tile t;
  const std::size_t slash = path.find('/');
  if (slash == std::string_view::npos) return bad();
  std::string_view head = path.substr(0, slash);
  if (head == "entries") {
    t.entries = true;
  } else {
    uint64_t level = 0;
    if (!merkle::parse_decimal(head, level) || level > 63) return bad();
    t.level = unsigned(level);
  }
  path.remove_prefix(slash + 1);
  // The index: groups "xNNN/" then a last "NNN", then maybe ".p/W".
  std::string_view width_part;
  const bool partial = path.find(".p/") != std::string_view::npos;
  if (partial) {
    const std::size_t p = path.find(".p/");
    width_part = path.substr(p + 3);
    path = path.substr(0, p);
  }
  uint64_t index = 0;
  std::size_t groups = 0;
  for (;;) {
    const std::size_t next = path.find('/');
    std::string_view g = path.substr(0, next);
    const bool last = next == std::string_view::npos;
    if (!last) {
      if (g.size() != 4 || g[0] != 'x') return bad();
      g.remove_prefix(1);
    }
    if (g.size() != 3 || ++groups > 7) return bad();
    for (char c : g)
      if (c < '0' || c > '9') return bad();
    index = index * 1000 + uint64_t((g[0] - '0') * 100 + (g[1] - '0') * 10 + (g[2] - '0'));
    if (last) break;
    path.remove_prefix(next + 1);
  }
  // "x000/001" is not the spelling of 1: only the shortest form is a tile.
  if (index_path(index).size() != groups * 5 - 2) return bad();
  t.index = index;
  if (partial) {
    uint64_t w = 0;
    if (!merkle::parse_decimal(width_part, w) || w < 1 || w >= kTileWidth) return bad();
    t.width = w;
  }
  return t;
}

bool tile_in_tree(const Tile& t, uint64_t size) {
  const uint64_t row = row_width(t.entries ? 0 : t.level, size);
  if (t.full()) return t.index < row / kTileWidth;
  return t.index == row / kTileWidth && t.width == row % kTileWidth;
}

bool tile_available(const Tile& t, uint64_t size) {
  const unsigned shift = kTileHeight * (t.entries ? 0 : t.level);
  const uint64_t end = t.index * kTileWidth + t.width;  // in units of 256^L leaves
  if (shift >= 64 || t.index > (UINT64_MAX >> 9)) return false;
  return end <= (size >> shift);
}

std::vector<Tile> tiles_of(uint64_t size) {
  std::vector<Tile> out;
  for (unsigned level = 0; level < 64; ++level) {
    const uint64_t row = row_width(level, size);
    if (row == 0) break;
    for (uint64_t n = 0; n < row / kTileWidth; ++n) {
      out.push_back(Tile{false, level, n, kTileWidth});
      if (level == 0) out.push_back(Tile{true, 0, n, kTileWidth});
    }
    if (row % kTileWidth) {
      out.push_back(Tile{false, level, row / kTileWidth, row % kTileWidth});
      if (level == 0) out.push_back(Tile{true, 0, row / kTileWidth, row % kTileWidth});
    }
  }
  return out;
}

Result<std::string> read_tile(store::Db& db, const Tile& t) {
  const uint64_t first = t.index * kTileWidth;
  if (!t.entries) return store::tree_node_run(db, kTileHeight * t.level, first, t.width);
  KP_TRY(auto records, store::audit_run(db, first, t.width));
  std::string out;
  std::string bytes;
  for (std::size_t i = 0; i < records.size(); ++i) {
    bytes = canonical_record(records[i], first + i);
    KP_ENSURE(bytes.size() <= 0xFFFF, "audit-record-too-large",
              "record " + std::to_string(first + i) + " is longer than an entry bundle can hold");
    out.push_back(char(bytes.size() >> 8));
    out.push_back(char(bytes.size() & 0xFF));
    out += bytes;
  }
  return out;
}

Status write_tiles(store::Db& db, const std::string& dir, uint64_t size,
                   const std::string& checkpoint_note) {
  KP_GUARD(ensure_dir(dir));
  struct stat st {};
  for (const Tile& t : tiles_of(size)) {
    const std::string rel = tile_path(t);
    const std::string path = dir + "/" + rel;
    if (t.full() && ::stat(path.c_str(), &st) == 0) continue;  // full tiles never change
    KP_GUARD(make_parents(dir, rel));
    KP_TRY(std::string bytes, read_tile(db, t));
    KP_GUARD(write_file_atomic(path, bytes));
    if (t.full()) remove_partials(path + ".p");
  }
  return write_file_atomic(dir + "/checkpoint", checkpoint_note);
}

}  // namespace kp::audit
