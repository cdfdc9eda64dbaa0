// Unit tests for store/notifications.h on a real SQLite file.
#include "store/notifications.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "store/audit_events.h"
#include "tests/support/notify_world.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // 2027-01-15
constexpr int64_t kDay = 86'400'000;

std::vector<std::string> accounts_of(store::Db& db, int64_t item) {
  std::vector<std::string> out;
  auto rows = store::notifications_of_item(db, item);
  for (const auto& n : *rows) out.push_back(n.account);
  return out;
}

}  // namespace

TEST_CASE("notifications: queued for exactly the active contact persons with an address") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  REQUIRE(store::add_municipality(*db, {"GM0363", "Amsterdam", {}}, 1).ok());
  REQUIRE(store::add_municipality(*db, {"GM0599", "Rotterdam", {}}, 1).ok());
  // Notified: a live download mandate, open-ended or until later.
  REQUIRE(test::add_person(*db, "a.active", "a@example.org"));
  REQUIRE(test::grant(*db, "a.active", "GM0363"));
  REQUIRE(test::add_person(*db, "b.until", "b@example.org"));
  REQUIRE(test::grant(*db, "b.until", "GM0363", "download", kNow - kDay, kNow + kDay));
  // Not notified, one reason each.
  REQUIRE(test::add_person(*db, "c.revoked", "c@example.org"));
  REQUIRE(test::grant(*db, "c.revoked", "GM0363"));
  REQUIRE(store::revoke_mandate(*db, "c.revoked", "GM0363", kNow - 1).ok());
  REQUIRE(test::add_person(*db, "d.expired", "d@example.org"));
  REQUIRE(
      test::grant(*db, "d.expired", "GM0363", "upload,download", 0, kNow));  // until is exclusive
  REQUIRE(test::add_person(*db, "e.future", "e@example.org"));
  REQUIRE(test::grant(*db, "e.future", "GM0363", "upload,download", kNow + 1));
  REQUIRE(test::add_person(*db, "f.noemail", std::nullopt));
  REQUIRE(test::grant(*db, "f.noemail", "GM0363"));
  REQUIRE(test::add_person(*db, "g.other", "g@example.org"));
  REQUIRE(test::grant(*db, "g.other", "GM0599"));
  REQUIRE(test::add_person(*db, "h.uploadonly", "h@example.org"));
  REQUIRE(test::grant(*db, "h.uploadonly", "GM0363", "upload"));
  REQUIRE(test::add_person(*db, "i.lowlevel", "i@example.org"));
  REQUIRE(test::grant(*db, "i.lowlevel", "GM0363", "upload,download", 0, std::nullopt, "EH2"));
  REQUIRE(test::add_person(*db, "j.staff", "j@example.org", "staff"));
  REQUIRE(test::grant(*db, "j.staff", "GM0363"));
  REQUIRE(test::add_person(*db, "k.emptymail", ""));
  REQUIRE(test::grant(*db, "k.emptymail", "GM0363"));

  for (const char* kind : {"sip", "request", "notice"}) {
    int queued = -1;
    auto item = test::publish(*db, "GM0363", std::string("x.") + kind, kind, kNow, true, &queued);
    REQUIRE(item.id > 0);
    CHECK(queued == 2);
    CHECK(accounts_of(*db, item.id) == std::vector<std::string>{"a.active", "b.until"});
    auto rows = store::notifications_of_item(*db, item.id);
    for (const auto& n : *rows) {
      CHECK(n.state == "pending");
      CHECK(n.attempts == 0);
      CHECK(n.next_attempt_ms == kNow);
      CHECK(n.municipality == "GM0363");
    }
  }
  SUBCASE("receipts are not notified: the uploader caused them") {
    int queued = -1;
    auto item = test::publish(*db, "GM0363", "r.receipt.json", "receipt", kNow, true, &queued);
    CHECK(queued == 0);
    CHECK(accounts_of(*db, item.id).empty());
  }
  SUBCASE("the other municipality's item reaches only its own person") {
    int queued = -1;
    auto item = test::publish(*db, "GM0599", "y.sip", "sip", kNow, true, &queued);
    CHECK(queued == 1);
    CHECK(accounts_of(*db, item.id) == std::vector<std::string>{"g.other"});
  }
  SUBCASE("outside a transaction it refuses; queuing twice adds nobody") {
    auto item = test::publish(*db, "GM0363", "z.sip", "sip", kNow);
    CHECK(store::enqueue_notifications(*db, item, kNow).error().code == "store-no-transaction");
    auto tx = store::Transaction::begin(*db);
    REQUIRE(tx.ok());
    CHECK(*store::enqueue_notifications(*db, item, kNow) == 0);
    REQUIRE(tx->commit().ok());
    CHECK(accounts_of(*db, item.id).size() == 2);
  }
  SUBCASE("a rolled-back item leaves no notification") {
    {
      auto tx = store::Transaction::begin(*db);
      REQUIRE(tx.ok());
      store::OutboxItem item;
      item.municipality = "GM0363";
      item.name = "gone.sip";
      item.kind = "sip";
      item.created_ms = kNow;
      item.id = *store::insert_outbox_item(*db, item);
      CHECK(*store::enqueue_notifications(*db, item, kNow) == 2);
    }  // no commit
    auto stmt = db->prepare(
        "SELECT count(*) FROM notifications n LEFT JOIN outbox_items o ON o.id = n.outbox_item "
        "WHERE o.id IS NULL");
    REQUIRE(stmt.ok());
    REQUIRE(*stmt->step());
    CHECK(stmt->col_int(0) == 0);
  }
}

TEST_CASE("notifications: claimed once, only when placed and due; dead claims released") {
  testing::TempDir dir;
  auto db = store::Db::open(dir.path() + "/k.db");
  REQUIRE(db.ok());
  REQUIRE(store::add_municipality(*db, {"GM0363", "Amsterdam", {}}, 1).ok());
  REQUIRE(test::add_person(*db, "a", "a@example.org"));
  REQUIRE(test::grant(*db, "a", "GM0363"));

  auto unplaced = test::publish(*db, "GM0363", "later.sip", "sip", kNow, false);
  REQUIRE(unplaced.id > 0);
  CHECK_FALSE(store::claim_notification(*db, 1, kNow)->has_value());  // not in the outbox yet
  REQUIRE(store::mark_outbox_placed(*db, unplaced.id, kNow).ok());
  CHECK_FALSE(store::claim_notification(*db, 1, kNow - 1)->has_value());  // not due yet

  auto job = store::claim_notification(*db, 1, kNow);
  REQUIRE(job.ok());
  REQUIRE(job->has_value());
  const store::NotificationJob& j = **job;
  CHECK(j.n.state == "sending");
  CHECK(j.n.attempts == 1);
  CHECK(j.n.claim_pid == 1);
  CHECK(j.item_name == "later.sip");
  CHECK(j.item_kind == "sip");
  CHECK(j.municipality_name == "Amsterdam");
  CHECK(j.email == "a@example.org");  // looked up now, never stored in the row
  REQUIRE(j.mandate);
  CHECK_FALSE(j.item_acknowledged);
  CHECK_FALSE(store::claim_notification(*db, 2, kNow)->has_value());  // exactly once

  // A finish under another pid's name is refused; nothing changes.
  store::NotificationUpdate u{j.n.id, 2, "sent", std::nullopt, 0, kNow};
  store::AuditEvent e;
  e.event = "notify.attempt";
  e.outcome = "success";
  CHECK(store::mark_notification(*db, u, {e}).error().code == "claim-lost");
  CHECK(store::list_audit(*db, std::string("notify.attempt"))->empty());

  // Process 1 died: its claim goes back to pending, due at once.
  CHECK(*store::release_dead_notification_claims(*db, [](int64_t pid) { return pid != 1; }) == 1);
  auto again = store::claim_notification(*db, 2, kNow);
  REQUIRE(again->has_value());
  CHECK((*again)->n.attempts == 2);

  // A retry moves it to later; then it is sent, with its audit event in the same transaction.
  u = {j.n.id, 2, "pending", std::string("smtp-timeout"), kNow + 30000, kNow};
  REQUIRE(store::mark_notification(*db, u, {}).ok());
  CHECK_FALSE(store::claim_notification(*db, 2, kNow + 29999)->has_value());
  REQUIRE(store::claim_notification(*db, 2, kNow + 30000)->has_value());
  u = {j.n.id, 2, "sent", std::nullopt, 0, kNow + 30001};
  REQUIRE(store::mark_notification(*db, u, {e}).ok());
  auto rows = *store::notifications_of_item(*db, unplaced.id);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].state == "sent");
  CHECK(rows[0].done_ms == kNow + 30001);
  CHECK_FALSE(rows[0].claim_pid);
  CHECK(store::list_audit(*db, std::string("notify.attempt"))->size() == 1);
  CHECK_FALSE(store::claim_notification(*db, 2, kNow + kDay)->has_value());
}

TEST_CASE("notifications: two processes' connections claim each row exactly once") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/k.db";
  {
    auto db = store::Db::open(path);
    REQUIRE(db.ok());
    REQUIRE(store::add_municipality(*db, {"GM0363", "Amsterdam", {}}, 1).ok());
    for (int p = 0; p < 5; ++p) {
      const std::string id = "p" + std::to_string(p);
      REQUIRE(test::add_person(*db, id, id + "@example.org"));
      REQUIRE(test::grant(*db, id, "GM0363"));
    }
    for (int i = 0; i < 20; ++i)
      REQUIRE(test::publish(*db, "GM0363", "i" + std::to_string(i), "sip", kNow).id > 0);
  }
  std::vector<int64_t> claimed[2];
  auto claimer = [&](int k) {
    auto db = store::Db::open(path);
    if (!db.ok()) return;
    for (;;) {
      auto job = store::claim_notification(*db, 100 + k, kNow);
      if (!job.ok() || !job->has_value()) return;
      claimed[k].push_back((*job)->n.id);
    }
  };
  std::thread t0(claimer, 0), t1(claimer, 1);
  t0.join();
  t1.join();
  std::set<int64_t> all(claimed[0].begin(), claimed[0].end());
  all.insert(claimed[1].begin(), claimed[1].end());
  CHECK(claimed[0].size() + claimed[1].size() == 100);
  CHECK(all.size() == 100);
}
