// Unit tests for store/eherkenning.h: organisation lookups, the replay
// cache, and the login transaction (person by pseudonym, mandate granted
// once then refreshed, operator mandates untouched).
#include "store/eherkenning.h"

#include <doctest/doctest.h>

#include "store/audit_events.h"
#include "store/registry.h"
#include "tests/support/temp_dir.h"

using namespace kp;
using namespace kp::store;

namespace {

struct World {
  testing::TempDir dir;
  Db db = Db::open(dir.path() + "/k.db").value();
  World() {
    REQUIRE(add_municipality(db, {"GM0001", "A", {}}, 1).ok());
    REQUIRE(add_municipality(db, {"GM0002", "B", {}}, 1).ok());
    REQUIRE(set_municipality_org(db, "GM0001", std::string("12345678"), std::nullopt).ok());
  }
  EhLogin login(const std::string& assertion, const std::string& pseudonym = "p1") {
    EhLogin l;
    l.facts.assertion_id = assertion;
    l.facts.expires_ms = 10'000;
    l.facts.pseudonym = pseudonym;
    l.municipality = "GM0001";
    l.level = "EH3";
    l.mandate_period_ms = 1000;
    l.source = "127.0.0.1";
    return l;
  }
};

}  // namespace

TEST_CASE("eherkenning store: municipalities by KvK number or RSIN") {
  World w;
  CHECK(municipality_by_org(w.db, "kvk", "12345678").value() == std::optional<std::string>("GM0001"));
  CHECK(!municipality_by_org(w.db, "rsin", "12345678").value());
  CHECK(set_municipality_org(w.db, "GM0002", std::string("12345678"), std::nullopt).error().code ==
        "already-exists");
  CHECK(set_municipality_org(w.db, "GM0009", std::string("1"), std::nullopt).error().code == "not-found");
}

TEST_CASE("eherkenning store: first login grants, later logins refresh, a replay is refused") {
  World w;
  auto first = record_eh_login(w.db, w.login("_a1"), 100);
  REQUIRE(first.ok());
  CHECK(first->first_login);
  auto m = latest_mandate(w.db, first->person, "GM0001").value();
  REQUIRE(m);
  CHECK(m->valid_until_ms == std::optional<int64_t>(1100));
  CHECK(m->activated_ms == std::optional<int64_t>(100));
  CHECK(record_eh_login(w.db, w.login("_a1"), 200).error().code == "eh-replayed");
  auto again = record_eh_login(w.db, w.login("_a2"), 300);
  REQUIRE(again.ok());
  CHECK(!again->first_login);
  CHECK(again->mandate_id == first->mandate_id);
  CHECK(latest_mandate(w.db, first->person, "GM0001").value()->valid_until_ms == std::optional<int64_t>(1300));
  // An expired id leaves the cache (and a fresh assertion would carry a new id anyway).
  CHECK(record_eh_login(w.db, w.login("_a1"), 20'000).ok());
  auto events = list_audit(w.db, std::string("eherkenning.login")).value();
  CHECK(events.size() == 3);
}

TEST_CASE("eherkenning store: a revoked mandate stays revoked; an operator grant is refreshed as it is; disabled persons are refused") {
  World w;
  auto first = record_eh_login(w.db, w.login("_b1"), 100);
  REQUIRE(first.ok());
  REQUIRE(revoke_mandate(w.db, first->person, "GM0001", 150).ok());
  CHECK(record_eh_login(w.db, w.login("_b2"), 200).error().code == "eh-mandate-revoked");
  policy::Mandate op;
  op.person = first->person;
  op.municipality = "GM0001";
  op.scopes = "upload";
  op.level = "EH3";
  op.valid_from_ms = 0;
  op.valid_until_ms = 5000;
  op.granted_ms = 250;
  auto id = grant_mandate(w.db, op);
  REQUIRE(id.ok());
  auto next = record_eh_login(w.db, w.login("_b4"), 260);
  REQUIRE(next.ok());
  CHECK(next->mandate_id == *id);
  CHECK(latest_mandate(w.db, first->person, "GM0001").value()->valid_until_ms == std::optional<int64_t>(5000));
  REQUIRE(disable_account(w.db, first->person, 300).ok());
  CHECK(record_eh_login(w.db, w.login("_b3"), 400).error().code == "eh-account-disabled");
}
