// Interoperability of keys/age with the stock `age` and `age-keygen` CLIs,
// both directions: files sealed by `age -r` open with our Decryptor (binary
// and armored), files sealed by our Encryptor open with `age -d -i` using an
// identity file we wrote, at sizes around the 64 KiB chunk boundary and
// 10 MiB; identity files written by age-keygen parse and give the recipient
// `age-keygen -y` prints. A flipped bit fails in both directions. The CLIs
// are installed by the project's install script: a missing `age` fails these
// tests rather than skipping them.
#include <doctest/doctest.h>
#include <sodium.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "keys/age.h"
#include "tests/support/spawn.h"

namespace fs = std::filesystem;

namespace {

// A fresh directory under TMPDIR (or /tmp), removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kp-age-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(std::string_view name) const { return (path / name).string(); }
};

void write_file(const std::string& p, std::string_view data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  REQUIRE(f.good());
}

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string pseudo_random(std::size_t n, uint8_t tag) {
  std::string s(n, '\0');
  unsigned char seed[randombytes_SEEDBYTES] = {tag, 0xa9};
  randombytes_buf_deterministic(s.data(), n, seed);
  return s;
}

struct Opened {
  kp::Status status;
  std::string plaintext;
};

Opened open_ours(const kp::age::Identity& id, const std::string& ct) {
  Opened o;
  auto d = kp::age::Decryptor::create({&id}, [&](const uint8_t* p, std::size_t n) {
    o.plaintext.append(reinterpret_cast<const char*>(p), n);
    return kp::ok_status();
  });
  REQUIRE(d.ok());
  o.status = d->feed(ct);
  if (o.status.ok()) o.status = d->finish();
  return o;
}

std::string seal_ours(const std::vector<kp::age::PublicKey>& to, const std::string& pt) {
  std::string out;
  auto e = kp::age::Encryptor::start(to, [&](const uint8_t* p, std::size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return kp::ok_status();
  });
  REQUIRE(e.ok());
  REQUIRE(e->write(pt).ok());
  REQUIRE(e->finish().ok());
  return out;
}

// Writes an identity file as age-keygen would, readable only by us.
void write_identity(const std::string& path, const kp::age::Identity& id) {
  kp::SecretBytes text = kp::age::format_identity(id);
  REQUIRE(text.valid());
  write_file(path, std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

const std::size_t kSizes[] = {0, 1, 65535, 65536, 65537, 10u << 20};

}  // namespace

TEST_CASE("age interop: the age CLIs are installed") {
  auto r = kp::test::spawn({"age", "--version"});
  REQUIRE_MESSAGE(r.started, "the age CLI is required for these tests: ", r.err);
  CHECK(r.exit_code == 0);
  auto k = kp::test::spawn({"age-keygen", "--version"});
  REQUIRE_MESSAGE(k.started, "age-keygen is required for these tests: ", k.err);
  CHECK(k.exit_code == 0);
}

TEST_CASE("age interop: age-keygen identity files parse and give the same recipient") {
  TempDir d;
  REQUIRE(!d.path.empty());
  auto gen = kp::test::spawn({"age-keygen", "-o", d / "key.txt"});
  REQUIRE_MESSAGE(gen.started, gen.err);
  REQUIRE_MESSAGE(gen.exit_code == 0, gen.err);
  auto id = kp::age::parse_identity(read_file(d / "key.txt"));
  REQUIRE_MESSAGE(id.ok(), (id.ok() ? std::string() : id.error().message()));
  auto y = kp::test::spawn({"age-keygen", "-y", d / "key.txt"});
  REQUIRE_MESSAGE(y.exit_code == 0, y.err);
  CHECK(y.out == kp::age::recipient_of(*id) + "\n");

  // And the other way: age-keygen -y reads the identity file we write.
  auto ours = kp::age::generate_identity();
  REQUIRE(ours.ok());
  write_identity(d / "ours.txt", *ours);
  auto y2 = kp::test::spawn({"age-keygen", "-y", d / "ours.txt"});
  REQUIRE_MESSAGE(y2.exit_code == 0, y2.err);
  CHECK(y2.out == kp::age::recipient_of(*ours) + "\n");
}

TEST_CASE("age interop: sealed by age, opened by us") {
  TempDir d;
  REQUIRE(!d.path.empty());
  auto id = kp::age::generate_identity();
  REQUIRE(id.ok());
  const std::string recipient = kp::age::recipient_of(*id);
  for (std::size_t n : kSizes) {
    CAPTURE(n);
    const std::string pt = pseudo_random(n, static_cast<uint8_t>(n));
    write_file(d / "pt", pt);
    auto r = kp::test::spawn({"age", "-r", recipient, "-o", d / "ct", d / "pt"});
    REQUIRE_MESSAGE(r.started, r.err);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const std::string ct = read_file(d / "ct");
    const Opened o = open_ours(*id, ct);
    CHECK_MESSAGE(o.status.ok(), (o.status.ok() ? "" : o.status.error().message()));
    CHECK(o.plaintext == pt);

    // A flipped bit in the payload (last byte: the final tag) or in the
    // stanza body fails, and never yields the whole plaintext.
    std::string bad = ct;
    bad.back() = static_cast<char>(bad.back() ^ 0x01);
    const Opened b = open_ours(*id, bad);
    CHECK(b.status.error().code == "age-payload-invalid");
    CHECK(b.plaintext.size() < std::max<std::size_t>(pt.size(), 1));
    std::string bad_header = ct;
    const std::size_t body = bad_header.find('\n', 22) + 5;
    bad_header[body] = bad_header[body] == 'A' ? 'B' : 'A';
    CHECK_FALSE(open_ours(*id, bad_header).status.ok());
  }
  // Armored output of the CLI is detected and opened.
  const std::string pt = pseudo_random(65537 + 100, 42);
  write_file(d / "pt", pt);
  auto r = kp::test::spawn({"age", "-a", "-r", recipient, "-o", d / "ct.asc", d / "pt"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string asc = read_file(d / "ct.asc");
  CHECK(asc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
  const Opened o = open_ours(*id, asc);
  CHECK_MESSAGE(o.status.ok(), (o.status.ok() ? "" : o.status.error().message()));
  CHECK(o.plaintext == pt);
}

TEST_CASE("age interop: sealed by us, opened by age") {
  TempDir d;
  REQUIRE(!d.path.empty());
  auto id = kp::age::generate_identity();
  REQUIRE(id.ok());
  write_identity(d / "key.txt", *id);
  // A second recipient from age-keygen: either identity opens the file.
  auto gen = kp::test::spawn({"age-keygen", "-o", d / "cli-key.txt"});
  REQUIRE_MESSAGE(gen.exit_code == 0, gen.err);
  auto cli_id = kp::age::parse_identity(read_file(d / "cli-key.txt"));
  REQUIRE(cli_id.ok());

  for (std::size_t n : kSizes) {
    CAPTURE(n);
    const std::string pt = pseudo_random(n, static_cast<uint8_t>(n + 1));
    const std::string ct = seal_ours({cli_id->public_key, id->public_key}, pt);
    write_file(d / "ct", ct);
    for (const std::string key : {"key.txt", "cli-key.txt"}) {
      CAPTURE(key);
      // To stdout: with -o, age creates no file at all for an empty plaintext.
      auto r = kp::test::spawn({"age", "-d", "-i", d / key, d / "ct"});
      REQUIRE_MESSAGE(r.started, r.err);
      CHECK_MESSAGE(r.exit_code == 0, r.err);
      CHECK(r.out == pt);
    }

    // A flipped bit in the payload, in the header MAC and in a stanza body:
    // the CLI refuses each.
    const std::size_t mac = ct.find("\n--- ") + 10;
    const std::size_t body = ct.find('\n', 22) + 5;
    for (std::size_t at : {ct.size() - 1, ct.size() / 2 + 40, mac, body}) {
      CAPTURE(at);
      std::string bad = ct;
      if (at == mac || at == body) {
        bad[at] = bad[at] == 'A' ? 'B' : 'A';
      } else {
        bad[at] = static_cast<char>(bad[at] ^ 0x01);
      }
      write_file(d / "bad", bad);
      auto r = kp::test::spawn({"age", "-d", "-i", d / "key.txt", "-o", d / "out", d / "bad"});
      REQUIRE_MESSAGE(r.started, r.err);
      CHECK(r.exit_code != 0);
    }
  }
}
