// Unit tests for policy/retention.h: which state starts which clock, and
// when an item expires.
#include "policy/retention.h"

#include <doctest/doctest.h>

using namespace kp;
using namespace kp::policy;

namespace {
RetentionPeriods periods() {
  Settings s;
  s.retention_inbox_seconds = 7 * 86400;
  s.retention_quarantine_seconds = 30 * 86400;
  s.retention_queue_seconds = 90 * 86400;
  s.retention_outbox_seconds = 30 * 86400;
  s.retention_receipts_seconds = 10;
  s.retention_audit_log_seconds = 1827 * 86400;
  return retention_periods(s);
}
constexpr int64_t kDay = 86400000;
}  // namespace

TEST_CASE("retention: each kind's period comes from its own setting") {
  auto p = periods();
  CHECK(period_ms(RetentionKind::inbox, p) == 7 * kDay);
  CHECK(period_ms(RetentionKind::quarantine, p) == 30 * kDay);
  CHECK(period_ms(RetentionKind::queue, p) == 90 * kDay);
  CHECK(period_ms(RetentionKind::outbox, p) == 30 * kDay);
  CHECK(period_ms(RetentionKind::receipt, p) == 10000);
  CHECK(p.audit_log_ms == 1827 * kDay);
  CHECK(retention_kinds().size() == 5);
  for (auto k : retention_kinds()) {
    CHECK(retention_setting_key(k).substr(0, 10) == "retention_");
    CHECK(retention_kind_name(k) != "unknown");
  }
}

TEST_CASE("retention: the clock starts at the verdict, the decision or the acknowledgement") {
  auto p = periods();
  CHECK(expiry_ms(RetentionKind::inbox, "accepted", 1000, p) == 1000 + 7 * kDay);
  CHECK(expiry_ms(RetentionKind::quarantine, "rejected", 1000, p) == 1000 + 30 * kDay);
  CHECK(expiry_ms(RetentionKind::queue, "closed", 5000, p) == 5000 + 90 * kDay);
  CHECK(expiry_ms(RetentionKind::queue, "declined", 5000, p) == 5000 + 90 * kDay);
  CHECK(expiry_ms(RetentionKind::outbox, "acknowledged", 7, p) == 7 + 30 * kDay);
  CHECK(expiry_ms(RetentionKind::receipt, "acknowledged", 7, p) == 7 + 10000);
}

TEST_CASE("retention: nothing expires before its clock starts, however old") {
  auto p = periods();
  int64_t far_future = int64_t(4102444800000);  // 2100
  // Uploads not processed (or processed the other way).
  for (const char* s : {"received", "processing", "rejected", "", "ACCEPTED"})
    CHECK_FALSE(is_expired(RetentionKind::inbox, s, 1, p, far_future));
  for (const char* s : {"received", "processing", "accepted"})
    CHECK_FALSE(is_expired(RetentionKind::quarantine, s, 1, p, far_future));
  // Cases still queued or taken, or in a state this version does not know.
  for (const char* s : {"queued", "taken", "reopened", ""})
    CHECK_FALSE(is_expired(RetentionKind::queue, s, 1, p, far_future));
  // Outbox items the municipality has not picked up.
  for (auto k : {RetentionKind::outbox, RetentionKind::receipt}) {
    CHECK_FALSE(is_expired(k, "placed", 1, p, far_future));
    CHECK_FALSE(is_expired(k, "", 1, p, far_future));
  }
}

TEST_CASE("retention: a missing or zero clock start never expires") {
  auto p = periods();
  CHECK_FALSE(expiry_ms(RetentionKind::inbox, "accepted", std::nullopt, p));
  CHECK_FALSE(expiry_ms(RetentionKind::inbox, "accepted", 0, p));
  CHECK_FALSE(expiry_ms(RetentionKind::queue, "closed", -5, p));
  RetentionPeriods zero;  // defensive: settings refuse periods below one second
  CHECK_FALSE(expiry_ms(RetentionKind::outbox, "acknowledged", 1000, zero));
}

TEST_CASE("retention: an item expires at its due time, not a millisecond before") {
  auto p = periods();
  int64_t start = 1'800'000'000'000;
  int64_t due = start + 7 * kDay;
  CHECK_FALSE(is_expired(RetentionKind::inbox, "accepted", start, p, due - 1));
  CHECK(is_expired(RetentionKind::inbox, "accepted", start, p, due));
  CHECK(is_expired(RetentionKind::inbox, "accepted", start, p, due + kDay));
}
