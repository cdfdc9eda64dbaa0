// Unit tests for keys/age_armor.h: armor and dearmor round trip (empty,
// one short line, exact multiples of 48 bytes, large); what `age -a`
// writes is read (CRLF, surrounding white space); damaged armor is refused.
#include "keys/age_armor.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "common/handles.h"

using namespace kp::age;

namespace {

kp::Fd memfile(const std::string& bytes) {
  kp::Fd fd(::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  REQUIRE(fd.valid());
  REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  return fd;
}

std::string contents(int fd) {
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

std::string armored(const std::string& bin) {
  auto in = memfile(bin);
  auto out = memfile("");
  REQUIRE(armor_fd(in.get(), out.get()).ok());
  return contents(out.get());
}

kp::Result<std::string> dearmored(const std::string& text, uint64_t max = UINT64_MAX) {
  auto in = memfile(text);
  auto out = memfile("");
  kp::Status s = dearmor_fd(in.get(), out.get(), max);
  if (!s.ok()) return s.error();
  return contents(out.get());
}

}  // namespace

TEST_CASE("age armor: round trips") {
  for (std::size_t n : {0u, 1u, 47u, 48u, 49u, 96u, 100000u, 48u * 1024u, 48u * 1024u + 1u}) {
    CAPTURE(n);
    std::string bin(n, '\0');
    for (std::size_t i = 0; i < n; ++i) bin[i] = static_cast<char>(i * 31 + 7);
    std::string text = armored(bin);
    CHECK(text.starts_with(std::string(kArmorBegin) + "\n"));
    CHECK(text.ends_with(std::string(kArmorEnd) + "\n"));
    CHECK(looks_armored(text));
    auto back = dearmored(text);
    REQUIRE(back.ok());
    CHECK(*back == bin);
  }
}

TEST_CASE("age armor: white space around it and CRLF lines are read") {
  std::string text = armored("hello, age");
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  CHECK(*dearmored("\n  \n" + crlf + "\r\n\n") == "hello, age");
  CHECK(looks_armored("  \n-----BEGIN AGE"));
  CHECK_FALSE(looks_armored("age-encryption.org/v1\n"));
  CHECK_FALSE(looks_armored(""));
}

TEST_CASE("age armor: damaged armor is refused") {
  const std::string good = armored(std::string(200, 'x'));
  auto refused = [](const std::string& t) {
    auto r = dearmored(t);
    return !r.ok() && r.error().code == "age-armor-invalid";
  };
  CHECK(refused("no armor here\n"));
  CHECK(refused(good.substr(0, good.size() - kArmorEnd.size() - 1)));  // no END line
  std::string bad_char = good;
  bad_char[kArmorBegin.size() + 5] = '*';
  CHECK(refused(bad_char));
  CHECK(refused(good + "trailing text\n"));
  // A short line before a full one.
  const std::string begin = std::string(kArmorBegin) + "\n", end = std::string(kArmorEnd) + "\n";
  CHECK(refused(begin + "YWJj\n" + std::string(64, 'A') + "\n" + end));
  CHECK(refused(begin + std::string(65, 'A') + "\n" + end));  // over 64 columns
  auto big = dearmored(good, 10);
  CHECK((!big.ok() && big.error().code == "age-armor-too-large"));
}
