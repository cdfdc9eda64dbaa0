// Unit tests for gateway/web_token.h: strength rules, the token file's
// mode and shape, hashing and constant-time matching.
#include "gateway/web_token.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/temp_dir.h"

using namespace kp;

namespace {
std::string write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
  return path;
}
const std::string kGood = "0123456789abcdef0123456789abcdef";  // 32 characters
}  // namespace

TEST_CASE("web token: strength") {
  CHECK(gateway::check_token_strength(kGood).ok());
  CHECK(gateway::check_token_strength(kGood.substr(1)).error().code == "token-too-short");
  CHECK(gateway::check_token_strength("").error().code == "token-too-short");
  CHECK(gateway::check_token_strength(std::string(257, 'a')).error().code == "token-too-long");
  CHECK(gateway::check_token_strength(kGood + " x").error().code == "token-invalid");
  CHECK(gateway::check_token_strength(kGood + "\x01").error().code == "token-invalid");
  CHECK(gateway::check_token_strength(kGood + "\xc3\xa9").error().code == "token-invalid");
}

TEST_CASE("web token: file") {
  testing::TempDir dir;
  auto ok = gateway::read_token_file(write(dir.path() + "/t", kGood + "\n", 0600));
  REQUIRE(ok.ok());
  CHECK(*ok == kGood);
  CHECK(*gateway::read_token_file(write(dir.path() + "/crlf", kGood + "\r\n", 0400)) == kGood);
  CHECK(gateway::read_token_file(write(dir.path() + "/g", kGood, 0640)).error().code ==
        "token-file-exposed");
  CHECK(gateway::read_token_file(write(dir.path() + "/o", kGood, 0604)).error().code ==
        "token-file-exposed");
  CHECK(gateway::read_token_file(write(dir.path() + "/s", "short\n", 0600)).error().code ==
        "token-too-short");
  CHECK(gateway::read_token_file(write(dir.path() + "/two", kGood + "\n" + kGood + "\n", 0600))
            .error()
            .code == "token-invalid");
  CHECK(gateway::read_token_file(write(dir.path() + "/big", std::string(100000, 'a'), 0600))
            .error()
            .code == "token-too-long");
  CHECK(gateway::read_token_file(dir.path() + "/missing").error().code == "file-unreadable");
  CHECK(gateway::read_token_file(dir.path()).error().code == "file-unreadable");
}

TEST_CASE("web token: hash and match") {
  auto h = gateway::hash_token(kGood);
  CHECK(h == gateway::hash_token(kGood));
  CHECK(h != gateway::hash_token(kGood + "x"));
  CHECK(gateway::token_matches(kGood, h));
  CHECK_FALSE(gateway::token_matches(kGood + "x", h));
  CHECK_FALSE(gateway::token_matches("", h));
  std::string flipped = kGood;
  flipped[31] = 'e';
  CHECK_FALSE(gateway::token_matches(flipped, h));
}
