// Unit tests for keys/minisign.h: round trips, the fixed formats, and the
// refusals (truncated, oversized, tampered, wrong key, encrypted key).
#include "keys/minisign.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>

namespace ms = kp::minisign;

namespace {

ms::SecretKey fresh_key() {
  auto k = ms::generate();
  REQUIRE(k.ok());
  return std::move(k).value();
}

std::string as_string(const kp::SecretBytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// A secret key file written by `minisign -G -W` (minisign 0.11): kdf bytes,
// salt, limits and checksum all zero.
constexpr const char* kCliSecret =
    "untrusted comment: minisign encrypted secret key\n"
    "RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAiRkiE46axTprDkF0JjRcKlvk+YEQ0SReVNosg46"
    "hLM1gL5/QCltEU9NLNvp6UQl7xllvu1cG6FPljitvi7XT0+qQ132Ke5SRAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
constexpr const char* kCliPublic =
    "untrusted comment: minisign public key 3AC59A8E13221989\n"
    "RWSJGSITjprFOtNLNvp6UQl7xllvu1cG6FPljitvi7XT0+qQ132Ke5SR\n";
// `echo hello > f; minisign -S -s sec -m f -t "my trusted"`
constexpr const char* kCliSignature =
    "untrusted comment: signature from minisign secret key\n"
    "RUSJGSITjprFOmTjV0EfWr2wVWNLhrK56niqKb6UrCJWpymRvUGeWRQLJm1/7RFkIkFWL53AVw42lepQnfpebxoTdcKh4pZX6QM=\n"
    "trusted comment: my trusted\n"
    "3vzwTQngunRCGWZh7EUe1Gpz24AoBzxWxM0gSgeLBX2kWqU/bXDf0jLkcRjMxL+NUM7iXTS5kucsttum2RmdDQ==\n";

}  // namespace

TEST_CASE("minisign sign and verify round trip") {
  auto key = fresh_key();
  auto pub = key.public_key();
  auto sig = ms::sign(key, "hello world\n", "timestamp:1\tfile:x");
  REQUIRE(sig.ok());
  auto tc = ms::verify(pub, "hello world\n", *sig);
  REQUIRE(tc.ok());
  CHECK(*tc == "timestamp:1\tfile:x");

  // Empty data and an empty trusted comment are legitimate.
  auto sig2 = ms::sign(key, "", "");
  REQUIRE(sig2.ok());
  auto tc2 = ms::verify(pub, "", *sig2);
  REQUIRE(tc2.ok());
  CHECK(tc2->empty());
}

TEST_CASE("minisign streaming equals whole-buffer") {
  auto key = fresh_key();
  std::string data(200000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = char(i * 7);
  ms::Hasher h;
  for (std::size_t i = 0; i < data.size(); i += 4093) h.update(data.data() + i, std::min<std::size_t>(4093, data.size() - i));
  auto sig = ms::sign_prehash(key, h.finish(), "streamed");
  REQUIRE(sig.ok());
  CHECK(ms::verify(key.public_key(), data, *sig).ok());

  auto v = ms::Verifier::create(key.public_key(), *sig);
  REQUIRE(v.ok());
  for (std::size_t i = 0; i < data.size(); i += 1000) v->update(data.data() + i, std::min<std::size_t>(1000, data.size() - i));
  auto tc = v->finish();
  REQUIRE(tc.ok());
  CHECK(*tc == "streamed");
}

TEST_CASE("minisign file formats") {
  auto key = fresh_key();
  auto pub = key.public_key();
  std::string pub_file = ms::format_public_key(pub);
  CHECK(pub_file.starts_with("untrusted comment: minisign public key " + ms::key_id_hex(pub.key_id) + "\n"));
  CHECK(pub_file.size() == 39 + 16 + 1 + 56 + 1);
  auto parsed = ms::parse_public_key(pub_file);
  REQUIRE(parsed.ok());
  CHECK(parsed->key_id == pub.key_id);
  CHECK(parsed->pk == pub.pk);
  auto bare = ms::parse_public_key(ms::public_key_base64(pub));
  REQUIRE(bare.ok());
  CHECK(bare->pk == pub.pk);

  auto sk_text = ms::format_secret_key(key);
  REQUIRE(sk_text.ok());
  std::string sk_file = as_string(*sk_text);
  auto back = ms::parse_secret_key(sk_file);
  REQUIRE(back.ok());
  CHECK(back->key_id == key.key_id);
  REQUIRE(back->sk.size() == ms::kSecretKeyBytes);
  CHECK(std::memcmp(back->sk.data(), key.sk.data(), ms::kSecretKeyBytes) == 0);

  auto sig = ms::sign(key, "abc", "tc");
  REQUIRE(sig.ok());
  auto s = ms::parse_signature(*sig);
  REQUIRE(s.ok());
  CHECK(s->prehashed);
  CHECK(s->key_id == key.key_id);
  CHECK(s->untrusted_comment == "signature from minisign secret key");
  CHECK(ms::format_signature(*s) == *sig);
}

TEST_CASE("a key id prints as minisign prints it, without leading zeros") {
  ms::KeyId id{};  // little-endian: the last byte is the most significant
  id = {0x0A, 0x94, 0xF2, 0x64, 0xAA, 0x7E, 0x66, 0x02};
  CHECK(ms::key_id_hex(id) == "2667EAA64F2940A");
  CHECK(ms::key_id_hex(ms::KeyId{}) == "0");
  CHECK(ms::key_id_hex(ms::KeyId{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}) == "FFFFFFFFFFFFFFFF");
}

TEST_CASE("minisign reads keys and signatures made by the CLI") {
  auto sk = ms::parse_secret_key(kCliSecret);
  REQUIRE(sk.ok());
  CHECK(ms::key_id_hex(sk->key_id) == "3AC59A8E13221989");
  auto pk = ms::parse_public_key(kCliPublic);
  REQUIRE(pk.ok());
  CHECK(sk->public_key().pk == pk->pk);
  auto tc = ms::verify(*pk, "hello\n", kCliSignature);
  REQUIRE(tc.ok());
  CHECK(*tc == "my trusted");
  CHECK(ms::verify(*pk, "hello!\n", kCliSignature).error().code == "signature-invalid");

  // CRLF line endings and a missing final newline are tolerated, as minisign does.
  std::string crlf;
  for (char c : std::string(kCliSignature)) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  CHECK(ms::verify(*pk, "hello\n", crlf).ok());
  // libsodium 1.0.18 decodes any byte >= 0x80 as '/'; a '/' with its high
  // bit flipped must still be refused.
  {
    std::string hi(kCliSignature);
    std::size_t slash = hi.find('/', hi.find('\n'));
    REQUIRE(slash < hi.find("\ntrusted comment"));
    hi[slash] = char(0xAF);
    CHECK(ms::verify(*pk, "hello\n", hi).error().code == "signature-malformed");
  }
  std::string no_nl(kCliSignature);
  no_nl.pop_back();
  CHECK(ms::verify(*pk, "hello\n", no_nl).ok());
}

TEST_CASE("minisign legacy Ed signatures verify but are never produced") {
  auto key = fresh_key();
  std::string data = "legacy data";
  ms::Signature s;
  s.prehashed = false;
  s.key_id = key.key_id;
  s.untrusted_comment = "legacy";
  s.trusted_comment = "old";
  crypto_sign_detached(s.sig.data(), nullptr, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                       key.sk.data());
  std::string g(reinterpret_cast<const char*>(s.sig.data()), 64);
  g += s.trusted_comment;
  crypto_sign_detached(s.global_sig.data(), nullptr, reinterpret_cast<const unsigned char*>(g.data()), g.size(),
                       key.sk.data());
  std::string text = ms::format_signature(s);
  auto tc = ms::verify(key.public_key(), data, text);
  REQUIRE(tc.ok());
  CHECK(*tc == "old");
  CHECK(ms::verify(key.public_key(), data + "x", text).error().code == "signature-invalid");
  // A legacy signature is a different message from a prehashed one.
  auto ours = ms::sign(key, data, "old");
  REQUIRE(ours.ok());
  CHECK(ms::parse_signature(*ours)->prehashed);
}

TEST_CASE("minisign refusals: key mismatch, tamper, malformed") {
  auto key = fresh_key();
  auto other = fresh_key();
  std::string data = "payload";
  auto sig = ms::sign(key, data, "trusted");
  REQUIRE(sig.ok());

  CHECK(ms::verify(other.public_key(), data, *sig).error().code == "signature-key-mismatch");
  // Same key id but another key: the signature cannot verify.
  auto impostor = other.public_key();
  impostor.key_id = key.key_id;
  CHECK(ms::verify(impostor, data, *sig).error().code == "signature-invalid");

  // Every single-bit flip of the data fails.
  for (std::size_t i = 0; i < data.size() * 8; ++i) {
    std::string d = data;
    d[i / 8] = char(d[i / 8] ^ (1 << (i % 8)));
    CHECK(ms::verify(key.public_key(), d, *sig).error().code == "signature-invalid");
  }
  // Every single-bit flip anywhere in the signature file fails, except in
  // the untrusted comment text, which is by definition not signed.
  const std::size_t first_nl = sig->find('\n');
  const std::size_t prefix = std::string_view("untrusted comment: ").size();
  for (std::size_t i = 0; i < sig->size() * 8; ++i) {
    std::size_t byte = i / 8;
    if (byte >= prefix && byte < first_nl) continue;
    std::string t = *sig;
    t[byte] = char(t[byte] ^ (1 << (i % 8)));
    auto r = ms::verify(key.public_key(), data, t);
    CHECK_MESSAGE(!r.ok(), "flip at byte ", byte, " bit ", i % 8, " accepted");
  }
  // Changing the trusted comment text gives signature-invalid specifically.
  std::string t = *sig;
  t.replace(t.find("trusted\n", t.find("trusted comment: ")), 7, "trustee");
  CHECK(ms::verify(key.public_key(), data, t).error().code == "signature-invalid");

  // Truncations are malformed, never a crash.
  for (std::size_t n = 0; n + 1 < sig->size(); ++n) {
    auto r = ms::verify(key.public_key(), data, sig->substr(0, n));
    CHECK(!r.ok());
  }
  // Non-canonical base64 (non-zero padding bits before '=') is refused.
  {
    std::string nc(kCliSignature);
    std::size_t eq = nc.find("=\n");
    REQUIRE(nc[eq - 1] == 'M');
    nc[eq - 1] = 'N';
    CHECK(ms::parse_signature(nc).error().code == "signature-malformed");
  }
  CHECK(ms::parse_signature("").error().code == "signature-malformed");
  CHECK(ms::parse_signature(*sig + "extra line\n").error().code == "signature-malformed");
  CHECK(ms::parse_signature(std::string(20000, 'a')).error().code == "signature-malformed");
  std::string nul = *sig;
  nul.insert(nul.find("trusted\n", nul.find("trusted comment: ")), 1, '\0');
  CHECK(ms::parse_signature(nul).error().code == "signature-malformed");
}

TEST_CASE("minisign comment limits") {
  auto key = fresh_key();
  CHECK(ms::sign(key, "x", "a\nb").error().code == "comment-invalid");
  CHECK(ms::sign(key, "x", "a\rb").error().code == "comment-invalid");
  CHECK(ms::sign(key, "x", std::string("a\0b", 3)).error().code == "comment-invalid");
  CHECK(ms::sign(key, "x", "ok", "bad\ncomment").error().code == "comment-invalid");
  CHECK(ms::sign(key, "x", std::string(ms::kMaxTrustedComment + 1, 'c')).error().code == "comment-invalid");
  auto longest = ms::sign(key, "x", std::string(ms::kMaxTrustedComment, 'c'));
  REQUIRE(longest.ok());
  CHECK(ms::verify(key.public_key(), "x", *longest).ok());
}

TEST_CASE("minisign key refusals") {
  CHECK(ms::parse_public_key("").error().code == "key-malformed");
  CHECK(ms::parse_public_key("untrusted comment: x\nRWSJ\n").error().code == "key-malformed");
  CHECK(ms::parse_public_key(std::string(kCliPublic) + "more\n").error().code == "key-malformed");
  CHECK(ms::parse_public_key("not a comment\nRWSJGSITjprFOtNLNvp6UQl7xllvu1cG6FPljitvi7XT0+qQ132Ke5SR\n").error().code ==
        "key-malformed");
  // "ED" is a signature algorithm, never a key algorithm.
  CHECK(ms::parse_public_key("RUSJGSITjprFOtNLNvp6UQl7xllvu1cG6FPljitvi7XT0+qQ132Ke5SR").error().code ==
        "key-malformed");
  // Bytes outside the base64 alphabet are refused, including high-bit ones.
  CHECK(ms::parse_public_key("RWSJGSITjprFOtNLNvp6UQl7xllvu1cG6FPljitvi7XT0+qQ132Ke5S\xd2").error().code ==
        "key-malformed");
  CHECK(ms::parse_public_key("RWSJGSITjprFOtNLNvp6UQl7xllvu1cG6FPljitvi7XT0+qQ132Ke5S-").error().code ==
        "key-malformed");

  std::string sk(kCliSecret);
  // An encrypted key (kdf "Sc") is refused with its own code.
  {
    std::string enc = sk;
    std::size_t b = enc.find('\n') + 1;
    // "RWQAAEIy" = "Ed" 00 00 "B2"; "RWRTY0Iy" = "Ed" "Sc" "B2"
    enc.replace(b, 8, "RWRTY0Iy");
    CHECK(ms::parse_secret_key(enc).error().code == "key-encrypted");
  }
  // A bit flipped in the secret half breaks the seed/public-half match.
  {
    std::string bad = sk;
    std::size_t pos = bad.find('\n') + 1 + 90;
    bad[pos] = bad[pos] == 'A' ? 'B' : 'A';
    CHECK(ms::parse_secret_key(bad).error().code == "key-malformed");
  }
  // A wrong non-zero checksum is refused.
  {
    auto key = fresh_key();
    auto text = ms::format_secret_key(key);
    REQUIRE(text.ok());
    std::string t = as_string(*text);
    std::size_t pos = t.size() - 10;
    t[pos] = t[pos] == 'A' ? 'B' : 'A';
    CHECK(ms::parse_secret_key(t).error().code == "key-malformed");
  }
  CHECK(ms::parse_secret_key(sk.substr(0, sk.size() - 20)).error().code == "key-malformed");
  CHECK(ms::parse_secret_key("").error().code == "key-malformed");
  CHECK(ms::parse_secret_key(std::string(5000, 'A')).error().code == "key-malformed");
}
