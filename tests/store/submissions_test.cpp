// Unit tests for store/submissions.h on a real SQLite file: a name in
// /outgoing is single-use (the refused insert writes no audit record), a
// submission is claimed once, a verdict needs the claim to still hold, a
// failing before_commit rolls the whole verdict back, and receipts go from
// unplaced to placed.
#include "store/submissions.h"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "store/outbox.h"
#include "tests/support/store_world.h"

using namespace kp;
using kp::testing::audit_event;
using kp::testing::StoreWorld;

namespace {

store::Upload submission(const std::string& name, int64_t received_ms = 100) {
  store::Upload s;
  s.person = "s.staff";
  s.name = name;
  s.partial_name = name + ".part";
  s.size = 42;
  s.sha256 = std::string(64, 'a');
  s.received_ms = received_ms;
  return s;
}

int64_t record(store::Db& db, const std::string& name, int64_t received_ms = 100) {
  auto id = store::record_submission(db, submission(name, received_ms),
                                     audit_event("sftp.submission", received_ms));
  REQUIRE_MESSAGE(id.ok(), id.error().message());
  return *id;
}

std::string state_of(store::Db& db, int64_t id) {
  auto all = store::list_submissions(db);
  REQUIRE(all.ok());
  for (const auto& s : *all)
    if (s.id == id) return s.state;
  return "absent";
}

std::size_t audit_count(store::Db& db) {
  auto all = store::list_audit(db, std::nullopt);
  REQUIRE(all.ok());
  return all->size();
}

Status verdict(store::Db& db, int64_t id, int64_t pid, bool accepted,
               const std::function<Status(int64_t)>& before_commit) {
  return store::record_submission_verdict(
      db, id, pid, accepted, accepted ? "accepted" : "manifest-field-invalid", "why",
      {audit_event("publish.placed", 700), audit_event("publish.receipt", 800)}, before_commit);
}

}  // namespace

TEST_CASE("submissions: recorded with their audit record; a name in /outgoing is single-use") {
  StoreWorld w;
  const std::size_t before = audit_count(w.db());
  const int64_t id = record(w.db(), "sip-KP-2026-000001.age", 100);
  auto events = store::list_audit(w.db(), std::string("sftp.submission"));
  REQUIRE(events.ok());
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].object == "submission/" + std::to_string(id) + " sip-KP-2026-000001.age");

  auto all = store::list_submissions(w.db());
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  const store::Upload& s = (*all)[0];
  CHECK(s.id == id);
  CHECK(s.municipality.empty());  // known only once the package is opened
  CHECK(s.person == "s.staff");
  CHECK(s.name == "sip-KP-2026-000001.age");
  CHECK(s.partial_name == "sip-KP-2026-000001.age.part");
  CHECK(s.size == 42);
  CHECK(s.sha256 == std::string(64, 'a'));
  CHECK(s.received_ms == 100);
  CHECK(s.state == "received");
  CHECK(*store::submission_name_taken(w.db(), "sip-KP-2026-000001.age"));
  CHECK_FALSE(*store::submission_name_taken(w.db(), "sip-KP-2026-000002.age"));

  // The same name again, even by another submitter: refused, and the
  // transaction wrote no audit record.
  store::Upload again = submission("sip-KP-2026-000001.age", 200);
  again.person = "t.staff";
  auto dup = store::record_submission(w.db(), again, audit_event("sftp.submission", 200));
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == "already-exists");
  CHECK(store::list_submissions(w.db())->size() == 1);
  CHECK(audit_count(w.db()) == before + 1);

  // A deleted submission (compensation) frees nothing else and its name.
  REQUIRE(store::delete_submission(w.db(), id).ok());
  CHECK(store::list_submissions(w.db())->empty());
  CHECK_FALSE(*store::submission_name_taken(w.db(), "sip-KP-2026-000001.age"));
  CHECK(store::delete_submission(w.db(), id).ok());  // already gone: no-op
}

TEST_CASE("submissions: one submission, two claims: the second gets nothing") {
  StoreWorld w;
  const int64_t id = record(w.db(), "a.age");
  auto first = store::claim_submission(w.db(), 11, 500);
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK((*first)->id == id);
  auto second = store::claim_submission(w.db(), 12, 501);
  REQUIRE(second.ok());
  CHECK_FALSE(second->has_value());
  CHECK(state_of(w.db(), id) == "processing");
}

TEST_CASE("submissions: claimed exactly once, oldest first") {
  StoreWorld w;
  const int64_t a = record(w.db(), "a.age");
  const int64_t b = record(w.db(), "b.age");
  auto first = store::claim_submission(w.db(), 11, 500);
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK((*first)->id == a);
  CHECK((*first)->state == "processing");
  auto second = store::claim_submission(w.db(), 12, 500);
  REQUIRE(second.ok());
  REQUIRE(second->has_value());
  CHECK((*second)->id == b);
  // Nothing left: a third worker gets nothing.
  auto third = store::claim_submission(w.db(), 13, 500);
  REQUIRE(third.ok());
  CHECK_FALSE(third->has_value());
  // Claiming submissions never touches uploads, and the reverse.
  w.upload("GM0363", "u.age");
  CHECK_FALSE(store::claim_submission(w.db(), 13, 500)->has_value());
  auto upload = store::claim_upload(w.db(), 13, 500);
  REQUIRE(upload.ok());
  REQUIRE(upload->has_value());
  CHECK((*upload)->name == "u.age");
}

TEST_CASE("submissions: claims of dead workers only are released") {
  StoreWorld w;
  const int64_t a = record(w.db(), "a.age");
  const int64_t b = record(w.db(), "b.age");
  record(w.db(), "c.age");  // stays received
  REQUIRE((*store::claim_submission(w.db(), 11, 500))->id == a);
  REQUIRE((*store::claim_submission(w.db(), 12, 500))->id == b);
  std::vector<int64_t> asked;
  auto released = store::release_dead_submission_claims(w.db(), [&](int64_t pid) {
    asked.push_back(pid);
    return pid != 11;
  });
  REQUIRE(released.ok());
  CHECK(*released == 1);
  CHECK(asked.size() == 2);  // only claimed rows are asked about
  CHECK(state_of(w.db(), a) == "received");
  CHECK(state_of(w.db(), b) == "processing");
  // The released one is claimed again, oldest first.
  auto again = store::claim_submission(w.db(), 13, 600);
  REQUIRE(again.ok());
  REQUIRE(again->has_value());
  CHECK((*again)->id == a);
  // Everybody alive: nothing released.
  CHECK(*store::release_dead_submission_claims(w.db(), [](int64_t) { return true; }) == 0);
  // The dead worker's verdict no longer counts.
  CHECK(verdict(w.db(), a, 11, true, [](int64_t) { return ok_status(); }).error().code ==
        "claim-lost");
}

TEST_CASE("submissions: a verdict needs the claim and commits with its audit records") {
  StoreWorld w;
  const int64_t id = record(w.db(), "a.age");
  const std::size_t before = audit_count(w.db());
  // Not claimed yet.
  auto s = verdict(w.db(), id, 11, true, [](int64_t) { return ok_status(); });
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "claim-lost");
  CHECK(state_of(w.db(), id) == "received");
  CHECK(audit_count(w.db()) == before);

  REQUIRE((*store::claim_submission(w.db(), 11, 500))->id == id);
  // Another worker's pid.
  CHECK(verdict(w.db(), id, 12, true, [](int64_t) { return ok_status(); }).error().code ==
        "claim-lost");
  // An unknown submission.
  CHECK(verdict(w.db(), id + 100, 11, true, [](int64_t) { return ok_status(); }).error().code ==
        "claim-lost");
  CHECK(audit_count(w.db()) == before);

  int64_t seen_index = -1;
  REQUIRE(verdict(w.db(), id, 11, false, [&](int64_t last) {
            seen_index = last;
            return ok_status();
          }).ok());
  CHECK(state_of(w.db(), id) == "rejected");
  CHECK(audit_count(w.db()) == before + 2);
  auto receipts = store::list_audit(w.db(), std::string("publish.receipt"));
  REQUIRE(receipts->size() == 1);
  CHECK(seen_index == (*receipts)[0].id);  // the last event of the verdict
  // Decided once: a second verdict finds no claim.
  CHECK(verdict(w.db(), id, 11, true, [](int64_t) { return ok_status(); }).error().code ==
        "claim-lost");
  CHECK(state_of(w.db(), id) == "rejected");
  // Decided submissions are not claimed again.
  CHECK_FALSE(store::claim_submission(w.db(), 11, 900)->has_value());
}

TEST_CASE("submissions: a failing before_commit rolls the verdict back entirely") {
  StoreWorld w;
  const int64_t up = w.accepted_case("KP-2026-000001", "GM0363");
  (void)up;
  const int64_t id = record(w.db(), "sip.age");
  REQUIRE((*store::claim_submission(w.db(), 11, 500))->id == id);
  const std::size_t before = audit_count(w.db());
  auto s = verdict(w.db(), id, 11, true, [&](int64_t) -> Status {
    // What the publish worker does inside the transaction, then a failure
    // (signing the receipt failed, say).
    store::OutboxItem i;
    i.municipality = "GM0363";
    i.name = "sip-KP-2026-000001.age";
    i.kind = "sip";
    i.case_id = "KP-2026-000001";
    i.item_id = "KP-2026-000001-S1";
    i.submission_id = id;
    i.created_ms = 700;
    KP_TRY(int64_t item, store::insert_outbox_item(w.db(), i));
    (void)item;
    KP_GUARD(store::set_submission_receipt(w.db(), id, "{}", "sig"));
    return make_error("sign-failed", "no key");
  });
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "sign-failed");
  // Nothing of it remains: no audit record, no outbox item, no receipt,
  // and the submission is still claimed by the worker.
  CHECK(audit_count(w.db()) == before);
  CHECK(store::list_outbox_items(w.db())->empty());
  CHECK(store::unplaced_submission_receipts(w.db())->empty());
  CHECK(state_of(w.db(), id) == "processing");
  // The worker can still decide it.
  CHECK(verdict(w.db(), id, 11, false, [](int64_t) { return ok_status(); }).ok());
  CHECK(state_of(w.db(), id) == "rejected");
  CHECK(audit_count(w.db()) == before + 2);
}

TEST_CASE("submissions: receipts go from unplaced to placed") {
  StoreWorld w;
  const int64_t a = record(w.db(), "a.age");
  const int64_t b = record(w.db(), "b.age");
  record(w.db(), "c.age");  // no receipt yet
  CHECK(store::unplaced_submission_receipts(w.db())->empty());
  REQUIRE(store::set_submission_receipt(w.db(), b, "{\"b\": 1}", "sig-b").ok());
  REQUIRE(store::set_submission_receipt(w.db(), a, "{\"a\": 1}", "sig-a").ok());
  auto unplaced = store::unplaced_submission_receipts(w.db());
  REQUIRE(unplaced.ok());
  REQUIRE(unplaced->size() == 2);
  CHECK((*unplaced)[0].id == a);
  CHECK((*unplaced)[0].name == "a.age");
  CHECK((*unplaced)[0].json == "{\"a\": 1}");
  CHECK((*unplaced)[0].signature == "sig-a");
  CHECK((*unplaced)[1].id == b);
  REQUIRE(store::mark_submission_receipt_placed(w.db(), a).ok());
  unplaced = store::unplaced_submission_receipts(w.db());
  REQUIRE(unplaced->size() == 1);
  CHECK((*unplaced)[0].id == b);
  CHECK(store::mark_submission_receipt_placed(w.db(), a).ok());  // again: no-op
  CHECK(store::mark_submission_receipt_placed(w.db(), 9999).ok());
  REQUIRE(store::mark_submission_receipt_placed(w.db(), b).ok());
  CHECK(store::unplaced_submission_receipts(w.db())->empty());
}
