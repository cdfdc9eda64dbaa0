// Unit tests for keys/age.h and keys/bech32.h.
//
// The bulk of the conformance checking is the C2SP CCTV age vectors in
// tests/data/age (format and licence: README.upstream.md there): every vector
// that needs only X25519 is applied, in several input splits and in both
// explicit and detected input format, and must land in the expected verdict
// class with the expected released plaintext. Around that: Bech32 (BIP173
// vectors), identity and recipient strings, round trips at chunk-boundary
// sizes with random feeding, and tampering (header, payload, last chunk,
// truncation, trailing bytes). The vectors and the tampering cases run
// again with a Parallel (batches of chunks opened at once), once on two
// real threads and once in a shuffled order, and a randomized test opens
// damaged payloads in both ways and compares.
#include "keys/age.h"

#include <doctest/doctest.h>
#include <sodium.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "keys/bech32.h"

namespace {

using kp::age::Decryptor;
using kp::age::Encryptor;
using kp::age::Identity;
using kp::age::InputFormat;

// The CCTV vectors' X25519 test identity and its recipient (age-keygen -y).
constexpr const char* kCctvIdentity =
    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
constexpr const char* kCctvRecipient =
    "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef";

std::filesystem::path vectors_dir() { return std::filesystem::path(KP_SOURCE_DIR) / "tests" / "data" / "age"; }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// zlib's stream state, ended by a local deleter (no handle type for it in
// common/handles.h; only the tests need zlib).
struct InflateEnd {
  void operator()(z_stream* z) const { inflateEnd(z); }
};

// Inflates a zlib stream, refusing output over `cap` bytes.
bool zlib_inflate(const std::string& in, std::string& out, std::size_t cap) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return false;
  std::unique_ptr<z_stream, InflateEnd> guard(&zs);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  out.clear();
  char buf[1 << 16];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) return false;
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > cap) return false;
    if (rc == Z_STREAM_END) return true;
    if (zs.avail_in == 0 && zs.avail_out != 0) return false;  // input ended early
  }
}

struct Outcome {
  kp::Status status;
  std::string plaintext;  // everything the sink received
};

// A Parallel on real threads: the caller and one thread started per run()
// of two steps or more take steps from a shared counter.
class ThreadedParallel : public kp::Parallel {
 public:
  std::size_t width() const override { return 2; }
  void run(std::size_t n, const Step& step) override {
    ++runs;
    if (n < 2) {
      if (n == 1) step(0, 1);
      return;
    }
    std::atomic<std::size_t> next{0};
    std::thread helper([&] {
      for (std::size_t i; (i = next++) < n;) step(i, 1);
    });
    for (std::size_t i; (i = next++) < n;) step(i, 0);
    helper.join();
  }
  int runs = 0;
};

// A Parallel on the calling thread that runs the steps in a random order,
// each as a random one of three workers: the chunks of a batch must not
// depend on each other or on who opens them.
class ShuffledParallel : public kp::Parallel {
 public:
  std::size_t width() const override { return 3; }
  void run(std::size_t n, const Step& step) override {
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng_);
    for (std::size_t i : order) step(i, std::uniform_int_distribution<std::size_t>(0, 2)(rng_));
  }

 private:
  std::mt19937 rng_{42};
};

// How a test opens: chunk by chunk (no Parallel) or in batches.
enum class Mode { sequential, threaded, shuffled };
const Mode kModes[] = {Mode::sequential, Mode::threaded, Mode::shuffled};

std::unique_ptr<kp::Parallel> parallel_for(Mode m) {
  if (m == Mode::threaded) return std::make_unique<ThreadedParallel>();
  if (m == Mode::shuffled) return std::make_unique<ShuffledParallel>();
  return nullptr;
}

// Feeds `ct` through a Decryptor in pieces whose sizes come from `split`
// (0 = all at once), collecting what the sink receives. With a batch mode
// it also checks the batch contract: at most one delivery per call, whose
// bytes are still intact when the next call begins.
Outcome open_with(const std::vector<const Identity*>& ids, const std::string& ct, InputFormat fmt,
                  std::size_t split, uint32_t seed = 1, Mode mode = Mode::sequential) {
  Outcome o;
  std::unique_ptr<kp::Parallel> parallel = parallel_for(mode);
  const uint8_t* last = nullptr;  // the previous call's delivery
  std::size_t last_n = 0;
  int deliveries = 0;
  auto before_call = [&] {
    if (last_n > 0) CHECK(std::memcmp(last, o.plaintext.data() + o.plaintext.size() - last_n, last_n) == 0);
    last_n = 0;
    deliveries = 0;
  };
  auto d = Decryptor::create(
      ids,
      [&](const uint8_t* p, std::size_t n) {
        o.plaintext.append(reinterpret_cast<const char*>(p), n);
        last = p;
        last_n = n;
        if (parallel && fmt == InputFormat::binary) CHECK(++deliveries == 1);
        return kp::ok_status();
      },
      fmt, parallel.get());
  REQUIRE(d.ok());
  std::mt19937 rng(seed);
  std::size_t at = 0;
  while (at < ct.size()) {
    std::size_t n = ct.size() - at;
    if (split == 1) {
      n = 1;
    } else if (split > 1) {
      n = std::min(n, std::uniform_int_distribution<std::size_t>(1, split)(rng));
    }
    if (parallel) before_call();
    kp::Status st = d->feed(reinterpret_cast<const uint8_t*>(ct.data() + at), n);
    at += n;
    if (!st.ok()) {
      o.status = st;
      // A failed decryptor stays failed.
      CHECK(d->finish().error().code == st.error().code);
      return o;
    }
  }
  if (parallel) before_call();
  o.status = d->finish();
  return o;
}

// What a batch mode may deliver, given what the sequential Decryptor
// delivered on the same input: the same on success, else a prefix.
bool batch_agrees(const Outcome& batch, const Outcome& seq) {
  if (batch.status.ok() != seq.status.ok()) return false;
  if (!seq.status.ok() && batch.status.error().code != seq.status.error().code) return false;
  if (seq.status.ok()) return batch.plaintext == seq.plaintext;
  return seq.plaintext.compare(0, batch.plaintext.size(), batch.plaintext) == 0;
}

std::string seal(const std::vector<kp::age::PublicKey>& to, const std::string& pt,
                 std::size_t split = 0, uint32_t seed = 7) {
  std::string out;
  auto e = Encryptor::start(to, [&](const uint8_t* p, std::size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return kp::ok_status();
  });
  REQUIRE(e.ok());
  std::mt19937 rng(seed);
  std::size_t at = 0;
  while (at < pt.size()) {
    std::size_t n = pt.size() - at;
    if (split > 0) n = std::min(n, std::uniform_int_distribution<std::size_t>(1, split)(rng));
    REQUIRE(e->write(reinterpret_cast<const uint8_t*>(pt.data() + at), n).ok());
    at += n;
  }
  REQUIRE(e->finish().ok());
  return out;
}

std::string pseudo_random(std::size_t n, uint8_t tag) {
  std::string s(n, '\0');
  unsigned char seed[randombytes_SEEDBYTES] = {tag};
  randombytes_buf_deterministic(s.data(), n, seed);
  return s;
}

Identity cctv_identity() {
  auto id = kp::age::parse_identity(kCctvIdentity);
  REQUIRE(id.ok());
  return std::move(id).value();
}

// The CCTV verdict class an error code belongs to.
std::string verdict_of(const kp::Status& st) {
  if (st.ok()) return "success";
  const std::string& c = st.error().code;
  if (c == "age-no-match") return "no match";
  if (c == "age-hmac-mismatch") return "HMAC failure";
  if (c == "age-header-invalid") return "header failure";
  if (c == "age-payload-invalid" || c == "age-truncated" || c == "age-trailing-data")
    return "payload failure";
  if (c == "age-armor-invalid") return "armor failure";
  return "unexpected code " + c;
}

struct Vector {
  std::string name;
  std::string expect;
  std::string payload_sha256;
  std::vector<std::string> identities;
  bool has_passphrase = false;
  bool armored = false;
  bool compressed = false;
  std::string body;
};

Vector load_vector(const std::filesystem::path& p) {
  Vector v;
  v.name = p.filename().string();
  const std::string raw = read_file(p);
  std::size_t pos = 0;
  for (;;) {
    const std::size_t nl = raw.find('\n', pos);
    REQUIRE(nl != std::string::npos);
    const std::string line = raw.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) break;
    const std::size_t colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    const std::string key = line.substr(0, colon);
    const std::string val = line.substr(colon + 2);
    if (key == "expect") v.expect = val;
    if (key == "payload") v.payload_sha256 = val;
    if (key == "identity") v.identities.push_back(val);
    if (key == "passphrase") v.has_passphrase = true;
    if (key == "armored") v.armored = val == "yes";
    if (key == "compressed") {
      REQUIRE(val == "zlib");
      v.compressed = true;
    }
  }
  v.body = raw.substr(pos);
  if (v.compressed) {
    std::string out;
    REQUIRE_MESSAGE(zlib_inflate(v.body, out, 64u << 20), v.name);
    v.body = std::move(out);
  }
  return v;
}

std::string hex_sha256(const std::string& s) {
  return kp::to_hex(kp::sha256(s));
}

}  // namespace

// ---------------------------------------------------------------------------
// Bech32

TEST_CASE("age bech32: BIP173 valid strings") {
  const char* valid[] = {
      "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
      "A12UEL5L",
      "a12uel5l",
      "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
      "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
      "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
      "?1ezyfcl",
  };
  for (const char* s : valid) {
    uint8_t buf[64];
    auto d = kp::bech32::decode(s, buf, sizeof buf);
    CHECK_MESSAGE(d.ok(), (std::string(s) + (d.ok() ? "" : " " + d.error().detail)));
  }
}

TEST_CASE("age bech32: BIP173 invalid strings are refused") {
  const std::string invalid[] = {
      std::string("\x20") + "1nwldj5",
      std::string("\x7f") + "1axkwrx",
      std::string("\x80") + "1eym55h",
      "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
      "pzry9x0s0muk",
      "1pzry9x0s0muk",
      "x1b4n0q5v",
      "li1dgmt3",
      std::string("de1lg7wt") + "\xff",
      "A1G7SGD8",
      "10a06t8",
      "1qzzfhee",
      "a12UEL5L",  // mixed case
  };
  for (const std::string& s : invalid) {
    uint8_t buf[64];
    auto d = kp::bech32::decode(s, buf, sizeof buf);
    CHECK_MESSAGE(!d.ok(), s);
    if (!d.ok()) CHECK(d.error().code == "bech32-invalid");
  }
}

TEST_CASE("age bech32: encode round trip, case and capacity") {
  const uint8_t data[32] = {1, 2, 3, 250, 251, 252};
  const std::string lower = kp::bech32::encode("age", data, sizeof data);
  const std::string upper = kp::bech32::encode("age", data, sizeof data, true);
  CHECK(lower.size() == kp::bech32::encoded_length(3, 32));
  CHECK(lower.starts_with("age1"));
  CHECK(upper.starts_with("AGE1"));
  for (const std::string& s : {lower, upper}) {
    uint8_t out[32];
    auto d = kp::bech32::decode(s, out, sizeof out);
    REQUIRE(d.ok());
    CHECK(d->size == 32);
    CHECK(std::memcmp(out, data, 32) == 0);
  }
  uint8_t small[31];
  CHECK_FALSE(kp::bech32::decode(lower, small, sizeof small).ok());
  CHECK(kp::bech32::encode("AGE", data, sizeof data).empty());  // HRP must be lowercase
  CHECK(kp::bech32::encode("", data, sizeof data).empty());
  const std::vector<uint8_t> big(60, 0);
  CHECK(kp::bech32::encode("age", big.data(), big.size()).empty());  // over 90 characters
  // Every single-character substitution breaks the checksum.
  for (std::size_t i = 4; i < lower.size(); ++i) {
    std::string t = lower;
    t[i] = t[i] == 'q' ? 'p' : 'q';
    uint8_t out[32];
    CHECK_FALSE(kp::bech32::decode(t, out, sizeof out).ok());
  }
}

// ---------------------------------------------------------------------------
// Identities and recipients

TEST_CASE("age keys: the CCTV identity gives the recipient age-keygen computes") {
  Identity id = cctv_identity();
  CHECK(kp::age::recipient_of(id) == kCctvRecipient);
  auto pk = kp::age::parse_recipient(kCctvRecipient);
  REQUIRE(pk.ok());
  CHECK(*pk == id.public_key);
}

TEST_CASE("age keys: generate, format and parse round trip") {
  auto id = kp::age::generate_identity();
  REQUIRE(id.ok());
  CHECK(id->secret.size() == 32);
  kp::SecretBytes text = kp::age::format_identity(*id);
  REQUIRE(text.valid());
  const std::string_view file(reinterpret_cast<const char*>(text.data()), text.size());
  CHECK(file.starts_with("# created: "));
  CHECK(file.find("# public key: " + kp::age::recipient_of(*id) + "\n") != std::string_view::npos);
  CHECK(file.find("\nAGE-SECRET-KEY-1") != std::string_view::npos);
  CHECK(file.ends_with("\n"));
  auto back = kp::age::parse_identity(file);
  REQUIRE(back.ok());
  CHECK(back->public_key == id->public_key);
  CHECK(sodium_memcmp(back->secret.data(), id->secret.data(), 32) == 0);
}

TEST_CASE("age keys: identity file syntax") {
  const std::string key = kCctvIdentity;
  CHECK(kp::age::parse_identity("# created: x\r\n# public key: y\r\n\r\n" + key + "\r\n").ok());
  CHECK(kp::age::parse_identity(key).ok());  // no trailing newline
  auto two = kp::age::parse_identity(key + "\n" + key + "\n");
  REQUIRE_FALSE(two.ok());
  CHECK(two.error().code == "age-identity-invalid");
  auto many = kp::age::parse_identities("# a\n" + key + "\n\n# b\n" + key + "\n");
  REQUIRE(many.ok());
  CHECK(many->size() == 2);

  std::string lower = key;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string mixed = key;
  mixed[20] = static_cast<char>(std::tolower(static_cast<unsigned char>(mixed[20])));
  std::string bad_sum = key;
  bad_sum.back() = bad_sum.back() == 'Q' ? 'P' : 'Q';
  const uint8_t short_key[31] = {};
  const std::string wrong_len = kp::bech32::encode("age-secret-key-", short_key, 31, true);
  const std::string refused[] = {
      "",
      "# only a comment\n",
      lower,           // identities are uppercase
      mixed,           // mixed case
      bad_sum,         // checksum
      wrong_len,       // 31-byte payload
      kCctvRecipient,  // a recipient is not an identity
      " " + key,       // leading space
      key + " ",       // trailing space
      "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG",
      std::string(70 * 1024, '#'),  // over the size cap
  };
  for (const std::string& s : refused) {
    auto r = kp::age::parse_identity(s);
    CHECK_MESSAGE(!r.ok(), s.substr(0, 80));
    if (!r.ok()) CHECK(r.error().code == "age-identity-invalid");
  }
}

TEST_CASE("age keys: recipient syntax") {
  std::string upper = kCctvRecipient;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string bad_sum = kCctvRecipient;
  bad_sum.back() = bad_sum.back() == 'q' ? 'p' : 'q';
  const uint8_t k31[31] = {};
  const uint8_t k33[33] = {};
  const std::string refused[] = {
      "",
      upper,
      bad_sum,
      kp::bech32::encode("age", k31, 31),
      kp::bech32::encode("age", k33, 33),
      kp::bech32::encode("agf", k33, 32),
      kCctvIdentity,
      std::string(kCctvRecipient) + "\n",
  };
  for (const std::string& s : refused) {
    auto r = kp::age::parse_recipient(s);
    CHECK_MESSAGE(!r.ok(), s);
    if (!r.ok()) CHECK(r.error().code == "age-recipient-invalid");
  }
}

// ---------------------------------------------------------------------------
// CCTV vectors

TEST_CASE("age cctv: every applicable vector") {
  const std::filesystem::path dir = vectors_dir();
  REQUIRE_MESSAGE(std::filesystem::is_directory(dir), dir.string());
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (e.is_regular_file() && n.find('.') == std::string::npos) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 100);

  int applied = 0;
  std::map<std::string, int> skipped;
  for (const auto& path : files) {
    const Vector v = load_vector(path);
    CAPTURE(v.name);
    // Only X25519 identities are supported. A vector is skipped when it
    // cannot be judged without scrypt or post-quantum keys; one that also
    // lists an X25519 identity is applied (its verdict must follow from the
    // X25519 and generic header rules alone).
    std::vector<Identity> ids;
    bool has_pq = false;
    for (const std::string& s : v.identities) {
      if (s.starts_with("AGE-SECRET-KEY-PQ-")) {
        has_pq = true;
        continue;
      }
      auto id = kp::age::parse_identity(s);
      REQUIRE(id.ok());
      ids.push_back(std::move(id).value());
    }
    if (ids.empty() && v.has_passphrase) {
      ++skipped["needs scrypt/passphrase"];
      continue;
    }
    if (ids.empty() && has_pq) {
      ++skipped["needs a post-quantum (ML-KEM-768+X25519) identity"];
      continue;
    }
    ++applied;
    std::vector<const Identity*> ptrs;
    for (const Identity& id : ids) ptrs.push_back(&id);

    const InputFormat fmt = v.armored ? InputFormat::armored : InputFormat::binary;
    // Whole, random pieces up to a chunk and a bit, and byte by byte for the
    // small ones: the verdict and the released plaintext must not depend on
    // how the input is split.
    std::vector<std::size_t> splits = {0, 70000, 997};
    if (v.body.size() < 300000) splits.push_back(1);
    for (std::size_t split : splits) {
      CAPTURE(split);
      const Outcome o = open_with(ptrs, v.body, fmt, split);
      CHECK_MESSAGE(verdict_of(o.status) == v.expect,
                    (o.status.ok() ? std::string("ok") : o.status.error().message()));
      if (!v.payload_sha256.empty()) CHECK(hex_sha256(o.plaintext) == v.payload_sha256);
      if (v.expect != "success" && v.payload_sha256.empty()) CHECK(o.plaintext.empty());
      // In batches: the same verdict and code, the same plaintext on
      // success, a prefix of it otherwise (byte by byte only in the test
      // of every rule below: it costs as much as the rest).
      if (split == 1) continue;
      for (Mode mode : {Mode::threaded, Mode::shuffled}) {
        CAPTURE(static_cast<int>(mode));
        CHECK(batch_agrees(open_with(ptrs, v.body, fmt, split, 1, mode), o));
      }
    }
    // Format detection must agree, except where garbage precedes the armor:
    // detection then sees a binary file, which fails as a header instead.
    const Outcome d = open_with(ptrs, v.body, InputFormat::detect, 0);
    if (v.name == "armor_garbage_leading") {
      CHECK(verdict_of(d.status) == "header failure");
    } else {
      CHECK(verdict_of(d.status) == v.expect);
    }
  }
  int total_skipped = 0;
  std::ostringstream msg;
  for (const auto& [why, n] : skipped) {
    msg << "  skipped " << n << ": " << why << "\n";
    total_skipped += n;
  }
  std::cout << "age cctv: applied " << applied << " of " << files.size() << " vectors, skipped "
            << total_skipped << "\n"
            << msg.str();
  CHECK(applied + total_skipped == static_cast<int>(files.size()));
  CHECK(applied >= 95);
}

// ---------------------------------------------------------------------------
// Round trips and tampering

TEST_CASE("age stream: round trip at chunk-boundary sizes with random feeding") {
  Identity id = cctv_identity();
  auto other = kp::age::generate_identity();
  REQUIRE(other.ok());
  const std::vector<const Identity*> ids = {&id};
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{65535}, std::size_t{65536},
                        std::size_t{65537}, std::size_t{3 * 65536}, std::size_t{10u << 20}}) {
    CAPTURE(n);
    const std::string pt = pseudo_random(n, static_cast<uint8_t>(n));
    const std::string ct = seal({other->public_key, id.public_key}, pt, n > 100000 ? 150000 : 5000);
    // Header + nonce + one tag per chunk (at least one chunk, full final allowed).
    const std::size_t chunks = n == 0 ? 1 : (n + 65535) / 65536;
    const std::size_t header = ct.size() - 16 - n - 16 * chunks;
    CHECK(header < 400);
    CHECK(std::string_view(ct).starts_with("age-encryption.org/v1\n-> X25519 "));
    for (std::size_t split : {std::size_t{0}, std::size_t{70000}, std::size_t{4097}}) {
      for (Mode mode : kModes) {
        const Outcome o =
            open_with(ids, ct, InputFormat::detect, split, static_cast<uint32_t>(n + split), mode);
        CHECK_MESSAGE(o.status.ok(), (o.status.ok() ? "" : o.status.error().message()));
        CHECK(o.plaintext == pt);
      }
    }
    // The other recipient opens it too; a stranger does not.
    const std::vector<const Identity*> ids2 = {&*other};
    CHECK(open_with(ids2, ct, InputFormat::binary, 0).plaintext == pt);
    auto stranger = kp::age::generate_identity();
    REQUIRE(stranger.ok());
    const Outcome s = open_with({&*stranger}, ct, InputFormat::binary, 0);
    CHECK(s.status.error().code == "age-no-match");
    CHECK(s.plaintext.empty());
  }
}

TEST_CASE("age stream: the sink sees whole chunks, the last only at finish") {
  Identity id = cctv_identity();
  const std::string pt = pseudo_random(2 * 65536, 9);
  const std::string ct = seal({id.public_key}, pt);
  std::vector<std::size_t> deliveries;
  auto d = Decryptor::create({&id}, [&](const uint8_t*, std::size_t n) {
    deliveries.push_back(n);
    return kp::ok_status();
  });
  REQUIRE(d.ok());
  REQUIRE(d->feed(ct).ok());
  // Both chunks are full; the second could be the final one, so it waits.
  CHECK(deliveries == std::vector<std::size_t>{65536});
  REQUIRE(d->finish().ok());
  CHECK(deliveries == std::vector<std::size_t>{65536, 65536});
  CHECK(d->feed("x").error().code == "age-misuse");
  CHECK(d->finish().error().code == "age-misuse");
}

TEST_CASE("age stream: sink and source errors pass through") {
  Identity id = cctv_identity();
  const std::string pt = pseudo_random(200000, 3);
  const std::string ct = seal({id.public_key}, pt);
  auto d = Decryptor::create({&id}, [](const uint8_t*, std::size_t) {
    return kp::Status(kp::make_error("disk-full", "no space"));
  });
  REQUIRE(d.ok());
  kp::Status st = d->feed(ct);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "disk-full");
  CHECK(d->finish().error().code == "disk-full");

  auto e = Encryptor::start({id.public_key}, [](const uint8_t*, std::size_t) {
    return kp::Status(kp::make_error("disk-full", "no space"));
  });
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == "disk-full");

  // decrypt_stream / encrypt_stream over in-memory sources.
  std::size_t at = 0;
  std::string back;
  kp::Status ok = kp::age::decrypt_stream(
      {&id},
      [&](uint8_t* buf, std::size_t cap) -> kp::Result<std::size_t> {
        const std::size_t n = std::min(cap, ct.size() - at);
        std::memcpy(buf, ct.data() + at, n);
        at += n;
        return n;
      },
      [&](const uint8_t* p, std::size_t n) {
        back.append(reinterpret_cast<const char*>(p), n);
        return kp::ok_status();
      });
  CHECK(ok.ok());
  CHECK(back == pt);
  kp::Status bad_source = kp::age::decrypt_stream(
      {&id},
      [](uint8_t*, std::size_t) -> kp::Result<std::size_t> { return kp::make_error("io-error"); },
      [](const uint8_t*, std::size_t) { return kp::ok_status(); });
  CHECK(bad_source.error().code == "io-error");

  std::string sealed;
  at = 0;
  kp::Status enc = kp::age::encrypt_stream(
      {id.public_key},
      [&](uint8_t* buf, std::size_t cap) -> kp::Result<std::size_t> {
        const std::size_t n = std::min(cap, pt.size() - at);
        std::memcpy(buf, pt.data() + at, n);
        at += n;
        return n;
      },
      [&](const uint8_t* p, std::size_t n) {
        sealed.append(reinterpret_cast<const char*>(p), n);
        return kp::ok_status();
      });
  REQUIRE(enc.ok());
  const Outcome o = open_with({&id}, sealed, InputFormat::binary, 0);
  CHECK(o.status.ok());
  CHECK(o.plaintext == pt);
}

TEST_CASE("age stream: encryptor refusals") {
  auto none = Encryptor::start({}, [](const uint8_t*, std::size_t) { return kp::ok_status(); });
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == "age-no-recipients");
  // The identity point (all zeros) and another low-order point.
  kp::age::PublicKey zero{};
  auto z = Encryptor::start({zero}, [](const uint8_t*, std::size_t) { return kp::ok_status(); });
  REQUIRE_FALSE(z.ok());
  CHECK(z.error().code == "age-recipient-invalid");
  kp::age::PublicKey one{};
  one[0] = 1;
  auto o = Encryptor::start({one}, [](const uint8_t*, std::size_t) { return kp::ok_status(); });
  REQUIRE_FALSE(o.ok());
  CHECK(o.error().code == "age-recipient-invalid");

  Identity id = cctv_identity();
  auto e = Encryptor::start({id.public_key},
                            [](const uint8_t*, std::size_t) { return kp::ok_status(); });
  REQUIRE(e.ok());
  REQUIRE(e->finish().ok());
  CHECK(e->write("x").error().code == "age-misuse");
  CHECK(e->finish().error().code == "age-misuse");
}

TEST_CASE("age stream: tampering, truncation and trailing data are refused") {
  Mode mode = Mode::sequential;
  SUBCASE("chunk by chunk") {}
  SUBCASE("in batches on two threads") { mode = Mode::threaded; }
  SUBCASE("in batches, shuffled") { mode = Mode::shuffled; }
  Identity id = cctv_identity();
  const std::vector<const Identity*> ids = {&id};
  const std::string pt = pseudo_random(2 * 65536 + 1000, 5);  // two full chunks + a short one
  const std::string ct = seal({id.public_key}, pt);
  const std::size_t payload_at = ct.size() - (pt.size() + 3 * 16);  // after header + nonce
  const std::size_t header_end = payload_at - 16;
  REQUIRE(ct.substr(0, header_end).rfind("\n---") != std::string::npos);

  auto flip = [&](std::size_t at, uint8_t mask = 0x01) {
    std::string t = ct;
    t[at] = static_cast<char>(t[at] ^ mask);
    return t;
  };
  auto code_of = [&](const std::string& t, std::size_t split = 0) {
    const Outcome o = open_with(ids, t, InputFormat::binary, split, 1, mode);
    CHECK(o.plaintext.size() < pt.size());  // never the whole plaintext
    return o.status.ok() ? std::string("ok") : o.status.error().code;
  };

  CHECK(code_of(ct.substr(0, 10)) == "age-header-invalid");
  CHECK(code_of(flip(3)) == "age-header-invalid");  // version line
  // The stanza body line starts after "-> X25519 <43>\n".
  const std::size_t body_at = ct.find('\n', 22) + 1;
  CHECK(code_of(flip(body_at + 5, 0x02)) != "ok");
  // Inside the MAC's base64: still canonical for a middle character, so the
  // MAC simply fails.
  const std::size_t mac_at = ct.rfind("--- ", header_end) + 4;
  {
    std::string t = ct;
    t[mac_at + 10] = t[mac_at + 10] == 'A' ? 'B' : 'A';
    CHECK(code_of(t) == "age-hmac-mismatch");
  }
  CHECK(code_of(flip(header_end + 3)) == "age-payload-invalid");          // payload nonce
  CHECK(code_of(flip(payload_at + 100)) == "age-payload-invalid");        // first chunk
  CHECK(code_of(flip(payload_at + 65552 + 7)) == "age-payload-invalid");  // second chunk
  CHECK(code_of(flip(ct.size() - 1)) == "age-payload-invalid");           // last tag
  CHECK(code_of(flip(ct.size() - 500, 0x80)) == "age-payload-invalid");   // last chunk
  CHECK(code_of(flip(ct.size() - 500, 0x80), 1) == "age-payload-invalid");

  // Truncation: inside the nonce, at a chunk boundary (the full chunk that
  // is now last authenticates only as non-final), inside a chunk, one byte.
  CHECK(code_of(ct.substr(0, header_end + 8)) == "age-header-invalid");
  CHECK(code_of(ct.substr(0, payload_at)) == "age-truncated");
  CHECK(code_of(ct.substr(0, payload_at + 2 * 65552)) == "age-truncated");
  CHECK(code_of(ct.substr(0, payload_at + 65552)) == "age-truncated");
  CHECK(code_of(ct.substr(0, payload_at + 65552 + 500)) == "age-payload-invalid");
  CHECK(code_of(ct.substr(0, ct.size() - 1)) == "age-payload-invalid");
  {
    const Outcome o = open_with(ids, ct.substr(0, payload_at + 2 * 65552), InputFormat::binary, 0, 1, mode);
    CHECK(o.plaintext == pt.substr(0, 2 * 65536));  // authentic, but the error says "truncated"
  }

  // Trailing bytes after a short final chunk make it an invalid chunk.
  CHECK(code_of(ct + "x") == "age-payload-invalid");
  CHECK(code_of(ct + std::string(70000, 'x'), 999) == "age-payload-invalid");

  // Trailing bytes after a full final chunk are detected as such.
  const std::string pt2 = pseudo_random(65536, 6);
  const std::string ct2 = seal({id.public_key}, pt2);
  for (std::size_t split : {std::size_t{0}, std::size_t{1000}}) {
    const Outcome o = open_with(ids, ct2 + "\n", InputFormat::binary, split, 1, mode);
    CHECK(o.status.error().code == "age-trailing-data");
  }
  // Any bytes after a full final chunk, even a tag-sized run (which would be
  // an empty final chunk if the full one were not final already). The rule
  // "no empty final chunk after others" is covered by CCTV
  // stream_last_chunk_empty.
  CHECK(code_of(ct2 + std::string(16, '\0')) == "age-trailing-data");

  // Splitting between header and payload at every point near the boundary.
  for (std::size_t cut = header_end - 50; cut < payload_at + 20; ++cut) {
    auto d = Decryptor::create(ids, [](const uint8_t*, std::size_t) { return kp::ok_status(); });
    REQUIRE(d.ok());
    REQUIRE(d->feed(ct.substr(0, cut)).ok());
    REQUIRE(d->feed(ct.substr(cut)).ok());
    CHECK(d->finish().ok());
  }
}

// ---------------------------------------------------------------------------
// Batches (a Decryptor with a Parallel): every STREAM rule on payloads
// forged chunk by chunk with a known payload key, the release rule, and a
// randomized comparison with the chunk-by-chunk Decryptor.

namespace {

struct ForgedChunk {
  std::string plain;
  uint64_t counter;
  bool final;
};

// The payload (chunks after the nonce) of the given chunks, each sealed
// with its own counter and final flag (the STREAM nonce: 11-byte
// big-endian counter, then the flag), whatever the rules say of them.
std::string forge(const uint8_t* key, const std::vector<ForgedChunk>& chunks) {
  std::string out;
  for (const ForgedChunk& c : chunks) {
    uint8_t nonce[12] = {};
    for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<uint8_t>(c.counter >> (8 * i));
    nonce[11] = c.final ? 1 : 0;
    std::string sealed(c.plain.size() + 16, '\0');
    unsigned long long len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(sealed.data()), &len,
                                              reinterpret_cast<const unsigned char*>(c.plain.data()),
                                              c.plain.size(), nullptr, 0, nullptr, nonce, key);
    out += sealed;
  }
  return out;
}

// `n` well-formed chunks: full ones, then a last one of `last` bytes.
std::vector<ForgedChunk> chunks_of(std::size_t n, std::size_t last) {
  std::vector<ForgedChunk> v;
  for (std::size_t i = 0; i < n; ++i)
    v.push_back({pseudo_random(i + 1 == n ? last : 65536, static_cast<uint8_t>(i)), i, i + 1 == n});
  return v;
}

// Opens a payload alone in pieces of up to `split` bytes (0: at once).
Outcome open_payload_mode(const uint8_t* key, const std::string& payload, std::size_t split, Mode mode,
                          uint32_t seed = 3) {
  Outcome o;
  std::unique_ptr<kp::Parallel> parallel = parallel_for(mode);
  auto d = Decryptor::for_payload(
      key,
      [&](const uint8_t* p, std::size_t n) {
        o.plaintext.append(reinterpret_cast<const char*>(p), n);
        return kp::ok_status();
      },
      parallel.get());
  REQUIRE(d.ok());
  std::mt19937 rng(seed);
  for (std::size_t at = 0; at < payload.size();) {
    std::size_t n = payload.size() - at;
    if (split > 0) n = std::min(n, std::uniform_int_distribution<std::size_t>(1, split)(rng));
    o.status = d->feed(reinterpret_cast<const uint8_t*>(payload.data() + at), n);
    at += n;
    if (!o.status.ok()) return o;
  }
  o.status = d->finish();
  return o;
}

std::string code_or_ok(const kp::Status& st) { return st.ok() ? "ok" : st.error().code; }

}  // namespace

TEST_CASE("age batches: every final-chunk, truncation and tag rule, in every mode and split") {
  uint8_t key[32];
  randombytes_buf(key, sizeof key);
  const std::string full20 = forge(key, chunks_of(20, 65536));  // 20 full chunks, the last final
  struct Case {
    const char* what;
    std::string payload;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"no chunk at all", "", "age-truncated"},
      {"an empty final chunk alone (empty payload)", forge(key, {{"", 0, true}}), "ok"},
      {"one short final chunk", forge(key, chunks_of(1, 100)), "ok"},
      {"one full final chunk", forge(key, chunks_of(1, 65536)), "ok"},
      {"twenty chunks, the last short", forge(key, chunks_of(20, 7)), "ok"},
      {"twenty full chunks, the last final", full20, "ok"},
      {"an empty final chunk after full ones", forge(key, [] {
         auto v = chunks_of(6, 65536);
         v.back().final = false;
         v.push_back({"", 6, true});
         return v;
       }()),
       "age-payload-invalid"},
      {"the last chunk not final (full): truncated", full20.substr(0, 10 * 65552), "age-truncated"},
      {"the last chunk not final (short)", forge(key, [] {
         auto v = chunks_of(9, 300);
         v.back().final = false;
         return v;
       }()),
       "age-payload-invalid"},
      {"a final chunk in the middle, more after it", forge(key, [] {
         auto v = chunks_of(12, 500);
         v[5].final = true;
         return v;
       }()),
       "age-trailing-data"},
      {"one byte after a full final chunk", full20 + "x", "age-trailing-data"},
      {"a tag's worth after a full final chunk", full20 + std::string(16, '\0'), "age-trailing-data"},
      {"one byte after a short final chunk", forge(key, chunks_of(7, 10)) + "x", "age-payload-invalid"},
      {"cut inside a chunk", full20.substr(0, 5 * 65552 + 1000), "age-payload-invalid"},
      {"cut inside the last tag", full20.substr(0, full20.size() - 1), "age-payload-invalid"},
      {"a last chunk shorter than a tag", full20.substr(0, 8 * 65552 + 15), "age-payload-invalid"},
      {"two chunks swapped", [&] {
         std::string t = full20;
         t.replace(3 * 65552, 65552, full20.substr(4 * 65552, 65552));
         t.replace(4 * 65552, 65552, full20.substr(3 * 65552, 65552));
         return t;
       }(),
       "age-payload-invalid"},
      {"a chunk repeated", full20.substr(0, 4 * 65552) + full20.substr(3 * 65552), "age-payload-invalid"},
      {"a chunk dropped", full20.substr(0, 4 * 65552) + full20.substr(5 * 65552), "age-payload-invalid"},
      {"counters starting at 1", forge(key, [] {
         auto v = chunks_of(5, 9);
         for (auto& c : v) ++c.counter;
         return v;
       }()),
       "age-payload-invalid"},
      {"a flipped bit in the middle", [&] {
         std::string t = full20;
         t[11 * 65552 + 77] ^= 0x10;
         return t;
       }(),
       "age-payload-invalid"},
      {"a flipped bit in the last tag", [&] {
         std::string t = full20;
         t.back() ^= 0x01;
         return t;
       }(),
       "age-payload-invalid"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{65552},
                              std::size_t{70000}, std::size_t{3u << 20}}) {
      if (split == 1 && c.payload.size() > 200000) continue;
      CAPTURE(split);
      const Outcome seq = open_payload_mode(key, c.payload, split, Mode::sequential);
      CHECK(code_or_ok(seq.status) == c.expect);
      for (Mode mode : {Mode::threaded, Mode::shuffled}) {
        CAPTURE(static_cast<int>(mode));
        const Outcome b = open_payload_mode(key, c.payload, split, mode);
        CHECK(code_or_ok(b.status) == c.expect);
        CHECK(batch_agrees(b, seq));
      }
    }
  }
}

TEST_CASE("age batches: a batch reaches the sink whole and only when every chunk in it verified") {
  uint8_t key[32];
  randombytes_buf(key, sizeof key);
  auto chunks = chunks_of(8, 1234);
  const std::string good = forge(key, chunks);
  std::string all;
  for (const auto& c : chunks) all += c.plain;

  ThreadedParallel threads;
  std::vector<std::size_t> deliveries;
  std::string got;
  auto open = [&](const std::string& payload) {
    deliveries.clear();
    got.clear();
    auto d = Decryptor::for_payload(
        key,
        [&](const uint8_t* p, std::size_t n) {
          deliveries.push_back(n);
          got.append(reinterpret_cast<const char*>(p), n);
          return kp::ok_status();
        },
        &threads);
    REQUIRE(d.ok());
    kp::Status st = d->feed(payload);
    return st.ok() ? d->finish() : st;
  };
  // Seven inner chunks in one batch, on two threads; the last at finish.
  REQUIRE(open(good).ok());
  CHECK(deliveries == std::vector<std::size_t>{7 * 65536, 1234});
  CHECK(got == all);
  CHECK(threads.runs == 1);
  // Chunk 5 damaged: none of the batch is released (chunk by chunk, 0-4 would be).
  std::string bad = good;
  bad[5 * 65552 + 9] ^= 1;
  CHECK(open(bad).error().code == "age-payload-invalid");
  CHECK(deliveries.empty());
  // The last chunk damaged: the batch was whole and verified, the last is not released.
  bad = good;
  bad[bad.size() - 20] ^= 1;
  CHECK(open(bad).error().code == "age-payload-invalid");
  CHECK(deliveries == std::vector<std::size_t>{7 * 65536});

  // A payload of one chunk never asks for threads; neither does a feed
  // that completes no chunk.
  ThreadedParallel idle;
  auto d = Decryptor::for_payload(key, [](const uint8_t*, std::size_t) { return kp::ok_status(); }, &idle);
  REQUIRE(d.ok());
  const std::string one = forge(key, chunks_of(1, 65536));
  REQUIRE(d->feed(one.substr(0, 40000)).ok());
  REQUIRE(d->feed(one.substr(40000)).ok());
  REQUIRE(d->finish().ok());
  CHECK(idle.runs == 0);
}

TEST_CASE("age batches: randomized damage and splits agree with the chunk-by-chunk Decryptor") {
  Identity id = cctv_identity();
  const std::vector<const Identity*> ids = {&id};
  std::mt19937 rng(20261207);
  auto uniform = [&](std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(rng); };
  std::map<std::string, int> seen;
  for (int round = 0; round < 60; ++round) {
    CAPTURE(round);
    const std::size_t size = uniform(0, 3) == 0 ? uniform(0, 3) * 65536 : uniform(0, 24 * 65536);
    const std::string pt = pseudo_random(size, static_cast<uint8_t>(round));
    std::string ct = seal({id.public_key}, pt);
    const std::size_t payload_at = ct.size() - (size + 16 * std::max<std::size_t>(1, (size + 65535) / 65536));
    switch (uniform(0, 5)) {
      case 0:
        break;  // intact
      case 1:
        ct[uniform(payload_at, ct.size() - 1)] ^= static_cast<char>(1u << uniform(0, 7));
        break;
      case 2:
        ct.resize(uniform(payload_at, ct.size() - 1));
        break;
      case 3:
        ct += pseudo_random(uniform(1, 70000), static_cast<uint8_t>(round + 100));
        break;
      case 4: {  // a chunk-aligned cut, the classic truncation
        const std::size_t chunks = (ct.size() - payload_at) / 65552;
        ct.resize(payload_at + 65552 * uniform(0, chunks));
        break;
      }
      default:  // bytes swapped across a chunk boundary
        if (ct.size() > payload_at + 65552 + 8) std::swap(ct[payload_at + 65552 - 3], ct[payload_at + 65552 + 5]);
        break;
    }
    const std::size_t split = uniform(0, 2) == 0 ? 0 : uniform(1, 3u << 20);
    CAPTURE(split);
    const Outcome seq = open_with(ids, ct, InputFormat::binary, split, static_cast<uint32_t>(round));
    ++seen[code_or_ok(seq.status)];
    if (seq.status.ok()) CHECK(seq.plaintext == pt);
    for (Mode mode : {Mode::threaded, Mode::shuffled}) {
      CAPTURE(static_cast<int>(mode));
      CHECK(batch_agrees(open_with(ids, ct, InputFormat::binary, split, static_cast<uint32_t>(round), mode), seq));
    }
  }
  // The damage reached each kind of outcome.
  CHECK(seen["ok"] > 0);
  CHECK(seen["age-payload-invalid"] > 0);
  CHECK(seen["age-truncated"] + seen["age-trailing-data"] > 0);
}

TEST_CASE("age stream: hostile headers") {
  Identity id = cctv_identity();
  const std::vector<const Identity*> ids = {&id};
  auto code_of = [&](const std::string& t, InputFormat f = InputFormat::detect) {
    const Outcome o = open_with(ids, t, f, 0);
    return o.status.ok() ? std::string("ok") : o.status.error().code;
  };
  // Oversized: a header that never ends is cut off at the cap, early.
  std::string huge = "age-encryption.org/v1\n-> grease\n";
  while (huge.size() < kp::age::kMaxHeaderSize + 100) huge += std::string(64, 'A') + "\n";
  CHECK(code_of(huge) == "age-header-invalid");
  // Binary garbage without a newline is refused after the version line's length.
  {
    auto d = Decryptor::create(
        ids, [](const uint8_t*, std::size_t) { return kp::ok_status(); }, InputFormat::binary);
    REQUIRE(d.ok());
    CHECK(d->feed(std::string(30, '\x01')).error().code == "age-header-invalid");
  }
  CHECK(code_of("") == "age-header-invalid");
  CHECK(code_of("   \n\t") == "age-header-invalid");
  CHECK(code_of(std::string(5000, ' ')) == "age-header-invalid");
  CHECK(code_of("-----BEGIN AGE ENCRYPTED FILE-----\n") == "age-armor-invalid");
  CHECK(code_of("age-encryption.org/v1\n", InputFormat::armored) == "age-armor-invalid");
  CHECK(code_of("-----BEGIN AGE ENCRYPTED FILE-----\n" + std::string(100, 'A') + "\n") ==
        "age-armor-invalid");
  // A stanza header with no identities at all is simply no match.
  const std::string ct = seal({id.public_key}, "hello");
  CHECK(open_with({}, ct, InputFormat::binary, 0).status.error().code == "age-no-match");
}

// ---------------------------------------------------------------------------
// The intake split: the header alone (open_header), the payload alone
// (Decryptor::for_payload), and a new header for the same payload
// (rewrap_header).

namespace {

kp::age::Source string_source(const std::string& s, std::size_t step = 4096) {
  auto at = std::make_shared<std::size_t>(0);
  return [&s, at, step](uint8_t* buf, std::size_t cap) -> kp::Result<std::size_t> {
    const std::size_t n = std::min({cap, step, s.size() - *at});
    std::memcpy(buf, s.data() + *at, n);
    *at += n;
    return n;
  };
}

std::string open_payload_with(const uint8_t* key, const std::string& chunks, kp::Status& st) {
  std::string out;
  auto d = Decryptor::for_payload(key, [&](const uint8_t* p, std::size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return kp::ok_status();
  });
  REQUIRE(d.ok());
  st = d->feed(chunks);
  if (st.ok()) st = d->finish();
  return out;
}

}  // namespace

TEST_CASE("age header: the header alone, then the payload alone, opens what the Decryptor opens") {
  auto a = kp::age::generate_identity();
  REQUIRE(a.ok());
  for (std::size_t size : {std::size_t(0), std::size_t(1), kp::age::kChunkSize, 3 * kp::age::kChunkSize + 17}) {
    CAPTURE(size);
    const std::string pt = pseudo_random(size, 9);
    const std::string ct = seal({a->public_key}, pt);
    for (std::size_t step : {std::size_t(1), std::size_t(7), std::size_t(4096)}) {
      auto h = kp::age::open_header(string_source(ct, step), {&*a});
      REQUIRE(h.ok());
      CHECK(h->payload_offset == h->header_bytes + 16);
      CHECK(h->payload_key.size() == kp::age::kPayloadKeySize);
      CHECK(ct.compare(h->header_bytes, 16, reinterpret_cast<const char*>(h->nonce.data()), 16) == 0);
      kp::Status st;
      CHECK(open_payload_with(h->payload_key.data(), ct.substr(h->payload_offset), st) == pt);
      CHECK(st.ok());
    }
  }
}

TEST_CASE("age header: the payload key opens nothing but its own payload, and checks every chunk") {
  auto a = kp::age::generate_identity();
  REQUIRE(a.ok());
  const std::string pt = pseudo_random(2 * kp::age::kChunkSize + 5, 3);
  const std::string one = seal({a->public_key}, pt);
  const std::string two = seal({a->public_key}, pt);
  auto h1 = kp::age::open_header(string_source(one), {&*a});
  auto h2 = kp::age::open_header(string_source(two), {&*a});
  REQUIRE((h1.ok() && h2.ok()));
  kp::Status st;
  // Another package sealed to the same identity: a different file key.
  CHECK(open_payload_with(h1->payload_key.data(), two.substr(h2->payload_offset), st).empty());
  CHECK(st.error().code == "age-payload-invalid");
  std::string tampered = one.substr(h1->payload_offset);
  tampered[tampered.size() - 3] ^= 1;
  (void)open_payload_with(h1->payload_key.data(), tampered, st);
  CHECK(st.error().code == "age-payload-invalid");
  (void)open_payload_with(h1->payload_key.data(), one.substr(h1->payload_offset, kp::age::kChunkCipherSize), st);
  CHECK(st.error().code == "age-truncated");
  // After a short final chunk one more byte breaks that chunk; after a
  // full one it is data after the end.
  (void)open_payload_with(h1->payload_key.data(), one.substr(h1->payload_offset) + "x", st);
  CHECK(st.error().code == "age-payload-invalid");
  const std::string full = seal({a->public_key}, pseudo_random(2 * kp::age::kChunkSize, 5));
  auto hf = kp::age::open_header(string_source(full), {&*a});
  REQUIRE(hf.ok());
  (void)open_payload_with(hf->payload_key.data(), full.substr(hf->payload_offset) + "x", st);
  CHECK(st.error().code == "age-trailing-data");
  (void)open_payload_with(h1->payload_key.data(), "", st);
  CHECK(st.error().code == "age-truncated");
}

TEST_CASE("age header: hostile headers get the Decryptor's codes") {
  auto a = kp::age::generate_identity();
  auto b = kp::age::generate_identity();
  REQUIRE((a.ok() && b.ok()));
  const std::string ct = seal({a->public_key}, "hello");
  auto h = kp::age::open_header(string_source(ct), {&*a});
  REQUIRE(h.ok());
  const std::size_t hb = h->header_bytes;
  std::string mac_flip = ct;
  mac_flip[hb - 5] = mac_flip[hb - 5] == 'A' ? 'B' : 'A';
  std::string version = ct;
  version[3] ^= 1;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "age-header-invalid"},
      {ct.substr(0, 10), "age-header-invalid"},
      {ct.substr(0, hb - 1), "age-header-invalid"},
      {ct.substr(0, hb), "age-header-invalid"},          // no nonce
      {ct.substr(0, hb + 15), "age-header-invalid"},     // short nonce
      {version, "age-header-invalid"},
      {mac_flip, "age-hmac-mismatch"},
      {std::string(300 * 1024, 'a'), "age-header-invalid"},
      {"age-encryption.org/v1\n" + std::string(300 * 1024, 'a'), "age-header-invalid"},
  };
  for (const auto& [input, code] : cases) {
    CAPTURE(input.size());
    auto got = kp::age::open_header(string_source(input), {&*a});
    REQUIRE_FALSE(got.ok());
    CHECK(got.error().code == code);
    // The streaming Decryptor says the same of the same bytes.
    CHECK(open_with({&*a}, input, InputFormat::binary, 0).status.error().code == code);
  }
  auto other = kp::age::open_header(string_source(ct), {&*b});
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == "age-no-match");
}

TEST_CASE("age header: rewrapping gives new recipients the same payload, unchanged") {
  auto a = kp::age::generate_identity();
  auto s1 = kp::age::generate_identity();
  auto s2 = kp::age::generate_identity();
  REQUIRE((a.ok() && s1.ok() && s2.ok()));
  const std::string pt = pseudo_random(kp::age::kChunkSize + 100, 4);
  const std::string ct = seal({a->public_key}, pt);
  auto h = kp::age::open_header(string_source(ct), {&*a});
  REQUIRE(h.ok());
  auto header = kp::age::rewrap_header(h->file_key, h->nonce, {s1->public_key, s2->public_key});
  REQUIRE(header.ok());
  const std::string rewrapped = *header + ct.substr(h->payload_offset);
  for (const Identity* who : {&*s1, &*s2}) {
    const Outcome o = open_with({who}, rewrapped, InputFormat::detect, 0);
    CHECK(o.status.ok());
    CHECK(o.plaintext == pt);
  }
  CHECK(open_with({&*a}, rewrapped, InputFormat::detect, 0).status.error().code == "age-no-match");
  auto none = kp::age::rewrap_header(h->file_key, h->nonce, {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == "age-no-recipients");
  kp::SecretBytes short_key(8);
  auto bad = kp::age::rewrap_header(short_key, h->nonce, {s1->public_key});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "age-misuse");
}
