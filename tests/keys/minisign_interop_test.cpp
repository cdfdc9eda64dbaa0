// Interoperability of keys/minisign with the stock `minisign` CLI, both
// directions: keys made by `minisign -G -W` sign with our code and verify
// with `minisign -V`; our keys and signatures are read and checked by the
// CLI; a flipped bit in the file, the signature line, the trusted comment
// or the global signature fails in both (except flips of unused base64
// padding bits, which the CLI ignores and we refuse). The CLI must be installed: a
// missing `minisign` fails these tests rather than skipping them.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "keys/minisign.h"
#include "tests/support/spawn.h"

namespace ms = kp::minisign;
namespace fs = std::filesystem;

namespace {

// A fresh directory under TMPDIR (or /tmp), removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kp-minisign-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  std::string operator/(std::string_view name) const { return (path / name).string(); }
};

void write_file(const std::string& p, std::string_view data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(data.data(), std::streamsize(data.size()));
  REQUIRE(f.good());
}

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// `minisign -V`; true when the CLI accepts. Fails the test if the CLI is missing.
bool cli_verifies(const TempDir& d, const std::string& data, const std::string& sig, std::string* trusted = nullptr) {
  write_file(d / "data.bin", data);
  write_file(d / "data.bin.minisig", sig);
  auto r = kp::test::spawn({"minisign", "-V", "-p", d / "pub", "-m", d / "data.bin"});
  REQUIRE_MESSAGE(r.started, r.err);
  if (trusted && r.exit_code == 0) *trusted = r.out;
  return r.exit_code == 0;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// True when changing text[i] to `flipped` only touches the unused low bits
// of the last base64 character before '=' padding: the decoded bytes stay
// the same. The minisign CLI ignores those bits; we refuse non-canonical
// base64, so only our side must reject such a flip.
bool padding_only_flip(const std::string& text, std::size_t i, char flipped) {
  std::size_t pad = 0;
  while (i + 1 + pad < text.size() && text[i + 1 + pad] == '=') ++pad;
  if (pad == 0) return false;
  const int a = b64_value(text[i]), b = b64_value(flipped);
  if (a < 0 || b < 0) return false;
  const int unused = pad == 1 ? 0x3 : 0xF;
  return ((a ^ b) & ~unused) == 0;
}

std::string sample_data() {
  std::string s = "knooppunt interop \x00\x01\xff payload\n";
  for (int i = 0; i < 3000; ++i) s.push_back(char(i * 31 + 7));
  return s;
}

}  // namespace

TEST_CASE("minisign interop: the CLI is installed") {
  auto r = kp::test::spawn({"minisign", "-v"});
  REQUIRE_MESSAGE(r.started, "the minisign CLI is required for these tests: ", r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.starts_with("minisign "));
}

TEST_CASE("minisign interop: CLI key signs with our code, CLI verifies; we verify the CLI") {
  TempDir d;
  REQUIRE(!d.path.empty());
  auto gen = kp::test::spawn({"minisign", "-G", "-W", "-p", d / "pub", "-s", d / "sec"});
  REQUIRE_MESSAGE(gen.started, gen.err);
  REQUIRE_MESSAGE(gen.exit_code == 0, gen.err);

  auto sk = ms::parse_secret_key(read_file(d / "sec"));
  REQUIRE_MESSAGE(sk.ok(), sk.error().message());
  auto pk = ms::parse_public_key(read_file(d / "pub"));
  REQUIRE(pk.ok());
  CHECK(sk->public_key().pk == pk->pk);
  CHECK(sk->key_id == pk->key_id);

  const std::string data = sample_data();
  const std::string tc = "timestamp:1700000000\tfile:data.bin\thashed";
  auto sig = ms::sign(*sk, data, tc);
  REQUIRE(sig.ok());
  std::string out;
  CHECK(cli_verifies(d, data, *sig, &out));
  CHECK(out.find("Trusted comment: " + tc) != std::string::npos);

  // The CLI signs; we verify and read its trusted comment.
  write_file(d / "cli.bin", data);
  auto s = kp::test::spawn({"minisign", "-S", "-s", d / "sec", "-m", d / "cli.bin", "-t", "signed by the cli"});
  REQUIRE_MESSAGE(s.exit_code == 0, s.err);
  auto cli_sig = read_file(d / "cli.bin.minisig");
  auto got = ms::verify(*pk, data, cli_sig);
  REQUIRE_MESSAGE(got.ok(), got.error().message());
  CHECK(*got == "signed by the cli");
  CHECK(ms::verify(*pk, data + "x", cli_sig).error().code == "signature-invalid");
}

TEST_CASE("minisign interop: our key files are read by the CLI") {
  TempDir d;
  REQUIRE(!d.path.empty());
  auto key = ms::generate();
  REQUIRE(key.ok());
  write_file(d / "pub", ms::format_public_key(key->public_key()));
  auto sk_text = ms::format_secret_key(*key);
  REQUIRE(sk_text.ok());
  write_file(d / "sec", std::string_view(reinterpret_cast<const char*>(sk_text->data()), sk_text->size()));

  const std::string data = sample_data();
  auto sig = ms::sign(*key, data, "ours");
  REQUIRE(sig.ok());
  CHECK(cli_verifies(d, data, *sig));

  // The CLI signs with our secret key file and checks against our public key file.
  write_file(d / "cli.bin", data);
  auto s = kp::test::spawn(
      {"minisign", "-S", "-s", d / "sec", "-p", d / "pub", "-m", d / "cli.bin", "-t", "cli with our key"});
  REQUIRE_MESSAGE(s.started, s.err);
  REQUIRE_MESSAGE(s.exit_code == 0, s.err);
  auto got = ms::verify(key->public_key(), data, read_file(d / "cli.bin.minisig"));
  REQUIRE_MESSAGE(got.ok(), got.error().message());
  CHECK(*got == "cli with our key");

  // A signature by another key is refused by both.
  auto other = ms::generate();
  REQUIRE(other.ok());
  auto other_sig = ms::sign(*other, data, "ours");
  REQUIRE(other_sig.ok());
  CHECK_FALSE(cli_verifies(d, data, *other_sig));
  CHECK(ms::verify(key->public_key(), data, *other_sig).error().code == "signature-key-mismatch");
}

TEST_CASE("minisign interop: a flipped bit fails in both") {
  TempDir d;
  REQUIRE(!d.path.empty());
  auto key = ms::generate();
  REQUIRE(key.ok());
  write_file(d / "pub", ms::format_public_key(key->public_key()));
  const std::string data = sample_data();
  auto sig = ms::sign(*key, data, "timestamp:1700000000\tfile:data.bin");
  REQUIRE(sig.ok());
  REQUIRE(cli_verifies(d, data, *sig));

  // The file: a bit in each of a spread of positions, first and last included.
  for (std::size_t pos : {std::size_t(0), std::size_t(1), std::size_t(17), data.size() / 2, data.size() - 1}) {
    std::string bad = data;
    bad[pos] = char(bad[pos] ^ (1 << (pos % 8)));
    CHECK_MESSAGE(!cli_verifies(d, bad, *sig), "CLI accepted data flip at ", pos);
    CHECK(ms::verify(key->public_key(), bad, *sig).error().code == "signature-invalid");
  }

  // The signature file: every character of the signature line, the trusted
  // comment line and the global signature line, one bit each (cycling
  // through the bit positions).
  std::vector<std::size_t> lines;  // offsets of line starts
  lines.push_back(0);
  for (std::size_t i = 0; i < sig->size(); ++i)
    if ((*sig)[i] == '\n') lines.push_back(i + 1);
  REQUIRE(lines.size() == 5);
  for (std::size_t i = lines[1]; i < sig->size(); ++i) {
    if ((*sig)[i] == '\n') continue;
    const int bit = int(i % 8);
    std::string bad = *sig;
    bad[i] = char(bad[i] ^ (1 << bit));
    CHECK_MESSAGE(!ms::verify(key->public_key(), data, bad).ok(), "we accepted signature flip at ", i, " bit ", bit);
    if (padding_only_flip(*sig, i, bad[i])) continue;
    CHECK_MESSAGE(!cli_verifies(d, data, bad), "CLI accepted signature flip at ", i, " bit ", bit);
  }
  // Bit 7 on every character of the signature line: a non-ASCII byte.
  // (libsodium 1.0.18's decoder would read it as '/', so flipping a '/'
  // would change nothing if we relied on it; we check the alphabet first.)
  for (std::size_t i = lines[1]; i + 1 < lines[2]; ++i) {
    std::string bad = *sig;
    bad[i] = char(bad[i] ^ 0x80);
    CHECK_MESSAGE(!ms::verify(key->public_key(), data, bad).ok(), "we accepted high-bit flip at ", i);
    CHECK_MESSAGE(!cli_verifies(d, data, bad), "CLI accepted high-bit flip at ", i);
  }

  // Every bit of the last base64 character of both signature lines: flips
  // that change signature bits fail in both; padding-bit flips fail in ours.
  for (std::size_t line : {std::size_t(1), std::size_t(3)}) {
    std::size_t last = sig->find('=', lines[line]) - 1;
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = *sig;
      bad[last] = char(bad[last] ^ (1 << bit));
      CHECK(!ms::verify(key->public_key(), data, bad).ok());
      if (!padding_only_flip(*sig, last, bad[last])) CHECK(!cli_verifies(d, data, bad));
    }
  }

  // The untrusted comment is not signed: both accept a change there.
  std::string relabelled = *sig;
  relabelled.replace(0, lines[1] - 1, "untrusted comment: relabelled");
  CHECK(cli_verifies(d, data, relabelled));
  CHECK(ms::verify(key->public_key(), data, relabelled).ok());
}
