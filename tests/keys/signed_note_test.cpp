// Unit tests for keys/signed_note.h: the Go sumdb/note known-answer vector,
// key formats, cosigning, unknown signers, and malformed or tampered notes.
#include "keys/signed_note.h"

#include <doctest/doctest.h>

#include <string>

namespace note = kp::note;

namespace {

// The published example of golang.org/x/mod/sumdb/note (also the C2SP
// reference implementation's test vector). Ed25519 is deterministic, so our
// signature must be byte-identical.
constexpr const char* kGoVkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr const char* kGoSkey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr const char* kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr const char* kGoSigLine =
    "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

std::string go_note() { return std::string(kGoText) + "\n" + kGoSigLine; }

std::string as_string(const kp::SecretBytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

note::SignerKey fresh(std::string_view name) {
  auto k = note::generate(name);
  REQUIRE(k.ok());
  return std::move(k).value();
}

}  // namespace

TEST_CASE("signed_note Go known-answer vector") {
  auto sk = note::parse_signer_key(kGoSkey);
  REQUIRE(sk.ok());
  CHECK(sk->name == "PeterNeumann");
  CHECK(sk->key_id == 0xc74f20a3u);
  CHECK(note::format_verifier_key(sk->verifier()) == kGoVkey);
  auto skey_text = note::format_signer_key(*sk);
  REQUIRE(skey_text.ok());
  CHECK(as_string(*skey_text) == kGoSkey);

  auto signed_note = note::sign(kGoText, *sk);
  REQUIRE(signed_note.ok());
  CHECK(*signed_note == go_note());

  auto vk = note::parse_verifier_key(kGoVkey);
  REQUIRE(vk.ok());
  CHECK(note::key_id(vk->name, vk->pk) == 0xc74f20a3u);
  auto text = note::open(go_note(), *vk);
  REQUIRE(text.ok());
  CHECK(*text == kGoText);
}

TEST_CASE("signed_note round trip, blank lines in text, cosigning") {
  auto log = fresh("knooppunt.example/log");
  auto witness = fresh("witness.example");
  std::string text = "line one\n\nline three after a blank line\n";
  auto n = note::sign(text, log);
  REQUIRE(n.ok());
  auto opened = note::open(*n, log.verifier());
  REQUIRE(opened.ok());
  CHECK(*opened == text);

  auto cosigned = note::add_signature(*n, witness);
  REQUIRE(cosigned.ok());
  CHECK(note::open(*cosigned, log.verifier()).ok());
  CHECK(note::open(*cosigned, witness.verifier()).ok());
  auto parsed = note::parse(*cosigned);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->signatures.size() == 2);
  CHECK(parsed->signatures[0].name == "knooppunt.example/log");
  CHECK(parsed->signatures[1].name == "witness.example");
  // Re-signing by the same key replaces, never duplicates.
  auto again = note::add_signature(*cosigned, log);
  REQUIRE(again.ok());
  CHECK(note::parse(*again)->signatures.size() == 2);

  // A text ending in a blank line survives the round trip too.
  auto blank_end = note::sign("a\n\n", log);
  REQUIRE(blank_end.ok());
  CHECK(*note::open(*blank_end, log.verifier()) == "a\n\n");
}

TEST_CASE("signed_note unknown signers are ignored, known ones must verify") {
  auto log = fresh("knooppunt.example/log");
  auto other = fresh("other.example");
  auto n = note::sign("hello\n", other);
  REQUIRE(n.ok());
  CHECK(note::open(*n, log.verifier()).error().code == "note-unverified");

  // A key with the same name but another id is an unknown key.
  auto same_name = fresh("knooppunt.example/log");
  auto n2 = note::sign("hello\n", same_name);
  REQUIRE(n2.ok());
  CHECK(note::open(*n2, log.verifier()).error().code == "note-unverified");

  // Same name and id but a different key: must be verified, and fails.
  auto forged = note::sign("hello\n", log);
  REQUIRE(forged.ok());
  auto impostor = other.verifier();
  impostor.name = log.name;
  impostor.key_id = log.key_id;
  CHECK(note::open(*forged, impostor).error().code == "note-signature-invalid");

  // A good signature next to a bad one from the same key: whole note refused.
  auto good = note::sign("hello\n", log);
  REQUIRE(good.ok());
  auto bad = note::sign("hellO\n", log);
  REQUIRE(bad.ok());
  std::string bad_line = bad->substr(bad->find("\n\n") + 2);
  CHECK(note::open(*good + bad_line, log.verifier()).error().code == "note-signature-invalid");
  // A good signature next to an unknown one verifies.
  auto o = note::sign("hello\n", other);
  std::string other_line = o->substr(o->find("\n\n") + 2);
  CHECK(note::open(*good + other_line, log.verifier()).ok());
}

TEST_CASE("signed_note tampering and malformed notes are refused") {
  auto vk = note::parse_verifier_key(kGoVkey);
  REQUIRE(vk.ok());
  const std::string good = go_note();
  // Every single-bit flip anywhere in the note is refused.
  for (std::size_t i = 0; i < good.size() * 8; ++i) {
    std::string t = good;
    t[i / 8] = char(t[i / 8] ^ (1 << (i % 8)));
    CHECK_MESSAGE(!note::open(t, *vk).ok(), "flip at byte ", i / 8, " bit ", i % 8, " accepted");
  }
  // Every truncation is refused.
  for (std::size_t n = 0; n < good.size(); ++n) CHECK(!note::open(good.substr(0, n), *vk).ok());

  auto malformed = [&](const std::string& s) { return note::open(s, *vk).error().code == "note-malformed"; };
  CHECK(malformed(std::string(kGoText)));                              // no signatures
  CHECK(malformed(std::string(kGoText) + "\n"));                       // blank line, no signatures
  CHECK(malformed(std::string(kGoText) + kGoSigLine));                 // no blank line
  CHECK(malformed(good + "trailing garbage\n"));                       // not a signature line
  CHECK(malformed(good.substr(0, good.size() - 1)));                   // no final newline
  CHECK(malformed("a\tb\n\n" + std::string(kGoSigLine)));              // control character
  CHECK(malformed("caf\xC3\n\n" + std::string(kGoSigLine)));           // broken UTF-8
  CHECK(malformed("\xC0\xAF\n\n" + std::string(kGoSigLine)));          // overlong UTF-8
  CHECK(malformed(std::string(kGoText) + "\n-- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"));
  CHECK(malformed(std::string(kGoText) + "\n\xE2\x80\x94 PeterNeumann AAAA\n"));  // signature too short
  CHECK(malformed(std::string(kGoText) + "\n\xE2\x80\x94 Peter+Neumann AAAAAAAA\n"));
  CHECK(malformed(std::string(kGoText) + "\n\xE2\x80\x94 PeterNeumann\n"));
  // Too many signatures.
  std::string many = std::string(kGoText) + "\n";
  for (std::size_t i = 0; i <= note::kMaxSignatures; ++i) many += kGoSigLine;
  CHECK(malformed(many));
  // 16 signatures must be accepted (the spec's floor); duplicates of a good one still verify.
  std::string sixteen = std::string(kGoText) + "\n";
  for (int i = 0; i < 16; ++i) sixteen += kGoSigLine;
  CHECK(note::open(sixteen, *vk).ok());
  // Oversized.
  CHECK(malformed(std::string(note::kMaxNoteBytes, 'a') + "\n\n" + kGoSigLine));
}

TEST_CASE("signed_note signing refuses bad text and names") {
  auto k = fresh("log.example");
  CHECK(note::sign("", k).error().code == "note-malformed");
  CHECK(note::sign("no newline", k).error().code == "note-malformed");
  CHECK(note::sign("tab\there\n", k).error().code == "note-malformed");
  CHECK(note::sign("cr\r\n", k).error().code == "note-malformed");
  CHECK(note::sign("bad \xFF utf8\n", k).error().code == "note-malformed");
  CHECK(note::sign("unicode \xE2\x80\x94 fine\n", k).ok());

  CHECK(note::generate("").error().code == "key-name-invalid");
  CHECK(note::generate("a b").error().code == "key-name-invalid");
  CHECK(note::generate("a+b").error().code == "key-name-invalid");
  CHECK(note::generate("nbsp\xC2\xA0name").error().code == "key-name-invalid");
  CHECK(note::generate("em\xE2\x80\x83space").error().code == "key-name-invalid");
  CHECK(note::valid_key_name("example.com/log42"));
  CHECK(note::valid_key_name("caf\xC3\xA9"));
}

TEST_CASE("signed_note key format refusals") {
  auto bad_v = [](std::string_view s) { return note::parse_verifier_key(s).error().code == "key-malformed"; };
  CHECK(bad_v(""));
  CHECK(bad_v("PeterNeumann"));
  CHECK(bad_v("PeterNeumann+c74f20a3"));
  CHECK(bad_v("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));   // wrong id
  CHECK(bad_v("PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));   // wrong name
  CHECK(bad_v("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));    // short id
  CHECK(bad_v("PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));   // type 0x02
  CHECK(bad_v("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T"));    // truncated
  CHECK(bad_v("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n\n"));  // stray newlines
  CHECK(bad_v("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW "));
  CHECK(note::parse_verifier_key(std::string(kGoVkey) + "\n").ok());  // as in a vkey file
  CHECK(bad_v("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  // Every truncation of the vkey is refused.
  std::string vk = kGoVkey;
  for (std::size_t n = 0; n < vk.size(); ++n) CHECK(bad_v(vk.substr(0, n)));

  auto bad_s = [](std::string_view s) { return note::parse_signer_key(s).error().code == "key-malformed"; };
  CHECK(bad_s(""));
  CHECK(bad_s("PRIVATE+KEY+PeterNeumann+c74f20a3"));
  CHECK(bad_s("PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"));  // wrong id
  CHECK(bad_s("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF"));   // truncated
  CHECK(bad_s(kGoVkey));  // a public key is not a signer key
  CHECK(note::parse_signer_key(std::string(kGoSkey) + "\n").ok());

  auto k = fresh("round.trip/key");
  auto text = note::format_signer_key(k);
  REQUIRE(text.ok());
  auto back = note::parse_signer_key(as_string(*text));
  REQUIRE(back.ok());
  CHECK(note::format_verifier_key(back->verifier()) == note::format_verifier_key(k.verifier()));
  auto vback = note::parse_verifier_key(note::format_verifier_key(k.verifier()));
  REQUIRE(vback.ok());
  CHECK(vback->pk == k.verifier().pk);
}
