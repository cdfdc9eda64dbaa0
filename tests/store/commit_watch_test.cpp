// Unit tests for store/commit_watch.h: commits by this connection, by
// another connection and by another process are seen; reads are not.
#include "store/commit_watch.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

store::Db open_db(const std::string& path) {
  auto db = store::Db::open(path);
  REQUIRE(db.ok());
  return std::move(*db);
}

// Commits one row from a forked process with its own connection.
void commit_from_child(const std::string& path, int value) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto db = store::Db::open(path);
    bool ok = false;
    if (db.ok()) {
      auto st = db->prepare("INSERT INTO t VALUES (?)");
      ok = st.ok() && st->bind(1, value).run().ok();
    }
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE("commit watch: the first look says changed, then only commits count") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/k.db";
  store::Db a = open_db(path);
  store::Db b = open_db(path);
  REQUIRE(a.run_script("CREATE TABLE t(v INTEGER)").ok());
  store::CommitWatch watch(a);

  CHECK(watch.changed());   // nothing to compare with yet
  CHECK(!watch.changed());  // nothing committed since

  SUBCASE("reads on either connection are not commits") {
    REQUIRE(a.run_script("SELECT count(*) FROM t").ok());
    REQUIRE(b.run_script("SELECT count(*) FROM t").ok());
    CHECK(!watch.changed());
  }
  SUBCASE("another connection's commit, seen once") {
    REQUIRE(b.run_script("INSERT INTO t VALUES (1)").ok());
    CHECK(watch.changed());
    CHECK(!watch.changed());
  }
  SUBCASE("this connection's own commit") {
    REQUIRE(a.run_script("INSERT INTO t VALUES (1)").ok());
    CHECK(watch.changed());
  }
  SUBCASE("another process's commit") {
    commit_from_child(path, 7);
    CHECK(watch.changed());
    CHECK(!watch.changed());
  }
  SUBCASE("a rolled-back transaction is not a commit") {
    REQUIRE(b.run_script("BEGIN IMMEDIATE; INSERT INTO t VALUES (1); ROLLBACK").ok());
    CHECK(!watch.changed());
  }
  SUBCASE("a commit after the log was checkpointed and restarted") {
    REQUIRE(b.run_script("INSERT INTO t VALUES (1)").ok());
    CHECK(watch.changed());
    REQUIRE(b.run_script("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    (void)watch.changed();  // a checkpoint may or may not touch the header
    REQUIRE(b.run_script("INSERT INTO t VALUES (2)").ok());  // restarts the log at frame 1
    CHECK(watch.changed());
  }
}

TEST_CASE("commit watch: without WAL every look says changed") {
  testing::TempDir dir;
  store::Db db = open_db(dir.path() + "/k.db");
  REQUIRE(db.run_script("PRAGMA journal_mode=DELETE").ok());
  store::CommitWatch watch(db);
  CHECK(watch.changed());
  CHECK(watch.changed());
}
