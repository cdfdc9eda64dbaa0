// Unit tests for store/cases.h on a real SQLite file: the queue's order,
// decisions that move a case only from the state the caller saw (a second
// decision gets "case-state-changed"), taken_ms set on take only and kept
// afterwards (yearly capacity), and enrichment replies joining their case.
#include "store/cases.h"

#include <doctest/doctest.h>

#include "tests/support/store_world.h"

using namespace kp;
using kp::testing::StoreWorld;

namespace {

store::Case case_of(store::Db& db, const std::string& id) {
  auto c = store::find_case(db, id);
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  return **c;
}

std::string state_error(const Status& s) {
  return s.ok() ? std::string() : s.error().code;
}

}  // namespace

TEST_CASE("cases: listed highest score first, then oldest; found by id") {
  StoreWorld w;
  CHECK(store::list_cases(w.db())->empty());
  const int64_t up = w.accepted_case("KP-2026-000001", "GM0363", 2.5, 300);
  w.accepted_case("KP-2026-000002", "GM0599", 7.0, 400);
  w.accepted_case("KP-2026-000003", "GM0363", 2.5, 200);
  auto all = store::list_cases(w.db());
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].id == "KP-2026-000002");
  CHECK((*all)[1].id == "KP-2026-000003");  // same score, created earlier
  CHECK((*all)[2].id == "KP-2026-000001");

  store::Case c = case_of(w.db(), "KP-2026-000001");
  CHECK(c.upload_id == up);
  CHECK(c.municipality == "GM0363");
  CHECK(c.kind == "signal");
  CHECK_FALSE(c.in_reply_to);
  CHECK(c.provider_kvk == "12345678");
  CHECK(c.provider_name == "Zorg BV");
  CHECK(c.domain == "Wmo");
  CHECK(c.score == doctest::Approx(2.5));
  CHECK(c.score_parts == "{}");
  CHECK(c.queue_name == "KP-2026-000001.age");
  CHECK(c.state == "queued");
  CHECK(c.created_ms == 300);
  CHECK_FALSE(c.state_ms);
  CHECK_FALSE(c.state_by);
  CHECK_FALSE(c.state_reason);
  CHECK_FALSE(c.taken_ms);

  auto none = store::find_case(w.db(), "KP-2026-999999");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  // A value that is not a case id is just not found (bound, never pasted).
  auto odd = store::find_case(w.db(), "x' OR '1'='1");
  REQUIRE(odd.ok());
  CHECK_FALSE(odd->has_value());
}

TEST_CASE("cases: take, then close; who, when and taken_ms are recorded") {
  StoreWorld w;
  w.accepted_case("KP-2026-000001", "GM0363");
  REQUIRE(store::set_case_state(w.db(), "KP-2026-000001", "queued", "taken", "s.staff",
                                std::nullopt, 5000)
              .ok());
  store::Case c = case_of(w.db(), "KP-2026-000001");
  CHECK(c.state == "taken");
  CHECK(c.state_ms == 5000);
  CHECK(c.state_by == "s.staff");
  CHECK_FALSE(c.state_reason);
  CHECK(c.taken_ms == 5000);

  // Closing moves the decision time on but keeps when it was taken.
  REQUIRE(
      store::set_case_state(w.db(), "KP-2026-000001", "taken", "closed", "hub", std::nullopt, 9000)
          .ok());
  c = case_of(w.db(), "KP-2026-000001");
  CHECK(c.state == "closed");
  CHECK(c.state_ms == 9000);
  CHECK(c.state_by == "hub");
  CHECK(c.taken_ms == 5000);
}

TEST_CASE("cases: a decline records its reason and never sets taken_ms") {
  StoreWorld w;
  w.accepted_case("KP-2026-000001", "GM0363");
  REQUIRE(store::set_case_state(w.db(), "KP-2026-000001", "queued", "declined", "s.staff",
                                std::string("outside our remit"), 6000)
              .ok());
  store::Case c = case_of(w.db(), "KP-2026-000001");
  CHECK(c.state == "declined");
  CHECK(c.state_reason == "outside our remit");
  CHECK(c.state_by == "s.staff");
  CHECK(c.state_ms == 6000);
  CHECK_FALSE(c.taken_ms);
  CHECK(*store::cases_taken_since(w.db(), 0) == 0);
}

TEST_CASE("cases: a decision on a case that moved meanwhile is refused and changes nothing") {
  StoreWorld w;
  w.accepted_case("KP-2026-000001", "GM0363");
  REQUIRE(store::set_case_state(w.db(), "KP-2026-000001", "queued", "taken", "a", std::nullopt, 10)
              .ok());
  // A second staff member saw it queued and declines: too late.
  CHECK(state_error(store::set_case_state(w.db(), "KP-2026-000001", "queued", "declined", "b",
                                          std::string("no"), 20)) == "case-state-changed");
  // Taking twice is refused the same way.
  CHECK(state_error(store::set_case_state(w.db(), "KP-2026-000001", "queued", "taken", "b",
                                          std::nullopt, 30)) == "case-state-changed");
  store::Case c = case_of(w.db(), "KP-2026-000001");
  CHECK(c.state == "taken");
  CHECK(c.state_by == "a");
  CHECK(c.state_ms == 10);
  CHECK(c.taken_ms == 10);
  CHECK_FALSE(c.state_reason);
  w.accepted_case("KP-2026-000002", "GM0363");
  REQUIRE(store::set_case_state(w.db(), "KP-2026-000002", "queued", "declined", "a",
                                std::string("no"), 40)
              .ok());
  // A declined case is no longer queued: taking it is refused.
  CHECK(state_error(store::set_case_state(w.db(), "KP-2026-000002", "queued", "taken", "a",
                                          std::nullopt, 60)) == "case-state-changed");
  CHECK_FALSE(case_of(w.db(), "KP-2026-000002").taken_ms);
  // An unknown case.
  CHECK(state_error(store::set_case_state(w.db(), "KP-2026-999999", "queued", "taken", "a",
                                          std::nullopt, 70)) == "case-state-changed");
  CHECK_FALSE(store::find_case(w.db(), "KP-2026-999999")->has_value());
}

TEST_CASE("cases: cases_taken_since counts takes at or after the moment, closed ones too") {
  StoreWorld w;
  for (const char* id : {"KP-2026-000001", "KP-2026-000002", "KP-2026-000003", "KP-2026-000004"})
    w.accepted_case(id, "GM0363");
  CHECK(*store::cases_taken_since(w.db(), 0) == 0);
  REQUIRE(
      store::set_case_state(w.db(), "KP-2026-000001", "queued", "taken", "a", std::nullopt, 1000)
          .ok());
  REQUIRE(
      store::set_case_state(w.db(), "KP-2026-000002", "queued", "taken", "a", std::nullopt, 2000)
          .ok());
  REQUIRE(store::set_case_state(w.db(), "KP-2026-000003", "queued", "declined", "a",
                                std::string("no"), 3000)
              .ok());
  REQUIRE(
      store::set_case_state(w.db(), "KP-2026-000002", "taken", "closed", "a", std::nullopt, 4000)
          .ok());
  CHECK(*store::cases_taken_since(w.db(), 0) == 2);
  CHECK(*store::cases_taken_since(w.db(), 1000) == 2);  // at the moment counts
  CHECK(*store::cases_taken_since(w.db(), 1001) == 1);
  CHECK(*store::cases_taken_since(w.db(), 2000) == 1);  // closed later, taken at 2000
  CHECK(*store::cases_taken_since(w.db(), 2001) == 0);
}

TEST_CASE("cases: enrichment replies join their case") {
  StoreWorld w;
  w.accepted_case("KP-2026-000001", "GM0363");
  w.accepted_case("KP-2026-000002", "GM0363");
  CHECK(store::replies_of(w.db(), "KP-2026-000001")->empty());
  CHECK(store::list_replies(w.db())->empty());

  const int64_t r1 = w.upload("GM0363", "reply1.age");
  const int64_t r2 = w.upload("GM0363", "reply2.age");
  const int64_t r3 = w.upload("GM0363", "reply3.age");
  REQUIRE(
      store::insert_reply(w.db(), {r2, "KP-2026-000001-R2", "KP-2026-000001", "q2.age", 20}).ok());
  REQUIRE(
      store::insert_reply(w.db(), {r1, "KP-2026-000001-R1", "KP-2026-000001", "q1.age", 10}).ok());
  REQUIRE(
      store::insert_reply(w.db(), {r3, "KP-2026-000002-R1", "KP-2026-000002", "q3.age", 30}).ok());
  auto of1 = store::replies_of(w.db(), "KP-2026-000001");
  REQUIRE(of1.ok());
  REQUIRE(of1->size() == 2);
  CHECK((*of1)[0].upload_id == r1);  // in upload order
  CHECK((*of1)[0].request_id == "KP-2026-000001-R1");
  CHECK((*of1)[0].case_id == "KP-2026-000001");
  CHECK((*of1)[0].queue_name == "q1.age");
  CHECK((*of1)[0].created_ms == 10);
  CHECK((*of1)[1].upload_id == r2);
  CHECK(store::replies_of(w.db(), "KP-2026-000002")->size() == 1);
  CHECK(store::replies_of(w.db(), "KP-2026-999999")->empty());
  CHECK(store::list_replies(w.db())->size() == 3);

  // One reply per upload; a reply needs a real case and a real upload.
  CHECK_FALSE(
      store::insert_reply(w.db(), {r1, "KP-2026-000002-R1", "KP-2026-000002", "x.age", 40}).ok());
  const int64_t r4 = w.upload("GM0363", "reply4.age");
  CHECK_FALSE(
      store::insert_reply(w.db(), {r4, "KP-2026-999999-R1", "KP-2026-999999", "x.age", 40}).ok());
  CHECK_FALSE(
      store::insert_reply(w.db(), {r4 + 100, "KP-2026-000001-R3", "KP-2026-000001", "x.age", 40})
          .ok());
  CHECK(store::list_replies(w.db())->size() == 3);
}
