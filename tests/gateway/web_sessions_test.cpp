// Unit tests for gateway/web_sessions.h: lookup, expiry, logout, the cap
// and CSRF matching.
#include "gateway/web_sessions.h"

#include <doctest/doctest.h>

using namespace kp::gateway;

TEST_CASE("web sessions: create, find, expire, drop") {
  WebSessions s;
  WebSession a = s.create("a.audit", {}, 1000);
  CHECK(a.id.size() == 64);
  CHECK(a.csrf.size() == 64);
  CHECK(a.id != a.csrf);
  auto found = s.find(a.id, 1001);
  REQUIRE(found);
  CHECK(found->auditor == "a.audit");
  CHECK_FALSE(s.find(a.id, 1000 + kSessionMs));  // expired
  CHECK_FALSE(s.find(a.id, 1001));               // and gone
  WebSession b = s.create("b", {}, 1000);
  CHECK_FALSE(s.find("", 1001));
  CHECK_FALSE(s.find(b.id.substr(1), 1001));
  std::string other = b.id;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  CHECK_FALSE(s.find(other, 1001));
  s.drop(b.id);
  CHECK_FALSE(s.find(b.id, 1001));
}

TEST_CASE("web sessions: the table is capped, oldest first") {
  WebSessions s;
  WebSession first = s.create("x", {}, 1);
  for (std::size_t i = 0; i < kMaxSessions; ++i) s.create("y", {}, 2 + static_cast<int64_t>(i));
  CHECK_FALSE(s.find(first.id, 3));
}

TEST_CASE("web sessions: csrf") {
  WebSessions s;
  WebSession a = s.create("a", {}, 1);
  CHECK(csrf_matches(a, a.csrf));
  CHECK_FALSE(csrf_matches(a, ""));
  CHECK_FALSE(csrf_matches(a, a.csrf.substr(1)));
  CHECK_FALSE(csrf_matches(a, a.id));
}
