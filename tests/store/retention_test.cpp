// Unit tests for store/retention.h: which items have a running clock, and
// that marking one deleted happens once, with one audit record, together
// with what the store drops of it.
#include "store/retention.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "tests/support/retention_rows.h"

using namespace kp;
using kp::policy::RetentionKind;

namespace {

std::vector<store::RetentionItem> items_of(testing::RetentionRows& w, RetentionKind k) {
  auto all = store::retention_items(*w.db);
  REQUIRE(all.ok());
  std::vector<store::RetentionItem> out;
  for (auto& i : *all)
    if (i.kind == k) out.push_back(i);
  return out;
}

store::AuditEvent deleted_event(const store::RetentionItem& i) {
  store::AuditEvent e;
  e.event = "retention.deleted";
  e.outcome = "success";
  e.object = i.ref();
  return e;
}

}  // namespace

TEST_CASE("retention store: processed uploads are listed by verdict, unprocessed ones never") {
  testing::RetentionRows w;
  int64_t ok = w.upload("a.age", true, 5000);
  int64_t bad = w.upload("b.age", false, 6000);
  // Received but never claimed, and claimed but not decided.
  w.received("waiting.age", 100);
  w.received("busy.age", 100);
  REQUIRE(store::claim_upload(*w.db, 99, 200).ok());

  auto inbox = items_of(w, RetentionKind::inbox);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].ref() == "upload/" + std::to_string(ok));
  CHECK(inbox[0].name == "a.age");
  CHECK(inbox[0].partial_name == "p-a.age");
  CHECK(inbox[0].state == "accepted");
  CHECK(inbox[0].clock_ms == 5000);
  CHECK(inbox[0].sha256 == std::string(64, 'a'));
  auto quarantine = items_of(w, RetentionKind::quarantine);
  REQUIRE(quarantine.size() == 1);
  CHECK(quarantine[0].upload_id == bad);
  CHECK(quarantine[0].state == "rejected");
  CHECK(quarantine[0].clock_ms == 6000);
}

TEST_CASE("retention store: a case's package is listed only once it is closed or declined") {
  testing::RetentionRows w;
  int64_t a = w.upload("a.age", true, 5000);
  int64_t b = w.upload("b.age", true, 5000);
  int64_t c = w.upload("c.age", true, 5000);
  CHECK(items_of(w, RetentionKind::queue).empty());  // all queued
  w.set_case_state(w.case_id(a), "taken", 7000);
  w.set_case_state(w.case_id(b), "closed", 8000);
  w.set_case_state(w.case_id(c), "declined", 9000);
  auto queue = items_of(w, RetentionKind::queue);
  REQUIRE(queue.size() == 2);
  CHECK(queue[0].ref() == "case/" + w.case_id(b));
  CHECK(queue[0].state == "closed");
  CHECK(queue[0].clock_ms == 8000);
  CHECK(queue[0].upload_id == b);
  CHECK(queue[0].name.find(w.case_id(b)) != std::string::npos);
  CHECK(queue[1].state == "declined");
}

TEST_CASE("retention store: enrichment replies follow their case") {
  testing::RetentionRows w;
  int64_t a = w.upload("a.age", true, 5000);
  int64_t reply = w.upload("reply.age", true, 5500);
  auto st = w.db->prepare(
      "INSERT INTO replies(upload_id, request_id, case_id, queue_name, created_ms) VALUES "
      "(?,?,?,?,?)");
  REQUIRE(st.ok());
  st->bind(1, reply)
      .bind(2, w.case_id(a) + "-R1")
      .bind(3, w.case_id(a))
      .bind(4, "reply-1.age")
      .bind(5, 5500);
  REQUIRE(st->run().ok());
  CHECK(items_of(w, RetentionKind::queue).empty());
  w.set_case_state(w.case_id(a), "closed", 8000);
  auto queue = items_of(w, RetentionKind::queue);
  REQUIRE(queue.size() == 2);
  auto r = std::find_if(queue.begin(), queue.end(), [](auto& i) { return i.source == "reply"; });
  REQUIRE(r != queue.end());
  CHECK(r->ref() == "reply/" + std::to_string(reply));
  CHECK(r->name == "reply-1.age");
  CHECK(r->clock_ms == 8000);
}

TEST_CASE("retention store: outbox items are listed once acknowledged, receipts apart") {
  testing::RetentionRows w;
  w.upload("a.age", true, 5000);
  w.upload("b.age", false, 5000);
  store::OutboxItem sip;
  sip.municipality = testing::kMuni;
  sip.name = "sip-1.age";
  sip.kind = "notice";
  sip.body = "{\"reason\":\"personal\"}";
  sip.signature = "sig";
  sip.created_ms = 6000;
  auto sip_id = store::insert_outbox_item(*w.db, sip);
  REQUIRE(sip_id.ok());
  CHECK(items_of(w, RetentionKind::outbox).empty());
  CHECK(items_of(w, RetentionKind::receipt).empty());
  w.acknowledge("a.age.receipt.json", 7000);
  w.acknowledge("sip-1.age", 7500);
  auto receipts = items_of(w, RetentionKind::receipt);
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0].name == "a.age.receipt.json");
  CHECK(receipts[0].archived_name == "a.age.receipt.json");
  CHECK(receipts[0].state == "acknowledged");
  CHECK(receipts[0].clock_ms == 7000);
  auto outbox = items_of(w, RetentionKind::outbox);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].ref() == "outbox/" + std::to_string(*sip_id));

  // Purging the notice forgets its body; purging the receipt drops the stored copy.
  auto n = store::purge_item(*w.db, outbox[0], {"boxes/GM0363/archive/sip-1.age"}, 9, 10,
                             deleted_event(outbox[0]));
  REQUIRE(n.ok());
  CHECK(*n);
  auto all = store::list_outbox_items(*w.db);
  REQUIRE(all.ok());
  for (const auto& i : *all) {
    if (i.name != "sip-1.age") continue;
    CHECK_FALSE(i.body);
    CHECK_FALSE(i.signature);
    CHECK(i.acknowledged_ms == 7500);  // the row itself stays
  }
  int64_t upload_id = *receipts[0].upload_id;
  CHECK(*store::receipt_of(*w.db, upload_id));
  auto r = store::purge_item(*w.db, receipts[0], {"x/y"}, 9, 10, deleted_event(receipts[0]));
  REQUIRE(r.ok());
  CHECK(*r);
  CHECK_FALSE(*store::receipt_of(*w.db, upload_id));
  CHECK(items_of(w, RetentionKind::receipt).empty());
  CHECK(items_of(w, RetentionKind::outbox).empty());
}

TEST_CASE("retention store: an item is marked and audited once, also by two sweepers") {
  testing::RetentionRows w;
  w.upload("a.age", true, 5000);
  auto item = items_of(w, RetentionKind::inbox).at(0);
  // A second connection, as a second worker process has.
  auto other = store::Db::open(w.data.db());
  REQUIRE(other.ok());
  std::vector<std::string> files = {"boxes/GM0363/inbox/a.age", "boxes/GM0363/partial/p-a.age"};
  auto first = store::purge_item(*w.db, item, files, 100, 200, deleted_event(item));
  REQUIRE(first.ok());
  REQUIRE(*first);
  auto second = store::purge_item(*other, item, files, 100, 300, deleted_event(item));
  REQUIRE(second.ok());
  CHECK_FALSE(*second);
  CHECK(w.audit_count("retention.deleted") == 1);
  CHECK(items_of(w, RetentionKind::inbox).empty());
  // The row stays, marked, for recovery code and the single-use name.
  auto row = w.db->prepare("SELECT state, purged_ms FROM uploads WHERE id = ?");
  REQUIRE(row.ok());
  row->bind(1, *item.upload_id);
  REQUIRE(*row->step());
  CHECK(row->col_text(0) == "accepted");
  CHECK(row->col_int(1) == 200);
  CHECK(*store::upload_name_taken(*w.db, testing::kMuni, "a.age"));

  auto pending = store::pending_unlinks(*w.db);
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);
  CHECK(pending->at(0).id == **first);
  CHECK(pending->at(0).ref == item.ref());
  CHECK(pending->at(0).files == files);  // in order
  REQUIRE(store::mark_unlinked(*w.db, **first, 400).ok());
  REQUIRE(store::mark_unlinked(*other, **first, 500).ok());  // harmless twice
  CHECK(store::pending_unlinks(*w.db)->empty());
  CHECK(w.audit_count("retention.deleted") == 1);
}

TEST_CASE("retention store: an item that changed since it was listed is left alone") {
  testing::RetentionRows w;
  int64_t a = w.upload("a.age", true, 5000);
  w.set_case_state(w.case_id(a), "closed", 8000);
  auto item = items_of(w, RetentionKind::queue).at(0);
  w.set_case_state(w.case_id(a), "taken", 9000);  // reopened meanwhile
  auto r = store::purge_item(*w.db, item, {"queue/x"}, 1, 2, deleted_event(item));
  REQUIRE(r.ok());
  CHECK_FALSE(*r);
  w.set_case_state(w.case_id(a), "closed", 9500);  // closed again: a new clock
  r = store::purge_item(*w.db, item, {"queue/x"}, 1, 2, deleted_event(item));
  REQUIRE(r.ok());
  CHECK_FALSE(*r);
  CHECK(w.audit_count("retention.deleted") == 0);
  CHECK(store::pending_unlinks(*w.db)->empty());
  store::RetentionItem unknown = item;
  unknown.source = "elsewhere";
  r = store::purge_item(*w.db, unknown, {"queue/x"}, 1, 2, deleted_event(item));
  REQUIRE(r.ok());
  CHECK_FALSE(*r);
}

TEST_CASE("retention store: the audit log's extent") {
  testing::RetentionRows w;
  auto empty = store::audit_log_span(*w.db);
  REQUIRE(empty.ok());
  CHECK(empty->records == 0);
  CHECK_FALSE(empty->oldest_ms);
  w.upload("a.age", true, 5000);
  auto span = store::audit_log_span(*w.db);
  REQUIRE(span.ok());
  CHECK(span->records == 2);  // the upload and its verdict
  CHECK(span->oldest_ms);
}
