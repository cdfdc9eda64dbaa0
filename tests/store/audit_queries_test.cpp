// Unit tests for store/audit_queries.h and store/auditor_tokens.h on a
// real SQLite file.
#include "store/audit_queries.h"

#include <doctest/doctest.h>

#include "common/dates.h"
#include "store/auditor_tokens.h"
#include "store/registry.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

const int64_t kDay0 = 1763769600000;  // 2025-11-22T00:00:00Z

void add(store::Db& db, int64_t ts, const std::string& event, const std::string& outcome,
         const std::optional<std::string>& municipality) {
  store::AuditEvent e;
  e.ts_ms = ts;
  e.event = event;
  e.outcome = outcome;
  e.municipality = municipality;
  REQUIRE(store::append_audit(db, e).ok());
}

}  // namespace

TEST_CASE("audit queries: filters, pages, counts per day") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  CHECK_FALSE(store::first_audit_ms(*db)->has_value());
  add(*db, kDay0 + 1000, "sftp.upload", "success", "GM0363");
  add(*db, kDay0 + 2000, "sftp.upload", "success", "GM0599");
  add(*db, kDay0 + 3000, "auth.login", "refused", std::nullopt);
  add(*db, kDay0 + kDayMs + 1, "sftp.download", "success", "GM0363");
  add(*db, kDay0 + kDayMs + 2, "sftp.upload", "refused", "GM0363");
  add(*db, kDay0 + kDayMs + 3, "sftp.upload", "success", "GM0363");

  CHECK(**store::first_audit_ms(*db) == kDay0 + 1000);
  store::AuditFilter all;
  CHECK(*store::count_audit(*db, all) == 6);
  store::AuditFilter ams;
  ams.municipality = "GM0363";
  CHECK(*store::count_audit(*db, ams) == 4);
  ams.outcome = "success";
  CHECK(*store::count_audit(*db, ams) == 3);
  ams.event = "sftp.upload";
  CHECK(*store::count_audit(*db, ams) == 2);
  store::AuditFilter day1;
  day1.since_ms = kDay0 + kDayMs;
  day1.until_ms = kDay0 + 2 * kDayMs;
  CHECK(*store::count_audit(*db, day1) == 3);
  store::AuditFilter day0;
  day0.until_ms = kDay0 + kDayMs;  // exclusive
  CHECK(*store::count_audit(*db, day0) == 3);
  // A value that would be SQL if pasted matches nothing and breaks nothing.
  store::AuditFilter hostile;
  hostile.event = "x' OR '1'='1";
  CHECK(*store::count_audit(*db, hostile) == 0);

  auto newest = store::list_audit_filtered(*db, all, 0, 2, true);
  REQUIRE(newest.ok());
  REQUIRE(newest->size() == 2);
  CHECK((*newest)[0].id == 6);
  CHECK((*newest)[1].id == 5);
  auto page3 = store::list_audit_filtered(*db, all, 4, 2, true);
  REQUIRE(page3->size() == 2);
  CHECK((*page3)[1].id == 1);
  CHECK(store::list_audit_filtered(*db, all, 6, 2, true)->empty());
  auto oldest = store::list_audit_filtered(*db, all, 0, -1, false);
  REQUIRE(oldest->size() == 6);
  CHECK(oldest->front().id == 1);

  auto per_day = store::transfers_per_day(*db, all);
  REQUIRE(per_day.ok());
  REQUIRE(per_day->size() == 3);
  CHECK((*per_day)[0].day_ms == kDay0);
  CHECK((*per_day)[0].municipality == "GM0363");
  CHECK((*per_day)[0].count == 1);
  CHECK((*per_day)[1].municipality == "GM0599");
  CHECK((*per_day)[2].day_ms == kDay0 + kDayMs);
  CHECK((*per_day)[2].count == 2);  // the download and the successful upload, not the refused one
  store::AuditFilter rdam;
  rdam.municipality = "GM0599";
  CHECK(store::transfers_per_day(*db, rdam)->size() == 1);
  // The chart follows the event and outcome filters too.
  rdam.event = "auth.login";  // not a transfer: nothing to count
  CHECK(store::transfers_per_day(*db, rdam)->empty());
  store::AuditFilter refused_only;
  refused_only.outcome = "refused";
  auto refused = store::transfers_per_day(*db, refused_only);
  REQUIRE(refused->size() == 1);
  CHECK(refused->front().count == 1);
  store::AuditFilter downloads;
  downloads.event = "sftp.download";
  auto dl = store::transfers_per_day(*db, downloads);
  REQUIRE(dl->size() == 1);
  CHECK(dl->front().count == 1);
}

TEST_CASE("auditor tokens: only auditors, replace, look up") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  store::SshKeyRecord k1{"ssh-ed25519", "A", "SHA256:A"}, k2{"ssh-ed25519", "B", "SHA256:B"};
  REQUIRE(store::add_account(*db, {"a.audit", "auditor", {}, {}, {}}, k1, 1).ok());
  REQUIRE(store::add_account(*db, {"j.jansen", "person", {}, {}, {}}, k2, 1).ok());
  store::TokenHash h1{}, h2{};
  h1[0] = 1;
  h2[0] = 2;
  CHECK_FALSE(store::auditor_token(*db, "a.audit")->has_value());
  CHECK(store::set_auditor_token(*db, "a.audit", h1, 5).ok());
  CHECK(**store::auditor_token(*db, "a.audit") == h1);
  CHECK(store::set_auditor_token(*db, "a.audit", h2, 6).ok());
  CHECK(**store::auditor_token(*db, "a.audit") == h2);
  CHECK(store::set_auditor_token(*db, "j.jansen", h1, 5).error().code == "not-found");
  CHECK(store::set_auditor_token(*db, "nobody", h1, 5).error().code == "not-found");
  CHECK_FALSE(store::auditor_token(*db, "j.jansen")->has_value());
  CHECK_FALSE(store::auditor_token(*db, "nobody")->has_value());
  // A disabled auditor has no token any more (open web sessions end).
  CHECK(store::disable_account(*db, "a.audit", 7).ok());
  CHECK_FALSE(store::auditor_token(*db, "a.audit")->has_value());
}
