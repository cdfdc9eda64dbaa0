// Unit tests for store/penalties.h on a real SQLite file: failures ban at the
// threshold, the window restarts, bans double up to the cap and expire, a
// banned block's failures are not counted, quiet blocks are forgotten, and
// lifting forgets everything.
#include "store/penalties.h"

#include <doctest/doctest.h>

#include "store/audit_events.h"
#include "tests/support/store_world.h"

using namespace kp;
using kp::testing::StoreWorld;

namespace {
constexpr int64_t kSec = 1000;
const store::PenaltyRules kRules{3, 60 * kSec, 10 * kSec, 35 * kSec};

std::optional<int64_t> fail(store::Db& db, const std::string& block, int64_t now) {
  auto r = store::add_failure(db, block, "auth-failed", "ssh", kRules, now);
  REQUIRE(r.ok());
  return *r;
}
}  // namespace

TEST_CASE("penalties: a ban at the threshold, doubling, capped, expiring") {
  StoreWorld w;
  int64_t t = 1'000'000 * kSec;
  CHECK_FALSE(fail(w.db(), "127.0.0.9", t));
  CHECK_FALSE(fail(w.db(), "127.0.0.9", t + kSec));
  auto until = fail(w.db(), "127.0.0.9", t + 2 * kSec);
  REQUIRE(until);
  CHECK(*until == t + 12 * kSec);
  CHECK(*store::banned_until(w.db(), "127.0.0.9", t + 3 * kSec) == until);
  CHECK_FALSE(*store::banned_until(w.db(), "127.0.0.8", t + 3 * kSec));
  // Failures while banned are not counted: the ban stays as it was.
  for (int i = 0; i < 5; ++i) CHECK_FALSE(fail(w.db(), "127.0.0.9", t + 4 * kSec));
  CHECK(*store::banned_until(w.db(), "127.0.0.9", t + 5 * kSec) == until);
  CHECK_FALSE(*store::banned_until(w.db(), "127.0.0.9", *until));
  // The second ban lasts twice as long, the third is capped.
  int64_t t2 = *until + kSec;
  fail(w.db(), "127.0.0.9", t2);
  fail(w.db(), "127.0.0.9", t2);
  CHECK(fail(w.db(), "127.0.0.9", t2) == t2 + 20 * kSec);
  int64_t t3 = t2 + 21 * kSec;
  fail(w.db(), "127.0.0.9", t3);
  fail(w.db(), "127.0.0.9", t3);
  CHECK(fail(w.db(), "127.0.0.9", t3) == t3 + 35 * kSec);
  auto listed = store::list_penalties(w.db(), kRules, t3);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].bans == 3);
  // Each ban is one audit record.
  auto bans = store::list_audit(w.db(), std::string("source.banned"));
  REQUIRE(bans.ok());
  CHECK(bans->size() == 3);
  // Quiet for max_ms after the ban ended: forgotten, the next ban is short again.
  int64_t t4 = t3 + 35 * kSec + 36 * kSec;
  fail(w.db(), "127.0.0.1", t4);
  CHECK(store::list_penalties(w.db(), kRules, t4)->size() == 1);
  fail(w.db(), "127.0.0.9", t4);
  fail(w.db(), "127.0.0.9", t4);
  CHECK(fail(w.db(), "127.0.0.9", t4) == t4 + 10 * kSec);
}

TEST_CASE("penalties: the window restarts, and lifting forgets") {
  StoreWorld w;
  int64_t t = 2'000'000 * kSec;
  fail(w.db(), "2001:db8::/64", t);
  fail(w.db(), "2001:db8::/64", t + kSec);
  CHECK_FALSE(fail(w.db(), "2001:db8::/64", t + 61 * kSec));  // a new window: 1 of 3
  CHECK_FALSE(fail(w.db(), "2001:db8::/64", t + 62 * kSec));
  REQUIRE(fail(w.db(), "2001:db8::/64", t + 63 * kSec));
  auto gone = store::lift_penalty(w.db(), "2001:db8::/64");
  REQUIRE(gone.ok());
  REQUIRE(*gone);
  CHECK((*gone)->bans == 1);
  CHECK_FALSE(*store::banned_until(w.db(), "2001:db8::/64", t + 64 * kSec));
  CHECK_FALSE(*store::lift_penalty(w.db(), "2001:db8::/64"));
}
