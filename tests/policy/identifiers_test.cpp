// Unit tests for policy/identifiers.h.
#include "policy/identifiers.h"

#include <doctest/doctest.h>

#include <string>

using namespace kp::policy;

TEST_CASE("identifiers: account ids") {
  CHECK(valid_account_id("j.jansen"));
  CHECK(valid_account_id("a"));
  CHECK(valid_account_id("0abc_def-1.x"));
  CHECK(valid_account_id(std::string(64, 'a')));
  CHECK_FALSE(valid_account_id(std::string(65, 'a')));
  CHECK_FALSE(valid_account_id(""));
  CHECK_FALSE(valid_account_id(".hidden"));
  CHECK_FALSE(valid_account_id("-x"));
  CHECK_FALSE(valid_account_id("J.Jansen"));
  CHECK_FALSE(valid_account_id("a/b"));
  CHECK_FALSE(valid_account_id("a@b"));
  CHECK_FALSE(valid_account_id(std::string("a\0b", 3)));
  CHECK_FALSE(valid_account_id("a b"));
  CHECK_FALSE(valid_account_id("\xc3\xa9"));
}

TEST_CASE("identifiers: municipality codes") {
  CHECK(valid_municipality_code("GM0363"));
  CHECK(valid_municipality_code("GM0014"));
  CHECK_FALSE(valid_municipality_code("GM036"));
  CHECK_FALSE(valid_municipality_code("GM03630"));
  CHECK_FALSE(valid_municipality_code("gm0363"));
  CHECK_FALSE(valid_municipality_code("GM03a3"));
  CHECK_FALSE(valid_municipality_code("XX0363"));
  CHECK_FALSE(valid_municipality_code(""));
  CHECK_FALSE(valid_municipality_code("GM../x"));
}

TEST_CASE("identifiers: BSN 11-test, KvK, AGB") {
  CHECK(valid_bsn("111222333"));
  CHECK(valid_bsn("123456782"));
  CHECK_FALSE(valid_bsn("123456789"));
  CHECK_FALSE(valid_bsn("000000000"));
  CHECK_FALSE(valid_bsn("11122233"));
  CHECK_FALSE(valid_bsn("1112223330"));
  CHECK_FALSE(valid_bsn("11122233a"));
  CHECK(valid_kvk("12345678"));
  CHECK_FALSE(valid_kvk("1234567"));
  CHECK_FALSE(valid_kvk("1234567x"));
  CHECK(valid_agb("01234567"));
  CHECK_FALSE(valid_agb("0123456"));
}
