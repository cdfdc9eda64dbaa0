// Unit tests for common/address.h: the source blocks bans are kept for.
#include "common/address.h"

#include <doctest/doctest.h>

using namespace kp;

TEST_CASE("source blocks: IPv4 itself, IPv6 its /64, mapped IPv4 as IPv4") {
  CHECK(source_block("127.0.0.9") == "127.0.0.9");
  CHECK(source_block("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(source_block("2001:0db8:0001:0002::1") == "2001:db8:1:2::/64");
  CHECK(source_block("2001:db8:1:2::/64") == "2001:db8:1:2::/64");
  CHECK(source_block("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(source_block("::1") == "::/64");
  CHECK_FALSE(source_block(""));
  CHECK_FALSE(source_block("example.org"));
  CHECK_FALSE(source_block("127.0.0.1/64"));
  CHECK_FALSE(source_block("2001:db8::/48"));
  CHECK_FALSE(source_block("1.2.3.4 "));
}

TEST_CASE("block_listed compares blocks") {
  std::vector<std::string> list = {"127.0.0.1", "2001:db8:1:2::5"};
  CHECK(block_listed(list, "127.0.0.1"));
  CHECK_FALSE(block_listed(list, "127.0.0.2"));
  CHECK(block_listed(list, "2001:db8:1:2:ffff::1"));
  CHECK_FALSE(block_listed(list, "2001:db8:1:3::1"));
  CHECK_FALSE(block_listed(list, "not an address"));
}
