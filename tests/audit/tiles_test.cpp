// Unit tests for audit/tiles.h: the spec's path and tile-count examples, and
// tiles read from a real store hash to the stored tree.
#include "audit/tiles.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "audit/log.h"
#include "store/audit_events.h"
#include "store/transfer_log.h"
#include "tests/support/temp_dir.h"

using namespace kp;
using audit::Tile;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_CASE("tile paths: the spec's examples, and only the canonical spelling parses") {
  CHECK(audit::tile_path(Tile{false, 0, 1234067, 256}) == "tile/0/x001/x234/067");
  CHECK(audit::tile_path(Tile{false, 2, 0, 1}) == "tile/2/000.p/1");
  CHECK(audit::tile_path(Tile{true, 0, 5, 112}) == "tile/entries/005.p/112");
  auto t = audit::parse_tile_path("tile/0/x001/x234/067");
  REQUIRE(t.ok());
  CHECK(t->index == 1234067);
  CHECK(t->full());
  auto p = audit::parse_tile_path("tile/entries/005.p/112");
  REQUIRE(p.ok());
  CHECK((p->entries && p->index == 5 && p->width == 112));
  for (const char* bad :
       {"tile/0/5", "tile/00/005", "tile/64/000", "tile/0/x000/005", "tile/0/005.p/0",
        "tile/0/005.p/256", "tile/0/005.p/012", "tile/0/005/", "tile/0/x05/005", "tile/e/005",
        "tile/0/../005", "checkpoint", "tile/0/005.p/"})
    CHECK_MESSAGE(!audit::parse_tile_path(bad).ok(), bad);
}

TEST_CASE("tiles_of: the spec's tree of 70,000 and of 256") {
  auto tiles = audit::tiles_of(70000);
  int full0 = 0, full1 = 0, entries = 0;
  uint64_t partial0 = 0, partial1 = 0, partial2 = 0;
  for (const auto& t : tiles) {
    if (t.entries) {
      ++entries;
      continue;
    }
    if (t.level == 0 && t.full()) ++full0;
    if (t.level == 0 && !t.full()) partial0 = t.width;
    if (t.level == 1 && t.full()) ++full1;
    if (t.level == 1 && !t.full()) partial1 = t.width;
    if (t.level == 2) partial2 = t.width;
  }
  CHECK(full0 == 273);
  CHECK(partial0 == 112);
  CHECK(full1 == 1);
  CHECK(partial1 == 17);
  CHECK(partial2 == 1);
  CHECK(entries == 274);
  auto small = audit::tiles_of(256);
  REQUIRE(small.size() == 3);  // full level 0, its entries, partial level 1 of width 1
  CHECK(audit::tile_in_tree(Tile{false, 1, 0, 1}, 256));
  CHECK(!audit::tile_in_tree(Tile{false, 1, 0, 2}, 256));
  CHECK(audit::tile_available(Tile{false, 0, 0, 10}, 256));
  CHECK(!audit::tile_available(Tile{false, 0, 1, 10}, 256));
}

TEST_CASE(
    "tiles from a store: level 0 are the leaves, level 1 the roots of full tiles, entries hash to "
    "leaves") {
  testing::TempDir dir;
  store::Db db = std::move(store::Db::open(dir.path() + "/k.db").value());
  auto tx = store::Transaction::begin(db);  // one commit: 600 fsyncs would cost seconds
  REQUIRE(tx.ok());
  for (int i = 0; i < 600; ++i) {
    store::AuditEvent e;
    e.event = "sftp.upload";
    e.outcome = "success";
    e.actor = "p" + std::to_string(i);
    REQUIRE(store::append_audit(db, e).ok());
  }
  REQUIRE(tx->commit().ok());
  auto bundle = audit::read_tile(db, Tile{true, 0, 2, 88});
  REQUIRE(bundle.ok());
  auto hashes = audit::read_tile(db, Tile{false, 0, 2, 88});
  REQUIRE(hashes.ok());
  REQUIRE(hashes->size() == 88 * 32);
  std::string_view rest = *bundle;
  for (int i = 0; i < 88; ++i) {
    std::size_t len = (uint8_t(rest[0]) << 8) | uint8_t(rest[1]);
    auto leaf = merkle::leaf_hash(rest.substr(2, len));
    CHECK(std::string_view(reinterpret_cast<const char*>(leaf.data()), 32) ==
          std::string_view(*hashes).substr(i * 32, 32));
    rest.remove_prefix(2 + len);
  }
  CHECK(rest.empty());
  auto level1 = audit::read_tile(db, Tile{false, 1, 0, 2});
  REQUIRE(level1.ok());
  auto first = audit::root_at(db, 256);
  REQUIRE(first.ok());
  CHECK(level1->substr(0, 32) == std::string(reinterpret_cast<const char*>(first->data()), 32));
  CHECK(!audit::read_tile(db, Tile{false, 0, 3, 1}).ok());  // beyond the records
  REQUIRE(audit::write_tiles(db, dir.path() + "/log", 600, "cp\n").ok());
  CHECK(slurp(dir.path() + "/log/tile/0/001").size() == 8192);
  CHECK(slurp(dir.path() + "/log/tile/entries/002.p/88") == *bundle);
}
