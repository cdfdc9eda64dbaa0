// Unit tests for common/dates.h: when a daily limit resets, as a refusal says it.
#include "common/dates.h"

#include <doctest/doctest.h>

#include "policy/ranking.h"

TEST_CASE("dates: daily_reset_text names 00:00 UTC and the time left") {
  CHECK(kp::daily_reset_text(0) == "it resets at 00:00 UTC, in 24 h 0 min");
  CHECK(kp::daily_reset_text(kp::kDayMs - 1) == "it resets at 00:00 UTC, in 0 h 1 min");
  CHECK(kp::daily_reset_text(kp::kDayMs + 21 * 3600000LL + 30 * 60000LL) == "it resets at 00:00 UTC, in 2 h 30 min");
}

TEST_CASE("ranking: rank_label rounds half up, as the queue file name spells it") {
  CHECK(kp::policy::rank_label(44.5) == 45);
  CHECK(kp::policy::rank_label(44.49) == 44);
  CHECK(kp::policy::rank_label(0.0) == 0);
  CHECK(kp::policy::rank_label(100.0) == 100);
}
