// Unit tests for common/utf8.h.
#include "common/utf8.h"

#include <doctest/doctest.h>

TEST_CASE("utf8: strict decoding") {
  std::u32string cps;
  CHECK(kp::decode_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", cps));
  CHECK(cps == U"a\u00e9\u20ac\U0001F600");
  CHECK(kp::is_strict_utf8("plain"));
  CHECK(kp::is_strict_utf8(""));
  for (const char* bad : {"\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
                          "\xed\xbf\xbf", "\xf0\x80\x80\x80", "\xf4\x90\x80\x80",
                          "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe2\x82", "\xc3\x28"}) {
    cps.clear();
    CHECK_FALSE(kp::decode_utf8(bad, cps));
    CHECK_FALSE(kp::is_strict_utf8(bad));
  }
  char32_t cp = 0;
  CHECK(kp::utf8_next("\xe2\x82\xac!", 0, cp) == 3);
  CHECK(cp == 0x20AC);
  CHECK(kp::utf8_next("\xe2\x82\xac!", 3, cp) == 1);
}
