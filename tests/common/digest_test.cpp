// Unit tests for common/digest.h.
#include "common/digest.h"

#include <doctest/doctest.h>

TEST_CASE("sha256 of empty and abc") {
  CHECK(kp::to_hex(kp::sha256("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(kp::to_hex(kp::sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("hex round trip and refusal") {
  std::string out;
  CHECK(kp::from_hex("00ff10", out));
  CHECK(out == std::string("\x00\xff\x10", 3));
  CHECK_FALSE(kp::from_hex("abc", out));
  CHECK_FALSE(kp::from_hex("zz", out));
}
