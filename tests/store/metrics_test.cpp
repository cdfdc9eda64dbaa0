// Unit tests for store/metrics.h: the counters say what the tables hold.
#include "store/metrics.h"

#include <doctest/doctest.h>

#include <map>

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
  CHECK(m["uploads_total"] == 3);
  CHECK(m["upload_bytes_total"] == 30);  // StoreWorld uploads are 10 bytes
  CHECK(m["logins_total"] == 2);
  CHECK(m["logins_refused_total"] == 1);
  CHECK(m["limit_hits_total"] == 1);
  CHECK(m["audit_events_total"] == 8);  // 3 uploads + 5 above
}
