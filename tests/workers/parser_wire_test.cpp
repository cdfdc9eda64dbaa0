// Unit tests for workers/parser_wire.h: the job and answer round trip, and
// every way a (compromised) parser child's answer can be wrong.
#include "workers/parser_wire.h"

#include <doctest/doctest.h>
#include <sodium.h>

#include <cstring>
#include <functional>

#include "common/bytes.h"

namespace {

using kp::workers::parser::Answer;
using kp::workers::parser::decode_answer;
using kp::workers::parser::decode_job;
using kp::workers::parser::encode_answer;
using kp::workers::parser::encode_job;
using kp::workers::parser::Job;

Answer good_answer() {
  Answer a;
  a.package.manifest = "{\"kind\":\"signal\"}";
  a.package.signature = "untrusted comment: x\nRWQ...\n";
  a.package.sealed_bytes = 4242;
  a.package.files["files/a.pdf"] = {10, std::string(64, 'a')};
  a.package.files["files/b.csv"] = {0, std::string(64, '0')};
  return a;
}

// An answer as a hostile child might write it.
std::vector<uint8_t> forged(const std::function<void(kp::Writer&)>& body) {
  std::vector<uint8_t> out;
  kp::Writer w(out);
  w.u32(0x4b504131);
  body(w);
  return out;
}

}  // namespace

TEST_CASE("parser wire: a job round trips, key and rules included") {
  Job j;
  j.payload_key = kp::SecretBytes(32);
  for (int i = 0; i < 32; ++i) j.payload_key.data()[i] = static_cast<unsigned char>(i);
  j.header_bytes = 201;
  j.payload_offset = 201;
  j.timeout_ms = 1234;
  j.rules.max_entries = 7;
  j.rules.allowed_extensions = {".pdf", ".csv"};
  j.reseal_to.push_back(kp::age::PublicKey{1, 2, 3});
  auto bytes = encode_job(j);
  auto back = decode_job(bytes);
  REQUIRE(back.ok());
  CHECK(sodium_memcmp(back->payload_key.data(), j.payload_key.data(), 32) == 0);
  CHECK(back->payload_offset == 201);
  CHECK(back->timeout_ms == 1234);
  CHECK(back->rules.max_entries == 7);
  CHECK(back->rules.allowed_extensions == j.rules.allowed_extensions);
  CHECK(back->reseal_to == j.reseal_to);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    auto bad = decode_job(std::span<const uint8_t>(bytes.data(), cut));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == "parser-bad-job");
  }
  bytes.push_back(0);
  CHECK_FALSE(decode_job(bytes).ok());
}

TEST_CASE("parser wire: answers round trip; every cut or trailing byte is a bad answer") {
  const kp::policy::PackageRules rules;
  for (bool rejected : {false, true}) {
    Answer a = good_answer();
    if (rejected) a.rejection = kp::make_error("package-entry-symlink", "entry 3 is a symbolic link");
    a.note = "hook";
    auto bytes = encode_answer(a);
    CHECK(bytes.size() <= kp::workers::parser::max_answer(rules));
    auto back = decode_answer(bytes, rules);
    REQUIRE(back.ok());
    CHECK(back->note == "hook");
    if (rejected) {
      REQUIRE(back->rejection);
      CHECK(back->rejection->code == "package-entry-symlink");
    } else {
      CHECK_FALSE(back->rejection);
      CHECK(back->package.manifest == a.package.manifest);
      CHECK(back->package.signature == a.package.signature);
      CHECK(back->package.files.size() == 2);
      CHECK(back->package.files["files/a.pdf"].sha256 == std::string(64, 'a'));
      CHECK(back->package.files["files/a.pdf"].size == 10);
    }
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      auto bad = decode_answer(std::span<const uint8_t>(bytes.data(), cut), rules);
      REQUIRE_FALSE(bad.ok());
      CHECK(bad.error().code == "package-parser-bad-answer");
    }
    bytes.push_back('x');
    CHECK(decode_answer(bytes, rules).error().code == "package-parser-bad-answer");
  }
}

TEST_CASE("parser wire: a hostile child's answers are refused") {
  kp::policy::PackageRules rules;
  rules.max_entries = 3;
  auto refused = [&](const std::vector<uint8_t>& b) {
    auto r = decode_answer(b, rules);
    return !r.ok() && r.error().code == "package-parser-bad-answer";
  };
  auto rejection = [](std::string code) {
    return forged([code](kp::Writer& w) {
      w.u8(1);
      w.str(code);
      w.str("detail");
      w.str("");
    });
  };
  // Codes a child may not give: not a parser's, or the worker's own verdicts on it.
  for (const char* code : {"accepted", "package-parser-crashed", "package-parser-timeout", "manifest-hash-mismatch",
                           "", "AGE-NO-MATCH", "age no match", "no-staff-recipients"}) {
    CAPTURE(code);
    CHECK(refused(rejection(code)));
  }
  CHECK_FALSE(refused(rejection("age-payload-invalid")));
  CHECK_FALSE(refused(rejection("package-entry-traversal")));
  // Detail not UTF-8.
  CHECK(refused(forged([](kp::Writer& w) {
    w.u8(1);
    w.str("age-truncated");
    w.str("\xff\xfe");
    w.str("");
  })));
  auto accepted = [&](const std::vector<std::pair<std::string, uint64_t>>& files, std::string manifest = "{}",
                      std::string sig = "s", uint64_t sealed = 1) {
    return forged([=](kp::Writer& w) {
      w.u8(0);
      w.str(manifest);
      w.str(sig);
      w.u64(sealed);
      w.u32(static_cast<uint32_t>(files.size()));
      for (const auto& [name, size] : files) {
        w.str(name);
        w.u64(size);
        w.raw(std::string(32, '\x11'));
      }
      w.str("");
    });
  };
  CHECK_FALSE(refused(accepted({{"files/a.pdf", 1}})));
  CHECK(refused(accepted({{"../etc/passwd", 1}})));
  CHECK(refused(accepted({{"manifest.json", 1}})));
  CHECK(refused(accepted({{"files/../x.pdf", 1}})));
  CHECK(refused(accepted({{"files/a.pdf", 1}, {"files/a.pdf", 2}})));
  CHECK(refused(accepted({{"files/a.pdf", 1}, {"files/b.pdf", 1}, {"files/c.pdf", 1}, {"files/d.pdf", 1}})));
  CHECK(refused(accepted({{"files/a.pdf", rules.max_unpacked_bytes + 1}})));
  CHECK(refused(accepted({{"files/a.pdf", rules.max_unpacked_bytes}, {"files/b.pdf", 1}})));
  CHECK(refused(accepted({}, "")));
  CHECK(refused(accepted({}, "{}", "")));
  CHECK(refused(accepted({}, std::string(rules.max_manifest_bytes + 1, ' '))));
  CHECK(refused(accepted({}, "{}", "s", rules.max_package_bytes + 1)));
  CHECK(refused(forged([](kp::Writer& w) { w.u8(7); })));
  std::vector<uint8_t> no_magic = accepted({});
  no_magic[0] = 'X';
  CHECK(refused(no_magic));
}
