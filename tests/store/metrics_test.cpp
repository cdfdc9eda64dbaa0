// Unit tests for store/metrics.h: the counters say what the tables hold.
#include "store/metrics.h"

#include <doctest/doctest.h>

#include <limits>
#include <map>

#include "store/registry.h"
#include "store/transfer_log.h"
#include "tests/support/store_world.h"

using namespace kp;

namespace {

std::map<std::string, int64_t> metrics_of(store::Db& db) {
  auto m = store::read_metrics(db);
  REQUIRE(m.ok());
  return {m->begin(), m->end()};
}

void audit(store::Db& db, const std::string& event, const std::string& outcome) {
  store::AuditEvent e = testing::audit_event(event);
  e.outcome = outcome;
  REQUIRE(store::append_audit(db, e).ok());
}

}  // namespace

TEST_CASE("metrics: uploads, logins and limit hits are counted") {
  testing::StoreWorld w;
  w.upload("GM0363", "a.age", 100);
  w.upload("GM0363", "b.age", 100 + 86400000);  // another day
  w.upload("GM0599", "c.age", 100);
  audit(w.db(), "auth.login", "success");
  audit(w.db(), "auth.login", "success");
  audit(w.db(), "auth.login", "refused");
  audit(w.db(), "web.login", "refused");  // not an SSH login
  audit(w.db(), "limit.hit", "refused");
  auto m = metrics_of(w.db());
  CHECK(m["logins_total"] == 2);
  CHECK(m["logins_refused_total"] == 1);
  CHECK(m["limit_hits_total"] == 1);
  CHECK(m["audit_events_total"] == 8);  // 3 uploads + 5 above
}

TEST_CASE("metrics: uploads per municipality, the backlog and its oldest upload") {
  testing::StoreWorld w;
  auto m = store::read_store_metrics(w.db());
  REQUIRE(m.ok());
  CHECK(!m->oldest_waiting_ms);
  w.accepted_case("KP-2026-000001", "GM0599", 1.0, 200);  // decided: counted, not waiting
  w.upload("GM0363", "a.age", 150);
  w.upload("GM0363", "b.age", 150 + 86400000);  // another day
  m = store::read_store_metrics(w.db());
  REQUIRE(m.ok());
  // Every registered municipality, also one without uploads.
  CHECK(m->uploads == store::ByMunicipality{{"GM0363", 2}, {"GM0599", 1}});
  CHECK(m->upload_bytes == store::ByMunicipality{{"GM0363", 20}, {"GM0599", 10}});
  CHECK(m->intake_waiting == store::ByMunicipality{{"GM0363", 2}, {"GM0599", 0}});
  CHECK(m->oldest_waiting_ms == 150);
  CHECK(m->cases_queued == 1);
  CHECK(m->cases_taken == 0);
}

TEST_CASE("metrics: the receipt latency histogram counts each verdict once, in its bucket") {
  testing::StoreWorld w;
  auto empty = store::read_store_metrics(w.db());
  REQUIRE(empty.ok());
  REQUIRE(empty->receipt_latency.size() == 13);
  CHECK(empty->receipt_latency.back().le_ms == std::numeric_limits<int64_t>::max());
  for (const auto& b : empty->receipt_latency) CHECK(b.count == 0);
  w.accepted_case("KP-2026-000001", "GM0363", 1.0, 100 + 3000);    // 3 s: the 5 s bucket
  w.accepted_case("KP-2026-000002", "GM0363", 1.0, 100 + 100);     // 0.1 s: the first bucket (le is inclusive)
  w.accepted_case("KP-2026-000003", "GM0363", 1.0, 100 + 2 * 86400000);  // two days: +Inf
  auto m = store::read_store_metrics(w.db());
  REQUIRE(m.ok());
  std::map<int64_t, std::pair<int64_t, int64_t>> by_le;
  for (const auto& b : m->receipt_latency) by_le[b.le_ms] = {b.count, b.sum_ms};
  CHECK(by_le[100] == std::pair<int64_t, int64_t>{1, 100});
  CHECK(by_le[5000] == std::pair<int64_t, int64_t>{1, 3000});
  CHECK(by_le[std::numeric_limits<int64_t>::max()] == std::pair<int64_t, int64_t>{1, 2 * 86400000LL});
  CHECK(by_le[2500].first == 0);
}

TEST_CASE("health records: staff recipients and the records no checkpoint covers") {
  testing::StoreWorld w;
  auto h = store::read_health_records(w.db());
  REQUIRE(h.ok());
  CHECK(h->staff_recipients == 0);
  CHECK(h->log_size == 0);
  CHECK(!h->checkpoint_ms);
  CHECK(!h->oldest_uncovered_ms);
  REQUIRE(store::add_account(w.db(), {"s", "staff", {}, {}, std::string("age1x")}, {"ssh-ed25519", "S", "SHA256:S"}, 1)
              .ok());
  REQUIRE(store::add_account(w.db(), {"t", "staff", {}, {}, {}}, {"ssh-ed25519", "T", "SHA256:T"}, 1).ok());
  audit(w.db(), "auth.login", "success");  // ts 1000
  h = store::read_health_records(w.db());
  REQUIRE(h.ok());
  CHECK(h->staff_recipients == 1);  // t has no recipient
  CHECK(h->log_size >= 1);
  CHECK(h->oldest_uncovered_ms);
  // A checkpoint covering everything: nothing waits.
  store::StoredCheckpoint cp;
  cp.size = h->log_size;
  cp.note = "n";
  cp.ts_ms = 5000;
  REQUIRE(store::insert_checkpoint(w.db(), cp).ok());
  h = store::read_health_records(w.db());
  REQUIRE(h.ok());
  CHECK(h->checkpoint_size == cp.size);
  CHECK(h->checkpoint_ms == 5000);
  CHECK(!h->oldest_uncovered_ms);
  audit(w.db(), "auth.login", "success");
  h = store::read_health_records(w.db());
  REQUIRE(h.ok());
  CHECK(h->oldest_uncovered_ms == 1000);  // audit_event's default time
  REQUIRE(store::disable_account(w.db(), "s", 2).ok());
  CHECK(store::count_staff_recipients(w.db()).value() == 0);
}
