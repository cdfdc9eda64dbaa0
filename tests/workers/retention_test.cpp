// Unit tests for workers/retention.h: the sweeper against a real data
// directory and store -- what it removes, what it never touches, and that
// a deletion interrupted by a crash is finished without a second audit.
#include "workers/retention.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/support/retention_rows.h"

using namespace kp;
using kp::policy::RetentionKind;

namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kProcessed = 1'800'000'000'000;

policy::RetentionPeriods defaults() {
  return policy::retention_periods(Settings{});
}

workers::SweepReport sweep(testing::RetentionRows& w, int64_t now_ms, store::Db* db = nullptr) {
  auto r = workers::sweep_retention(w.data, db ? *db : *w.db, defaults(), now_ms, "test");
  REQUIRE(r.ok());
  return *r;
}

std::string queue_file(testing::RetentionRows& w, int64_t upload_id) {
  return "queue/rank-050-GM0363-" + w.case_id(upload_id) + "-2026-11-22.age";
}

}  // namespace

TEST_CASE("sweeper: an accepted upload's original goes after retention_inbox, once") {
  testing::RetentionRows w;
  int64_t id = w.upload("a.age", true, kProcessed);
  w.touch(w.box("inbox/a.age"));
  w.touch(queue_file(w, id));
  w.touch(w.box("outbox/a.age.receipt.json"));

  auto early = sweep(w, kProcessed + 7 * kDay - 1);
  CHECK(early.deleted == 0);
  CHECK(w.present(w.box("inbox/a.age")));

  auto due = sweep(w, kProcessed + 7 * kDay);
  CHECK(due.deleted == 1);
  CHECK(due.failed == 0);
  CHECK_FALSE(w.present(w.box("inbox/a.age")));
  // The queued case and the unacknowledged receipt are not the inbox's to delete.
  CHECK(w.present(queue_file(w, id)));
  CHECK(w.present(w.box("outbox/a.age.receipt.json")));
  CHECK(w.audit_count("retention.deleted") == 1);
  auto events = store::list_audit(*w.db, std::string("retention.deleted"));
  REQUIRE(events.ok());
  const auto& e = events->back();
  CHECK(e.object == "upload/" + std::to_string(id) + " a.age");
  CHECK(e.municipality == testing::kMuni);
  CHECK(e.reason == "retention_inbox=7d");
  CHECK(e.sha256 == std::string(64, 'a'));
  CHECK(e.channel == "test");
  CHECK(store::pending_unlinks(*w.db)->empty());

  auto again = sweep(w, kProcessed + 400 * kDay);
  CHECK(again.deleted == 0);
  CHECK(w.audit_count("retention.deleted") == 1);
  CHECK(w.present(queue_file(w, id)));  // still queued, a year later
}

TEST_CASE("sweeper: unprocessed uploads and queued or taken cases stay, whatever their age") {
  testing::RetentionRows w;
  int64_t taken = w.upload("t.age", true, kProcessed);
  w.set_case_state(w.case_id(taken), "taken", kProcessed);
  w.touch(queue_file(w, taken));
  w.received("waiting.age", 1);
  w.touch(w.box("inbox/waiting.age"));
  auto r = sweep(w, kProcessed + 10000 * kDay);
  CHECK(r.deleted == 1);  // only t.age's inbox original (which was never there)
  CHECK(w.present(w.box("inbox/waiting.age")));
  CHECK(w.present(queue_file(w, taken)));
}

TEST_CASE("sweeper: a rejected upload leaves quarantine, but only once it got there") {
  testing::RetentionRows w;
  int64_t id = w.upload("bad.age", false, kProcessed);
  std::string q = "quarantine/GM0363-" + std::to_string(id) + "-bad.age";
  w.touch(w.box("inbox/bad.age"));  // not yet moved to quarantine
  auto r = sweep(w, kProcessed + 31 * kDay);
  CHECK(r.deleted == 0);
  CHECK(r.waiting == 1);
  CHECK(w.present(w.box("inbox/bad.age")));
  ::unlink((w.data.root + "/" + w.box("inbox/bad.age")).c_str());
  w.touch(q);
  r = sweep(w, kProcessed + 30 * kDay - 1);
  CHECK(r.deleted == 0);
  CHECK(w.present(q));
  r = sweep(w, kProcessed + 30 * kDay);
  CHECK(r.deleted == 1);
  CHECK_FALSE(w.present(q));
}

TEST_CASE("sweeper: a closed or declined case's package goes after retention_queue") {
  testing::RetentionRows w;
  int64_t closed = w.upload("c.age", true, kProcessed);
  int64_t declined = w.upload("d.age", true, kProcessed);
  int64_t unplaced = w.upload("u.age", true, kProcessed);
  for (int64_t id : {closed, declined, unplaced})
    w.set_case_state(w.case_id(id), id == declined ? "declined" : "closed", kProcessed + kDay);
  w.touch(queue_file(w, closed));
  w.touch("work/" + std::to_string(closed) + ".queue.age");  // a rename that was lost and redone
  w.touch(queue_file(w, declined));
  w.touch("work/" + std::to_string(unplaced) + ".queue.age");  // never placed
  auto r = sweep(w, kProcessed + kDay + 90 * kDay);
  CHECK(r.waiting == 1);
  CHECK_FALSE(w.present(queue_file(w, closed)));
  CHECK_FALSE(w.present("work/" + std::to_string(closed) + ".queue.age"));
  CHECK_FALSE(w.present(queue_file(w, declined)));
  CHECK(w.present("work/" + std::to_string(unplaced) + ".queue.age"));
}

TEST_CASE("sweeper: an acknowledged receipt goes with its signature, wherever that is") {
  testing::RetentionRows w;
  int64_t id = w.upload("a.age", true, kProcessed);
  w.upload("b.age", true, kProcessed);
  w.touch(w.box("archive/a.age.receipt.json"));
  w.touch(w.box("archive/a.age.receipt.json.minisig"));
  w.touch(w.box("archive/b.age.receipt.json"));
  w.touch(w.box("outbox/b.age.receipt.json.minisig"));  // the client never removed it
  w.acknowledge("a.age.receipt.json", kProcessed + kDay);
  w.acknowledge("b.age.receipt.json", kProcessed + kDay);
  auto r = sweep(w, kProcessed + kDay + 365 * kDay - 1);
  CHECK(w.present(w.box("archive/a.age.receipt.json")));
  r = sweep(w, kProcessed + kDay + 365 * kDay);
  for (const char* f : {"archive/a.age.receipt.json", "archive/a.age.receipt.json.minisig",
                        "archive/b.age.receipt.json", "outbox/b.age.receipt.json.minisig"})
    CHECK_MESSAGE(!w.present(w.box(f)), f);
  CHECK_FALSE(*store::receipt_of(*w.db, id));
}

TEST_CASE("sweeper: a deletion interrupted after its commit is finished, not audited again") {
  testing::RetentionRows w;
  w.upload("a.age", true, kProcessed);
  w.touch(w.box("inbox/a.age"));
  w.touch(w.box("partial/p-a.age"));  // a link + unlink rename that crashed half way
  auto items = store::retention_items(*w.db);
  REQUIRE(items.ok());
  auto item = items->at(0);
  REQUIRE(item.kind == RetentionKind::inbox);
  auto files = workers::retention_files(item);
  CHECK(files ==
        std::vector<std::string>{"boxes/GM0363/inbox/a.age", "boxes/GM0363/partial/p-a.age"});
  // The first half of a sweep, then the "crash".
  store::AuditEvent e;
  e.event = "retention.deleted";
  e.outcome = "success";
  auto id = store::purge_item(*w.db, item, files, 1, 2, e);
  REQUIRE(id.ok());
  REQUIRE(*id);
  CHECK(w.present(w.box("inbox/a.age")));
  auto r = sweep(w, kProcessed);  // not even due by the clock: the mark decides
  CHECK(r.finished == 1);
  CHECK(r.deleted == 0);
  CHECK_FALSE(w.present(w.box("inbox/a.age")));
  CHECK_FALSE(w.present(w.box("partial/p-a.age")));
  CHECK(w.audit_count("retention.deleted") == 1);
  CHECK(store::pending_unlinks(*w.db)->empty());
}

TEST_CASE("sweeper: a file that cannot be removed is retried at the next sweep") {
  testing::RetentionRows w;
  w.upload("a.age", true, kProcessed);
  std::string blocker = w.data.root + "/" + w.box("inbox/a.age");
  REQUIRE(::mkdir(blocker.c_str(), 0700) == 0);  // unlink(2) refuses a directory
  auto r = sweep(w, kProcessed + 8 * kDay);
  CHECK(r.deleted == 1);
  CHECK(r.failed == 1);
  CHECK(store::pending_unlinks(*w.db)->size() == 1);
  REQUIRE(::rmdir(blocker.c_str()) == 0);
  w.touch(w.box("inbox/a.age"));
  r = sweep(w, kProcessed + 8 * kDay);
  CHECK(r.finished == 1);
  CHECK(r.failed == 0);
  CHECK_FALSE(w.present(w.box("inbox/a.age")));
  CHECK(w.audit_count("retention.deleted") == 1);
}

TEST_CASE("sweeper: two sweepers at once delete and audit each item once") {
  testing::RetentionRows w;
  for (int i = 0; i < 5; ++i) {
    std::string name = "f" + std::to_string(i) + ".age";
    w.upload(name, true, kProcessed);
    w.touch(w.box("inbox/" + name));
  }
  auto other = store::Db::open(w.data.db());
  REQUIRE(other.ok());
  auto a = sweep(w, kProcessed + 8 * kDay);
  auto b = sweep(w, kProcessed + 8 * kDay, &*other);
  CHECK(a.deleted + b.deleted == 5);
  CHECK(w.audit_count("retention.deleted") == 5);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(w.present(w.box("inbox/f" + std::to_string(i) + ".age")));
}

TEST_CASE("sweeper: names that are not one safe component are never turned into paths") {
  store::RetentionItem item;
  item.kind = RetentionKind::inbox;
  item.municipality = "GM0363";
  for (const char* bad : {"..", ".", "a/b", ""}) {
    item.name = bad;
    CHECK(workers::retention_files(item).empty());
  }
  item.name = "ok.age";
  item.municipality = "../GM0363";
  CHECK(workers::retention_files(item).empty());
  item.kind = RetentionKind::outbox;
  item.municipality = "GM0363";
  item.archived_name = std::nullopt;  // acknowledged without an archive name: nothing to remove
  CHECK(workers::retention_files(item).empty());
  item.archived_name = "../../keys/hub.minisign.key";
  CHECK(workers::retention_files(item).empty());
  item.kind = RetentionKind::queue;
  item.name = "../keys";
  CHECK(workers::retention_files(item).empty());
}

TEST_CASE("sweeper: a slice stops at max_deletions and the next sweep goes on") {
  testing::RetentionRows w;
  for (int i = 0; i < 5; ++i) w.upload("s" + std::to_string(i) + ".age", true, kProcessed);
  auto first =
      workers::sweep_retention(w.data, *w.db, defaults(), kProcessed + 8 * kDay, "test", 2);
  REQUIRE(first.ok());
  CHECK(first->deleted == 2);
  CHECK(first->more);
  auto rest = workers::sweep_retention(w.data, *w.db, defaults(), kProcessed + 8 * kDay, "test", 3);
  REQUIRE(rest.ok());
  CHECK(rest->deleted == 3);
  CHECK_FALSE(rest->more);
  CHECK(w.audit_count("retention.deleted") == 5);
}
