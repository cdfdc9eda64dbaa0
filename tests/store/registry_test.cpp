// Unit tests for store/registry.h and store/uploads.h on a real SQLite file.
#include "store/registry.h"

#include <doctest/doctest.h>

#include "store/audit_events.h"
#include "store/uploads.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {
store::SshKeyRecord key(const std::string& b64) {
  return {"ssh-ed25519", b64, "SHA256:" + b64};
}
}  // namespace

TEST_CASE("registry: municipalities, accounts and keys") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  CHECK(store::add_municipality(*db, {"GM0363", "Amsterdam", {"age1a", "age1b"}}, 1).ok());
  CHECK(store::add_municipality(*db, {"GM0363", "Again", {}}, 1).error().code == "already-exists");
  auto m = store::find_municipality(*db, "GM0363");
  REQUIRE(m.ok());
  REQUIRE(m->has_value());
  CHECK((*m)->recipients.size() == 2);
  CHECK_FALSE(store::find_municipality(*db, "GM0599")->has_value());

  CHECK(store::add_account(*db, {"j.jansen", "person", {}, {}, {}}, key("AAA"), 1).ok());
  // Ids are unique across roles: login names must be unambiguous.
  CHECK(store::add_account(*db, {"j.jansen", "staff", {}, {}, {}}, key("BBB"), 1).error().code ==
        "already-exists");
  CHECK(*store::account_has_key(*db, "j.jansen", "AAA"));
  CHECK_FALSE(*store::account_has_key(*db, "j.jansen", "BBB"));
  CHECK_FALSE(*store::account_has_key(*db, "nobody", "AAA"));
}

TEST_CASE("registry: mandates grant, revoke, re-grant") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  REQUIRE(store::add_municipality(*db, {"GM0363", "Amsterdam", {}}, 1).ok());
  REQUIRE(store::add_account(*db, {"p", "person", {}, {}, {}}, key("K"), 1).ok());
  policy::Mandate m;
  m.person = "p";
  m.municipality = "GM0363";
  m.scopes = "upload";
  m.level = "EH3";
  m.valid_from_ms = 1;
  m.granted_ms = 1;
  auto id = store::grant_mandate(*db, m);
  REQUIRE(id.ok());
  CHECK(store::grant_mandate(*db, m).error().code == "already-exists");
  m.municipality = "GM0599";
  CHECK_FALSE(store::grant_mandate(*db, m).ok());  // unknown municipality: foreign key
  CHECK(store::revoke_mandate(*db, "p", "GM0363", 5).ok());
  CHECK(store::revoke_mandate(*db, "p", "GM0363", 6).error().code == "not-found");
  auto latest = store::latest_mandate(*db, "p", "GM0363");
  REQUIRE(latest.ok());
  REQUIRE(latest->has_value());
  CHECK((*latest)->revoked_ms == 5);
  m.municipality = "GM0363";
  CHECK(store::grant_mandate(*db, m).ok());  // a new live mandate after revocation
  CHECK_FALSE((*store::latest_mandate(*db, "p", "GM0363"))->revoked_ms);
  CHECK(store::live_mandates_of(*db, "p")->size() == 1);
  CHECK(store::grant_mandate(*db, m).error().code == "already-exists");
  m.municipality = "GM0599";
  CHECK(store::grant_mandate(*db, m).error().code == "store-reference");  // no such municipality

  // Disabling the person revokes the live mandate with it, once.
  CHECK(store::disable_account(*db, "p", 9).ok());
  CHECK((*store::find_account(*db, "p"))->disabled_ms == 9);
  CHECK(store::live_mandates_of(*db, "p")->empty());
  CHECK((*store::latest_mandate(*db, "p", "GM0363"))->revoked_ms == 9);
  CHECK(store::disable_account(*db, "p", 10).error().code == "already-disabled");
  CHECK(store::disable_account(*db, "nobody", 10).error().code == "not-found");
}

TEST_CASE("uploads: names are single-use per municipality, usage counts") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  REQUIRE(store::add_municipality(*db, {"GM0363", "Amsterdam", {}}, 1).ok());
  REQUIRE(store::add_municipality(*db, {"GM0599", "Rotterdam", {}}, 1).ok());
  REQUIRE(store::add_account(*db, {"p", "person", {}, {}, {}}, key("K"), 1).ok());
  store::Upload u;
  u.municipality = "GM0363";
  u.person = "p";
  u.name = "a.age";
  u.partial_name = "1.part";
  u.size = 10;
  u.sha256 = "00";
  u.received_ms = 100;
  store::AuditEvent e;
  e.event = "sftp.upload";
  e.outcome = "success";
  REQUIRE(store::record_upload(*db, u, e).ok());
  CHECK(store::record_upload(*db, u, e).error().code == "already-exists");
  u.municipality = "GM0599";
  CHECK(store::record_upload(*db, u, e).ok());  // same name, other municipality
  CHECK(*store::upload_name_taken(*db, "GM0363", "a.age"));
  CHECK_FALSE(*store::upload_name_taken(*db, "GM0363", "b.age"));
  auto usage = store::usage_on_day(*db, "GM0363", 86399999);  // same UTC day as 100
  CHECK(usage->files == 1);
  CHECK(usage->bytes == 10);
  CHECK(store::usage_on_day(*db, "GM0363", 86400000)->files == 0);  // the next day
  CHECK(store::usage_on_day(*db, "GM0599", 0)->bytes == 10);
  CHECK(store::usage_on_day(*db, "GM0001", 0)->files == 0);  // no uploads at all
  // A row undone (its file could not be placed) no longer counts.
  u.municipality = "GM0363";
  u.name = "b.age";
  auto b = store::record_upload(*db, u, e);
  REQUIRE(b.ok());
  CHECK(store::usage_on_day(*db, "GM0363", 0)->files == 2);
  REQUIRE(store::delete_upload(*db, *b).ok());
  CHECK(store::usage_on_day(*db, "GM0363", 0)->files == 1);
  CHECK(store::usage_on_day(*db, "GM0363", 0)->bytes == 10);
  // The failed insert wrote no audit event: one transaction.
  CHECK(store::list_audit(*db, std::string("sftp.upload"))->size() == 3);
}

TEST_CASE("store: migrations are idempotent across opens") {
  testing::TempDir dir;
  REQUIRE(store::Db::open(dir.path() + "/k.db").ok());
  REQUIRE(store::Db::open(dir.path() + "/k.db").ok());
  CHECK(store::Db::open(dir.path() + "/missing/k.db").error().code == "store-open-failed");
}
