// Unit tests for store/outbox.h on a real SQLite file: names are single-use
// per municipality's outbox (the same name in another outbox is fine),
// placing and acknowledging happen once (a second call keeps the first
// time), acknowledgements of names without an item change nothing, and
// items are found by their id and by their case.
#include "store/outbox.h"

#include <doctest/doctest.h>

#include "tests/support/store_world.h"

using namespace kp;
using kp::testing::StoreWorld;

namespace {

store::OutboxItem item(const std::string& municipality, const std::string& name,
                       const std::string& kind = "sip", int64_t created_ms = 100) {
  store::OutboxItem i;
  i.municipality = municipality;
  i.name = name;
  i.kind = kind;
  i.created_ms = created_ms;
  return i;
}

int64_t insert(store::Db& db, const store::OutboxItem& i) {
  auto id = store::insert_outbox_item(db, i);
  REQUIRE_MESSAGE(id.ok(), id.error().message());
  return *id;
}

store::OutboxItem by_id(store::Db& db, int64_t id) {
  auto all = store::list_outbox_items(db);
  REQUIRE(all.ok());
  for (const auto& i : *all)
    if (i.id == id) return i;
  FAIL("no outbox item " << id);
  return {};
}

}  // namespace

TEST_CASE("outbox: an item is stored with every field") {
  StoreWorld w;
  const int64_t up = w.accepted_case("KP-2026-000001", "GM0363");
  store::OutboxItem n = item("GM0363", "notice-KP-2026-000001.json", "notice", 123);
  n.case_id = "KP-2026-000001";
  n.upload_id = up;
  n.body = "{\"format\": \"knooppunt-notice/1\"}\n";
  n.signature = "untrusted comment: x\nRWQ...\n";
  const int64_t id = insert(w.db(), n);
  CHECK(id > 0);
  store::OutboxItem got = by_id(w.db(), id);
  CHECK(got.municipality == "GM0363");
  CHECK(got.name == "notice-KP-2026-000001.json");
  CHECK(got.kind == "notice");
  CHECK(got.case_id == "KP-2026-000001");
  CHECK_FALSE(got.item_id);
  CHECK_FALSE(got.submission_id);
  CHECK(got.upload_id == up);
  CHECK(got.body == n.body);
  CHECK(got.signature == n.signature);
  CHECK(got.created_ms == 123);
  CHECK_FALSE(got.placed_ms);
  CHECK_FALSE(got.acknowledged_ms);
  CHECK_FALSE(got.archived_name);
}

TEST_CASE("outbox: a name is single-use per municipality, not across municipalities") {
  StoreWorld w;
  insert(w.db(), item("GM0363", "sip-1.age"));
  auto again = store::insert_outbox_item(w.db(), item("GM0363", "sip-1.age", "request"));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == "already-exists");
  CHECK(again.error().detail.find("sip-1.age") != std::string::npos);
  CHECK(again.error().detail.find("GM0363") != std::string::npos);
  // The same name in another municipality's outbox is another file.
  insert(w.db(), item("GM0599", "sip-1.age"));
  // Names differ by case: two files.
  insert(w.db(), item("GM0363", "SIP-1.age"));
  CHECK(store::list_outbox_items(w.db())->size() == 3);
}

TEST_CASE("outbox: an item must name a known municipality, case and kind") {
  StoreWorld w;
  // Refused by the schema (foreign keys, CHECK on kind); nothing is stored.
  CHECK_FALSE(store::insert_outbox_item(w.db(), item("GM9999", "a.age")).ok());
  CHECK_FALSE(store::insert_outbox_item(w.db(), item("GM0363", "b.age", "bogus")).ok());
  store::OutboxItem unknown_case = item("GM0363", "c.age");
  unknown_case.case_id = "KP-2026-999999";
  CHECK_FALSE(store::insert_outbox_item(w.db(), unknown_case).ok());
  store::OutboxItem unknown_upload = item("GM0363", "d.age", "receipt");
  unknown_upload.upload_id = 999;
  CHECK_FALSE(store::insert_outbox_item(w.db(), unknown_upload).ok());
  CHECK(store::list_outbox_items(w.db())->empty());
}

TEST_CASE("outbox: unplaced items, oldest first; placing happens once") {
  StoreWorld w;
  const int64_t a = insert(w.db(), item("GM0363", "a.age"));
  const int64_t b = insert(w.db(), item("GM0599", "b.age"));
  const int64_t c = insert(w.db(), item("GM0363", "c.age"));
  auto unplaced = store::unplaced_outbox_items(w.db());
  REQUIRE(unplaced.ok());
  REQUIRE(unplaced->size() == 3);
  CHECK((*unplaced)[0].id == a);
  CHECK((*unplaced)[1].id == b);
  CHECK((*unplaced)[2].id == c);

  REQUIRE(store::mark_outbox_placed(w.db(), b, 500).ok());
  unplaced = store::unplaced_outbox_items(w.db());
  REQUIRE(unplaced->size() == 2);
  CHECK((*unplaced)[0].id == a);
  CHECK((*unplaced)[1].id == c);
  CHECK(by_id(w.db(), b).placed_ms == 500);
  // Placing again (recovery after a crash) keeps the first time.
  REQUIRE(store::mark_outbox_placed(w.db(), b, 900).ok());
  CHECK(by_id(w.db(), b).placed_ms == 500);
  // An unknown id changes nothing.
  CHECK(store::mark_outbox_placed(w.db(), c + 100, 900).ok());
  CHECK(store::unplaced_outbox_items(w.db())->size() == 2);
}

TEST_CASE("outbox: acknowledgements are recorded once, only for the item's own outbox") {
  StoreWorld w;
  const int64_t here = insert(w.db(), item("GM0363", "sip-1.age"));
  const int64_t there = insert(w.db(), item("GM0599", "sip-1.age"));
  REQUIRE(store::mark_outbox_placed(w.db(), here, 200).ok());

  REQUIRE(store::record_acknowledgement(w.db(), "GM0363", "sip-1.age", "archive/2026-11/sip-1.age",
                                        1000)
              .ok());
  store::OutboxItem got = by_id(w.db(), here);
  CHECK(got.acknowledged_ms == 1000);
  CHECK(got.archived_name == "archive/2026-11/sip-1.age");
  // The same name in the other municipality's outbox is untouched.
  CHECK_FALSE(by_id(w.db(), there).acknowledged_ms);
  CHECK_FALSE(by_id(w.db(), there).archived_name);

  // No double acknowledgement: the first time and archive name stay.
  REQUIRE(store::record_acknowledgement(w.db(), "GM0363", "sip-1.age", "archive/other", 2000).ok());
  got = by_id(w.db(), here);
  CHECK(got.acknowledged_ms == 1000);
  CHECK(got.archived_name == "archive/2026-11/sip-1.age");

  // Names without an item (a receipt's .minisig, an operator's file, an
  // unknown municipality) are a no-op.
  CHECK(store::record_acknowledgement(w.db(), "GM0363", "sip-1.age.minisig", "x", 3000).ok());
  CHECK(store::record_acknowledgement(w.db(), "GM0363", "unknown.age", "x", 3000).ok());
  CHECK(store::record_acknowledgement(w.db(), "GM9999", "sip-1.age", "x", 3000).ok());
  CHECK(store::record_acknowledgement(w.db(), "GM0363", "", "x", 3000).ok());
  CHECK(by_id(w.db(), here).acknowledged_ms == 1000);
  CHECK_FALSE(by_id(w.db(), there).acknowledged_ms);
}

TEST_CASE("outbox: items found by item id and by case") {
  StoreWorld w;
  w.accepted_case("KP-2026-000001", "GM0363");
  w.accepted_case("KP-2026-000002", "GM0363");
  store::OutboxItem r1 = item("GM0363", "request-1.age", "request");
  r1.case_id = "KP-2026-000001";
  r1.item_id = "KP-2026-000001-R1";
  store::OutboxItem s1 = item("GM0363", "sip-1.age", "sip");
  s1.case_id = "KP-2026-000001";
  s1.item_id = "KP-2026-000001-S1";
  store::OutboxItem other = item("GM0363", "sip-2.age", "sip");
  other.case_id = "KP-2026-000002";
  other.item_id = "KP-2026-000002-S1";
  const int64_t id_r1 = insert(w.db(), r1);
  const int64_t id_s1 = insert(w.db(), s1);
  insert(w.db(), other);
  insert(w.db(), item("GM0363", "receipt.json", "receipt"));  // no case, no item id

  auto found = store::find_outbox_item(w.db(), "KP-2026-000001-S1");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->id == id_s1);
  CHECK((*found)->kind == "sip");
  CHECK((*found)->case_id == "KP-2026-000001");
  CHECK_FALSE(store::find_outbox_item(w.db(), "KP-2026-000001-S2")->has_value());
  CHECK_FALSE(store::find_outbox_item(w.db(), "")->has_value());

  auto of1 = store::outbox_items_of_case(w.db(), "KP-2026-000001");
  REQUIRE(of1.ok());
  REQUIRE(of1->size() == 2);
  CHECK((*of1)[0].id == id_r1);  // oldest first
  CHECK((*of1)[1].id == id_s1);
  CHECK(store::outbox_items_of_case(w.db(), "KP-2026-000002")->size() == 1);
  CHECK(store::outbox_items_of_case(w.db(), "KP-2026-999999")->empty());
  CHECK(store::list_outbox_items(w.db())->size() == 4);

  // An item id is unique across outboxes.
  store::OutboxItem dup = item("GM0599", "sip-1.age", "sip");
  dup.item_id = "KP-2026-000001-S1";
  CHECK_FALSE(store::insert_outbox_item(w.db(), dup).ok());
  CHECK(store::list_outbox_items(w.db())->size() == 4);
}
