// Unit tests for store/db.h: the statement cache behind Db::prepare().
#include "store/db.h"

#include <doctest/doctest.h>

#include "tests/support/temp_dir.h"

using namespace kp;

TEST_CASE("db: a released statement is reused, reset and without bindings") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  REQUIRE(db->run_script("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1), (2), (3);").ok());
  const char* sql = "SELECT a FROM t WHERE ?1 IS NULL OR a = ?1 ORDER BY a";
  sqlite3_stmt* first = nullptr;
  {
    auto st = db->prepare(sql);
    REQUIRE(st.ok());
    st->bind(1, int64_t{2});
    REQUIRE(*st->step());
    CHECK(st->col_int(0) == 2);
    first = sqlite3_next_stmt(db->raw(), nullptr);
    // left half-read on purpose: releasing resets it
  }
  auto again = db->prepare(sql);
  REQUIRE(again.ok());
  CHECK(sqlite3_next_stmt(db->raw(), nullptr) == first);  // the same statement, not a new one
  REQUIRE(*again->step());
  CHECK(again->col_int(0) == 1);  // no binding left over: all rows, from the start
}

TEST_CASE("db: statements in use are never shared") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  REQUIRE(db->run_script("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1), (2);").ok());
  const char* sql = "SELECT a FROM t ORDER BY a";
  auto outer = db->prepare(sql);
  REQUIRE(outer.ok());
  REQUIRE(*outer->step());
  {
    auto inner = db->prepare(sql);  // same text while the first is mid-query
    REQUIRE(inner.ok());
    REQUIRE(*inner->step());
    CHECK(inner->col_int(0) == 1);
  }
  REQUIRE(*outer->step());
  CHECK(outer->col_int(0) == 2);  // the outer cursor was not disturbed
}

TEST_CASE("db: errors still surface through cached statements") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  REQUIRE(db->run_script("CREATE TABLE t(a INTEGER UNIQUE);").ok());
  for (int i = 0; i < 2; ++i) {
    auto st = db->prepare("INSERT INTO t(a) VALUES (?)");
    REQUIRE(st.ok());
    st->bind(1, int64_t{7});
    Status s = st->run();
    if (i == 0)
      CHECK(s.ok());
    else
      CHECK(s.error().code == "store-duplicate");
  }
  CHECK(db->prepare("SELEKT nonsense").error().code == "store-failed");
  // A statement that outlives its connection object is finalized, not cached.
  std::optional<store::Stmt> late;
  {
    auto db2 = store::Db::open(dir.path() + "/k.db");
    REQUIRE(db2.ok());
    auto st = db2->prepare("SELECT count(*) FROM t");
    REQUIRE(st.ok());
    late.emplace(std::move(*st));
  }
  late.reset();
}

TEST_CASE("db: a broken reference or NOT NULL is not reported as a duplicate") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");  // foreign keys on, as always
  REQUIRE(db.ok());
  REQUIRE(db->run_script("CREATE TABLE p(id INTEGER PRIMARY KEY);"
                         "CREATE TABLE c(p INTEGER NOT NULL REFERENCES p(id));"
                         "INSERT INTO p(id) VALUES (1);")
              .ok());
  auto insert = [&](std::optional<int64_t> parent) {
    auto st = db->prepare("INSERT INTO c(p) VALUES (?)");
    REQUIRE(st.ok());
    st->bind(1, parent);
    return st->run();
  };
  CHECK(insert(1).ok());
  CHECK(insert(2).error().code == "store-reference");
  CHECK(insert(std::nullopt).error().code == "store-invalid");
  auto dup = db->prepare("INSERT INTO p(id) VALUES (1)");
  REQUIRE(dup.ok());
  CHECK(dup->run().error().code == "store-duplicate");
}

TEST_CASE("db: a read-only handle reads new commits and refuses every write") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/k.db";
  CHECK(store::Db::open_readonly(path).error().code == "store-open-failed");  // never creates
  auto rw = store::Db::open(path);
  REQUIRE(rw.ok());
  REQUIRE(rw->run_script("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1);").ok());
  auto ro = store::Db::open_readonly(path);
  REQUIRE(ro.ok());
  auto count = [&]() {
    auto st = ro->prepare("SELECT count(*) FROM t");
    REQUIRE(st.ok());
    REQUIRE(*st->step());
    return st->col_int(0);
  };
  CHECK(count() == 1);
  REQUIRE(rw->run_script("INSERT INTO t VALUES (2);").ok());
  CHECK(count() == 2);  // sees the writer's commit through the WAL
  CHECK_FALSE(ro->run_script("INSERT INTO t VALUES (3);").ok());
  CHECK_FALSE(ro->run_script("CREATE TABLE u(b);").ok());
  CHECK(count() == 2);
}
