// The hot queries whose index is a partial one keep using it: a partial
// index is chosen only while the query's WHERE repeats the index's terms, so
// an innocent edit to either side would silently turn a search into a scan.
#include <doctest/doctest.h>

#include <string>

#include "store/db.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

// Every detail line of EXPLAIN QUERY PLAN for `sql`, joined by " | ".
std::string plan_of(store::Db& db, const std::string& sql) {
  auto st = db.prepare("EXPLAIN QUERY PLAN " + sql);
  REQUIRE(st.ok());
  std::string plan;
  for (;;) {
    auto row = st->step();
    REQUIRE(row.ok());
    if (!*row) break;
    if (!plan.empty()) plan += " | ";
    plan += st->col_text(3);
  }
  return plan;
}

}  // namespace

TEST_CASE("query plans: claims and failed-login counts search their partial indexes") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  // The texts as store/claims.cpp and store/audit_events.cpp build them.
  CHECK(plan_of(*db, "SELECT id FROM uploads WHERE state = 'received' AND purged_ms IS NULL "
                     "ORDER BY id LIMIT 1")
            .find("INDEX uploads_unpurged (state=?)") != std::string::npos);
  CHECK(plan_of(*db, "SELECT id, claim_pid FROM uploads WHERE state = 'processing' AND purged_ms IS NULL")
            .find("INDEX uploads_unpurged (state=?)") != std::string::npos);
  CHECK(plan_of(*db, "SELECT banned_until_ms FROM penalties WHERE block = ? AND banned_until_ms > ?")
            .find("INDEX sqlite_autoindex_penalties_1 (block=?)") != std::string::npos);
}

TEST_CASE("query plans: no metric reads a whole table") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  for (const char* sql : {
           "SELECT count(*) FROM audit_events WHERE event IN ('auth.login', 'limit.hit') "
           "AND event = 'auth.login' AND outcome = 'success'",
           "SELECT count(*) FROM audit_events WHERE event IN ('auth.login', 'limit.hit') "
           "AND event = 'limit.hit'",
       }) {
    CAPTURE(sql);
    CHECK(plan_of(*db, sql).find("INDEX audit_counted (event=?") != std::string::npos);
  }
}
