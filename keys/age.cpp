// age v1 with X25519 recipients: keys, header, STREAM payload, armor input.
//
// Sealing and opening live together (one file per format). The layout, top
// to bottom: strict base64, HKDF-SHA-256 on libsodium's HMAC, the X25519
// stanza, the header parser, identities and recipients, the Encryptor, and
// the Decryptor (input-format detection, armor decoding, header
// accumulation, nonce, payload chunks). The strictness rules are those the
// C2SP CCTV vectors check; where a rule is ours rather than the spec's, the
// comment says so.
#include "keys/age.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <ctime>
#include <memory>

#include "keys/bech32.h"

namespace kp::age {
namespace {

constexpr std::string_view kVersionLine = "age-encryption.org/v1";
constexpr std::string_view kX25519Info = "age-encryption.org/v1/X25519";
constexpr std::string_view kArmorHeader = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr std::string_view kArmorFooter = "-----END AGE ENCRYPTED FILE-----";
constexpr std::string_view kRecipientHrp = "age";
constexpr std::string_view kIdentityHrpLower = "age-secret-key-";
constexpr std::string_view kIdentityHrpUpper = "AGE-SECRET-KEY-";

constexpr std::size_t kFileKeySize = 16;
constexpr std::size_t kPayloadNonceSize = 16;
constexpr std::size_t kTagSize = crypto_aead_chacha20poly1305_ietf_ABYTES;
constexpr std::size_t kKeySize = 32;
constexpr std::size_t kBytesPerLine = 48;    // decoded bytes per 64-column line
constexpr std::size_t kColumnsPerLine = 64;  // base64 characters per full line
constexpr std::size_t kMaxArmorWhitespace = 1024;
constexpr std::size_t kMaxIdentityFile = 64 * 1024;

static_assert(kChunkCipherSize == kChunkSize + kTagSize);

Error header_invalid(std::string detail) {
  return make_error("age-header-invalid", std::move(detail));
}
Error payload_invalid(std::string detail) {
  return make_error("age-payload-invalid", std::move(detail));
}
Error misuse(std::string detail) {
  return make_error("age-misuse", std::move(detail));
}

// sodium_init is required before sodium_malloc (SecretBytes) and selects the
// fastest ChaCha20 implementation for this CPU; it is idempotent and
// thread-safe, so every entry point that needs it calls it.
Status sodium_ready() {
  KP_ENSURE(sodium_init() >= 0, "crypto-init-failed", "libsodium could not be initialised");
  return ok_status();
}

// ---------------------------------------------------------------------------
// Base64, standard alphabet, strict: no characters outside the alphabet (so
// no CR, LF or spaces), padding only where asked for, and the unused low bits
// of the last character must be zero (canonical encoding).

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes `in` into out[0..cap), setting `n`. With `padded`, the input must
// be a multiple of four characters with '=' padding (armor); without, '=' is
// refused outright (the age header). False on any deviation.
bool b64_decode(std::string_view in, bool padded, uint8_t* out, std::size_t cap, std::size_t& n) {
  std::size_t len = in.size();
  if (padded) {
    if (len % 4 != 0) return false;
    if (len >= 1 && in[len - 1] == '=') --len;
    if (len >= 1 && in[len - 1] == '=' && in.size() - len == 1) --len;
  }
  if (len % 4 == 1) return false;
  const std::size_t out_len = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
  if (out_len > cap) return false;
  uint32_t acc = 0;
  int bits = 0;
  std::size_t w = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const int v = b64_value(in[i]);
    if (v < 0) return false;
    acc = ((acc << 6) | static_cast<uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[w++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return false;  // non-canonical trailing bits
  n = w;
  return true;
}

// Unpadded standard base64.
std::string b64_encode(const uint8_t* p, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s.reserve((n * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = ((acc << 8) | p[i]) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      s.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) s.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return s;
}

// A stanza body: 64-column lines, always ending with a short (possibly empty)
// line, each LF-terminated.
void append_body(std::string& out, const uint8_t* p, std::size_t n) {
  const std::string b = b64_encode(p, n);
  std::size_t at = 0;
  while (b.size() - at >= kColumnsPerLine) {
    out.append(b, at, kColumnsPerLine);
    out.push_back('\n');
    at += kColumnsPerLine;
  }
  out.append(b, at, std::string::npos);
  out.push_back('\n');
}

// ---------------------------------------------------------------------------
// HKDF-SHA-256 (RFC 5869) from libsodium's HMAC-SHA-256; age only ever needs
// one 32-byte output block. An empty salt is an empty HMAC key, which HMAC
// pads to the same block as RFC 5869's string of zeros.

void hkdf_sha256(const uint8_t* salt, std::size_t salt_len, const uint8_t* ikm, std::size_t ikm_len,
                 std::string_view info, uint8_t out[kKeySize]) {
  static const uint8_t kEmpty = 0;
  uint8_t prk[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, salt_len ? salt : &kEmpty, salt_len);
  crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
  crypto_auth_hmacsha256_final(&st, prk);
  const uint8_t counter = 1;
  crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const uint8_t*>(info.data()), info.size());
  crypto_auth_hmacsha256_update(&st, &counter, 1);
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(prk, sizeof prk);
  sodium_memzero(&st, sizeof st);
}

// The header MAC over header[0..n) (which ends with "---").
void header_mac(const uint8_t* file_key, const char* header, std::size_t n,
                uint8_t mac[crypto_auth_hmacsha256_BYTES]) {
  uint8_t key[kKeySize];
  hkdf_sha256(nullptr, 0, file_key, kFileKeySize, "header", key);
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, sizeof key);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const uint8_t*>(header), n);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(key, sizeof key);
  sodium_memzero(&st, sizeof st);
}

// ---------------------------------------------------------------------------
// The X25519 stanza.

// The wrapping key for share E and recipient R from the X25519 shared secret.
void wrap_key(const uint8_t shared[32], const uint8_t share[32], const uint8_t recipient[32],
              uint8_t key[kKeySize]) {
  uint8_t salt[64];
  std::memcpy(salt, share, 32);
  std::memcpy(salt + 32, recipient, 32);
  hkdf_sha256(salt, sizeof salt, shared, 32, kX25519Info, key);
}

const uint8_t kZeroNonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {};

// Appends "-> X25519 <share>\n<body>\n" sealing `file_key` to `recipient`.
Status wrap_x25519(const uint8_t* file_key, const PublicKey& recipient, std::string& out) {
  uint8_t eph[32];
  uint8_t share[32];
  uint8_t shared[32];
  uint8_t key[kKeySize];
  uint8_t body[kFileKeySize + kTagSize];
  randombytes_buf(eph, sizeof eph);
  crypto_scalarmult_base(share, eph);
  const bool ok =
      crypto_scalarmult(shared, eph, recipient.data()) == 0 && !sodium_is_zero(shared, 32);
  if (ok) {
    wrap_key(shared, share, recipient.data(), key);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(body, body + kFileKeySize, nullptr, file_key,
                                                       kFileKeySize, nullptr, 0, nullptr,
                                                       kZeroNonce, key);
  }
  sodium_memzero(eph, sizeof eph);
  sodium_memzero(shared, sizeof shared);
  sodium_memzero(key, sizeof key);
  KP_ENSURE(ok, "age-recipient-invalid", "recipient key is a low-order point");
  out += "-> X25519 ";
  out += b64_encode(share, sizeof share);
  out += '\n';
  append_body(out, body, sizeof body);
  return ok_status();
}

// ---------------------------------------------------------------------------
// The header.

struct Stanza {
  std::string_view type;
  std::vector<std::string_view> args;
  std::vector<uint8_t> body;
  std::array<uint8_t, 32> share{};  // X25519 stanzas only, checked in parse
};

struct Header {
  std::vector<Stanza> stanzas;
  uint8_t mac[32] = {};
  std::size_t mac_input_len = 0;  // bytes covered by the MAC: up to "---"
};

bool is_vchar_string(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126; });
}

// Parses a complete header `h` (the last line is the MAC line, LF-ended).
// Structural rules of the X25519 stanza are enforced here for every X25519
// stanza, matching or not: a malformed one poisons the whole file.
Result<Header> parse_header(std::string_view h) {
  Header out;
  std::size_t pos = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= h.size()) return false;
    const std::size_t nl = h.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    line = h.substr(pos, nl - pos);
    pos = nl + 1;
    return true;
  };

  std::string_view line;
  KP_ENSURE(next_line(line) && line == kVersionLine, "age-header-invalid",
            "not an age v1 file (bad version line)");
  for (;;) {
    const std::size_t line_start = pos;
    KP_ENSURE(next_line(line), "age-header-invalid", "header ends without a MAC line");
    if (line.starts_with("---")) {
      KP_ENSURE(line.size() == 4 + 43 && line.substr(0, 4) == "--- ", "age-header-invalid",
                "malformed MAC line");
      std::size_t n = 0;
      KP_ENSURE(b64_decode(line.substr(4), false, out.mac, sizeof out.mac, n) && n == 32,
                "age-header-invalid", "MAC is not canonical base64 of 32 bytes");
      KP_ENSURE(pos == h.size(), "age-header-invalid", "data after the MAC line");
      out.mac_input_len = line_start + 3;
      break;
    }
    KP_ENSURE(line.starts_with("->"), "age-header-invalid", "unexpected line in header");
    Stanza s;
    std::size_t at = 0;
    bool first = true;
    for (;;) {
      const std::size_t sp = line.find(' ', at);
      const std::string_view part = line.substr(at, sp == std::string_view::npos ? sp : sp - at);
      if (first) {
        KP_ENSURE(part == "->", "age-header-invalid", "malformed stanza line");
        first = false;
      } else {
        KP_ENSURE(is_vchar_string(part), "age-header-invalid", "empty or invalid stanza argument");
        if (s.type.empty()) {
          s.type = part;
        } else {
          s.args.push_back(part);
        }
      }
      if (sp == std::string_view::npos) break;
      at = sp + 1;
    }
    KP_ENSURE(!s.type.empty(), "age-header-invalid", "stanza without a type");
    for (;;) {
      std::string_view body_line;
      KP_ENSURE(next_line(body_line), "age-header-invalid", "stanza body not terminated");
      uint8_t buf[kBytesPerLine];
      std::size_t n = 0;
      KP_ENSURE(
          body_line.size() <= kColumnsPerLine && b64_decode(body_line, false, buf, sizeof buf, n),
          "age-header-invalid", "stanza body line is not canonical base64 of at most 64 columns");
      s.body.insert(s.body.end(), buf, buf + n);
      if (n < kBytesPerLine) break;  // a short (possibly empty) line ends the body
    }
    if (s.type == "X25519") {
      std::size_t n = 0;
      KP_ENSURE(s.args.size() == 1, "age-header-invalid",
                "X25519 stanza needs exactly one argument");
      KP_ENSURE(b64_decode(s.args[0], false, s.share.data(), s.share.size(), n) && n == 32,
                "age-header-invalid", "X25519 share is not canonical base64 of 32 bytes");
      KP_ENSURE(s.body.size() == kFileKeySize + kTagSize, "age-header-invalid",
                "X25519 stanza body is not 32 bytes");
    }
    out.stanzas.push_back(std::move(s));
  }
  const bool has_scrypt = std::any_of(out.stanzas.begin(), out.stanzas.end(),
                                      [](const Stanza& s) { return s.type == "scrypt"; });
  KP_ENSURE(!has_scrypt || out.stanzas.size() == 1, "age-header-invalid",
            "an scrypt stanza must be the only stanza");
  return out;
}

// Finds the file key: identities in order, stanzas in order, as the
// reference implementation does. An all-zero shared secret is fatal (the
// share is a low-order point), a wrong tag just means "not for us".
Result<SecretBytes> unwrap_file_key(const Header& h, const std::vector<const Identity*>& ids) {
  SecretBytes file_key(kFileKeySize);
  KP_ENSURE(file_key.valid(), "age-header-invalid", "cannot allocate secure memory");
  for (const Identity* id : ids) {
    if (id == nullptr || id->secret.size() != 32) continue;
    for (const Stanza& s : h.stanzas) {
      if (s.type != "X25519") continue;
      uint8_t shared[32];
      uint8_t key[kKeySize];
      if (crypto_scalarmult(shared, id->secret.data(), s.share.data()) != 0 ||
          sodium_is_zero(shared, sizeof shared)) {
        sodium_memzero(shared, sizeof shared);
        return header_invalid("X25519 share gives the all-zero shared secret");
      }
      wrap_key(shared, s.share.data(), id->public_key.data(), key);
      sodium_memzero(shared, sizeof shared);
      const int rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          file_key.data(), nullptr, s.body.data(), kFileKeySize, s.body.data() + kFileKeySize,
          nullptr, 0, kZeroNonce, key);
      sodium_memzero(key, sizeof key);
      if (rc == 0) return file_key;
    }
  }
  return make_error("age-no-match", "no recipient stanza opens with the given identities");
}

// The 12-byte STREAM nonce: 11-byte big-endian counter, then the final flag.
void chunk_nonce(uint64_t counter, bool final, uint8_t nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<uint8_t>(counter >> (8 * i));
  nonce[11] = final ? 1 : 0;
}

// ---------------------------------------------------------------------------
// The payload AEAD: ChaCha20-Poly1305 (RFC 8439, 12-byte nonce, 16-byte
// tag) through libcrypto rather than libsodium. Both compute the same
// function (the CCTV vectors and the age CLI interop tests check it), but
// libsodium 1.0.18 has no AVX-512 ChaCha20 and only a portable-SIMD
// Poly1305: on the reference VM it seals ~0.5 GB/s against libcrypto's
// ~2.9 GB/s, and the payload is every byte of every package, opened and
// sealed again by the intake worker. libcrypto is already linked for
// SHA-256 (common/digest.h). The header (file-key wrapping, HMAC, HKDF)
// stays on libsodium: it is a few hundred bytes.
//
// One context per stream, keyed once; each chunk only sets its nonce. The
// key schedule lives in the context (OpenSSL heap, cleansed when the
// context is freed), not in sodium_malloc'd memory like the key itself.

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

class ChunkAead {
 public:
  // Keys a context for sealing (`encrypt`) or opening. False if libcrypto
  // cannot provide ChaCha20-Poly1305.
  bool init(const uint8_t key[kKeySize], bool encrypt) {
    ctx_.reset(EVP_CIPHER_CTX_new());
    if (!ctx_) return false;
    return EVP_CipherInit_ex(ctx_.get(), EVP_chacha20_poly1305(), nullptr, key, kZeroIv,
                             encrypt ? 1 : 0) == 1;
  }

  // out[0..n) = ciphertext of p[0..n), out[n..n+16) = tag. n <= kChunkSize.
  bool seal(const uint8_t nonce[12], const uint8_t* p, std::size_t n, uint8_t* out) {
    int len = 0;
    int fin = 0;
    if (EVP_EncryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce) != 1) return false;
    if (n > 0 && EVP_EncryptUpdate(ctx_.get(), out, &len, p, static_cast<int>(n)) != 1) return false;
    if (EVP_EncryptFinal_ex(ctx_.get(), out + len, &fin) != 1) return false;
    return static_cast<std::size_t>(len + fin) == n &&
           EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize),
                               out + n) == 1;
  }

  // Opens c[0..len) (ciphertext then tag) into out[0..len-16). True only
  // if the tag verified (libcrypto compares it in constant time). On false,
  // out holds unauthenticated bytes: the caller must not release them.
  bool open(const uint8_t nonce[12], const uint8_t* c, std::size_t len, uint8_t* out) {
    if (len < kTagSize) return false;
    const std::size_t n = len - kTagSize;
    int got = 0;
    int fin = 0;
    if (EVP_DecryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce) != 1) return false;
    if (EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                            const_cast<uint8_t*>(c + n)) != 1)
      return false;
    if (n > 0 && EVP_DecryptUpdate(ctx_.get(), out, &got, c, static_cast<int>(n)) != 1) return false;
    if (EVP_DecryptFinal_ex(ctx_.get(), out + got, &fin) != 1) return false;
    return static_cast<std::size_t>(got + fin) == n;
  }

 private:
  static constexpr uint8_t kZeroIv[12] = {};
  CipherCtx ctx_;
};

static_assert(kChunkCipherSize <= INT_MAX, "chunk sizes must fit libcrypto's int lengths");

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// ---------------------------------------------------------------------------
// Identities.

Result<Identity> identity_from_line(std::string_view line) {
  KP_GUARD(sodium_ready());
  Identity id;
  id.secret = SecretBytes(32);
  KP_ENSURE(id.secret.valid(), "age-identity-invalid", "cannot allocate secure memory");
  auto d = bech32::decode(line, id.secret.data(), id.secret.size());
  KP_ENSURE(d.ok(), "age-identity-invalid",
            "not a valid Bech32 secret key (" + d.error().detail + ")");
  KP_ENSURE(d->hrp == kIdentityHrpUpper, "age-identity-invalid",
            "not an uppercase AGE-SECRET-KEY-1 X25519 identity");
  KP_ENSURE(d->size == 32, "age-identity-invalid", "secret key is not 32 bytes");
  crypto_scalarmult_base(id.public_key.data(), id.secret.data());
  return id;
}

}  // namespace

Result<Identity> generate_identity() {
  KP_GUARD(sodium_ready());
  Identity id;
  id.secret = SecretBytes(32);
  KP_ENSURE(id.secret.valid(), "age-identity-invalid", "cannot allocate secure memory");
  randombytes_buf(id.secret.data(), 32);
  crypto_scalarmult_base(id.public_key.data(), id.secret.data());
  return id;
}

Result<std::vector<Identity>> parse_identities(std::string_view text) {
  KP_ENSURE(text.size() <= kMaxIdentityFile, "age-identity-invalid", "identity file too large");
  std::vector<Identity> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    KP_TRY(Identity id, identity_from_line(line));
    out.push_back(std::move(id));
  }
  KP_ENSURE(!out.empty(), "age-identity-invalid", "no AGE-SECRET-KEY-1 line in identity file");
  return out;
}

Result<Identity> parse_identity(std::string_view text) {
  KP_TRY(std::vector<Identity> ids, parse_identities(text));
  KP_ENSURE(ids.size() == 1, "age-identity-invalid", "identity file holds more than one key");
  return std::move(ids.front());
}

std::string format_recipient(const PublicKey& pk) {
  return bech32::encode(kRecipientHrp, pk.data(), pk.size());
}

std::string recipient_of(const Identity& id) {
  return format_recipient(id.public_key);
}

SecretBytes format_identity(const Identity& id) {
  if (id.secret.size() != 32 || !sodium_ready().ok()) return {};
  char created[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string head =
      std::string("# created: ") + created + "\n# public key: " + recipient_of(id) + "\n";
  const std::size_t key_len = bech32::encoded_length(kIdentityHrpLower.size(), 32);
  SecretBytes out(head.size() + key_len + 1);
  if (!out.valid()) return {};
  std::memcpy(out.data(), head.data(), head.size());
  char* key = reinterpret_cast<char*>(out.data() + head.size());
  if (!bech32::encode_to(kIdentityHrpLower, id.secret.data(), 32, true, key, key_len)) return {};
  out.data()[out.size() - 1] = '\n';
  return out;
}

Result<PublicKey> parse_recipient(std::string_view s) {
  PublicKey pk{};
  auto d = bech32::decode(s, pk.data(), pk.size());
  KP_ENSURE(d.ok(), "age-recipient-invalid",
            "not a valid Bech32 recipient (" + d.error().detail + ")");
  KP_ENSURE(d->hrp == kRecipientHrp, "age-recipient-invalid",
            "not a lowercase age1 X25519 recipient");
  KP_ENSURE(d->size == 32, "age-recipient-invalid", "recipient key is not 32 bytes");
  return pk;
}

// ---------------------------------------------------------------------------
// Header writing (shared by the Encryptor and rewrap_header).

namespace {

// The text header for `file_key` (kFileKeySize bytes): version line, one
// X25519 stanza per recipient, MAC line. Without the nonce.
Result<std::string> build_header(const uint8_t* file_key, const std::vector<PublicKey>& recipients) {
  KP_ENSURE(!recipients.empty(), "age-no-recipients", "at least one recipient is required");
  std::string header(kVersionLine);
  header += '\n';
  for (const PublicKey& r : recipients) KP_GUARD(wrap_x25519(file_key, r, header));
  header += "---";
  uint8_t mac[crypto_auth_hmacsha256_BYTES];
  header_mac(file_key, header.data(), header.size(), mac);
  header += ' ';
  header += b64_encode(mac, sizeof mac);
  header += '\n';
  return header;
}

}  // namespace

Result<std::string> rewrap_header(const SecretBytes& file_key,
                                  const std::array<uint8_t, kPayloadNonceBytes>& nonce,
                                  const std::vector<PublicKey>& recipients) {
  KP_GUARD(sodium_ready());
  KP_ENSURE(file_key.size() == kFileKeySize, "age-misuse", "a file key is 16 bytes");
  KP_TRY(std::string header, build_header(file_key.data(), recipients));
  header.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  return header;
}

Result<OpenedHeader> open_header(const Source& source, const std::vector<const Identity*>& identities) {
  KP_GUARD(sodium_ready());
  KP_ENSURE(static_cast<bool>(source), "age-misuse", "no source");
  static_assert(kPayloadNonceBytes == kPayloadNonceSize && kPayloadKeySize == kKeySize);
  // Bytes read so far; lines are scanned as they complete, exactly as the
  // Decryptor's header phase does, so the same inputs get the same codes.
  std::string buf;
  std::size_t line_start = 0;
  std::size_t header_len = 0;  // set once the MAC line is complete
  bool eof = false;
  uint8_t block[4096];
  for (;;) {
    while (header_len == 0) {
      const std::size_t nl = buf.find('\n', line_start);
      if (nl == std::string::npos) break;
      const std::string_view line(buf.data() + line_start, nl - line_start);
      const bool first = line_start == 0;
      line_start = nl + 1;
      if (first) {
        KP_ENSURE(line == kVersionLine, "age-header-invalid", "not an age v1 file (bad version line)");
      } else if (line.starts_with("---")) {
        header_len = nl + 1;
      }
    }
    if (header_len == 0) {
      KP_ENSURE(line_start != 0 || buf.size() <= kVersionLine.size(), "age-header-invalid",
                "not an age v1 file (bad version line)");
      KP_ENSURE(buf.size() <= kMaxHeaderSize, "age-header-invalid", "header too large");
    }
    if (header_len != 0 && buf.size() >= header_len + kPayloadNonceSize) break;
    if (eof) break;
    KP_TRY(std::size_t got, source(block, sizeof block));
    KP_ENSURE(got <= sizeof block, "age-misuse", "source returned more than asked");
    if (got == 0) eof = true;
    buf.append(reinterpret_cast<const char*>(block), got);
  }
  KP_ENSURE(header_len != 0, "age-header-invalid", "file ends inside the header");
  KP_ENSURE(header_len <= kMaxHeaderSize, "age-header-invalid", "header too large");
  const std::string_view text(buf.data(), header_len);
  KP_TRY(Header h, parse_header(text));
  OpenedHeader out;
  KP_TRY(out.file_key, unwrap_file_key(h, identities));
  uint8_t mac[crypto_auth_hmacsha256_BYTES];
  header_mac(out.file_key.data(), text.data(), h.mac_input_len, mac);
  const bool mac_ok = crypto_verify_32(mac, h.mac) == 0;
  sodium_memzero(mac, sizeof mac);
  KP_ENSURE(mac_ok, "age-hmac-mismatch", "header MAC does not match");
  KP_ENSURE(buf.size() >= header_len + kPayloadNonceSize, "age-header-invalid",
            "payload nonce missing or short");
  std::memcpy(out.nonce.data(), buf.data() + header_len, kPayloadNonceSize);
  out.payload_key = SecretBytes(kKeySize);
  KP_ENSURE(out.payload_key.valid(), "age-header-invalid", "cannot allocate secure memory");
  hkdf_sha256(out.nonce.data(), kPayloadNonceSize, out.file_key.data(), kFileKeySize, "payload",
              out.payload_key.data());
  out.header_bytes = header_len;
  out.payload_offset = header_len + kPayloadNonceSize;
  return out;
}

// ---------------------------------------------------------------------------
// Encryptor.

struct Encryptor::State {
  Sink sink;
  SecretBytes payload_key{kKeySize};
  ChunkAead aead;
  std::vector<uint8_t> pt = std::vector<uint8_t>(kChunkSize);
  std::vector<uint8_t> ct = std::vector<uint8_t>(kChunkCipherSize);
  std::size_t pt_len = 0;
  uint64_t counter = 0;
  bool finished = false;
  bool failed = false;
  Error error;

  // Seals plaintext p[0..n) as the next chunk and hands it to the sink.
  Status seal(const uint8_t* p, std::size_t n, bool final) {
    KP_ENSURE(counter != UINT64_MAX, "age-payload-invalid", "chunk counter exhausted");
    uint8_t nonce[12];
    chunk_nonce(counter, final, nonce);
    KP_ENSURE(aead.seal(nonce, p, n, ct.data()), "crypto-failed",
              "ChaCha20-Poly1305 sealing failed in libcrypto");
    ++counter;
    return sink(ct.data(), n + kTagSize);
  }

  // A full buffered chunk is sealed non-final only once more plaintext
  // arrives: a plaintext of exactly k*64 KiB ends with a full final chunk.
  Status write(const uint8_t* p, std::size_t n) {
    while (n > 0) {
      if (pt_len == kChunkSize) {
        KP_GUARD(seal(pt.data(), kChunkSize, false));
        pt_len = 0;
      }
      if (pt_len == 0 && n > kChunkSize) {  // whole chunk in the caller's buffer: no copy
        KP_GUARD(seal(p, kChunkSize, false));
        p += kChunkSize;
        n -= kChunkSize;
        continue;
      }
      const std::size_t take = std::min(n, kChunkSize - pt_len);
      std::memcpy(pt.data() + pt_len, p, take);
      pt_len += take;
      p += take;
      n -= take;
    }
    return ok_status();
  }
};

Encryptor::Encryptor(std::unique_ptr<State> s) : s_(std::move(s)) {}
Encryptor::Encryptor(Encryptor&&) noexcept = default;
Encryptor& Encryptor::operator=(Encryptor&&) noexcept = default;
Encryptor::~Encryptor() {
  if (s_) sodium_memzero(s_->pt.data(), s_->pt.size());
}

Result<Encryptor> Encryptor::start(const std::vector<PublicKey>& recipients, Sink sink) {
  KP_GUARD(sodium_ready());
  KP_ENSURE(!recipients.empty(), "age-no-recipients", "at least one recipient is required");
  KP_ENSURE(static_cast<bool>(sink), "age-misuse", "no sink");
  auto st = std::make_unique<State>();
  st->sink = std::move(sink);
  SecretBytes file_key(kFileKeySize);
  KP_ENSURE(file_key.valid() && st->payload_key.valid(), "age-misuse",
            "cannot allocate secure memory");
  randombytes_buf(file_key.data(), kFileKeySize);
  KP_TRY(std::string header, build_header(file_key.data(), recipients));

  uint8_t nonce[kPayloadNonceSize];
  randombytes_buf(nonce, sizeof nonce);
  hkdf_sha256(nonce, sizeof nonce, file_key.data(), kFileKeySize, "payload",
              st->payload_key.data());
  KP_ENSURE(st->aead.init(st->payload_key.data(), true), "crypto-init-failed",
            "libcrypto has no ChaCha20-Poly1305");
  header.append(reinterpret_cast<const char*>(nonce), sizeof nonce);
  KP_GUARD(st->sink(reinterpret_cast<const uint8_t*>(header.data()), header.size()));
  return Encryptor(std::move(st));
}

Status Encryptor::write(const uint8_t* p, std::size_t n) {
  if (!s_) return misuse("encryptor was moved from");
  if (s_->failed) return s_->error;
  if (s_->finished) return misuse("write after finish");
  Status st = s_->write(p, n);
  if (!st.ok()) {
    s_->failed = true;
    s_->error = st.error();
  }
  return st;
}

Status Encryptor::finish() {
  if (!s_) return misuse("encryptor was moved from");
  if (s_->failed) return s_->error;
  if (s_->finished) return misuse("finish called twice");
  s_->finished = true;
  // The final chunk may be full (64 KiB) and is empty only for an empty file.
  Status st = s_->seal(s_->pt.data(), s_->pt_len, true);
  sodium_memzero(s_->pt.data(), s_->pt.size());
  s_->pt_len = 0;
  if (!st.ok()) {
    s_->failed = true;
    s_->error = st.error();
  }
  return st;
}

// ---------------------------------------------------------------------------
// Decryptor.

struct Decryptor::State {
  std::vector<const Identity*> ids;
  Sink sink;
  InputFormat format = InputFormat::detect;
  bool finished = false;
  bool failed = false;
  Error error;

  // Input-format detection: leading whitespace kept for replay.
  std::string lead;

  // Armor decoding.
  enum class ArmorPhase { begin, body, footer, trailing };
  ArmorPhase armor = ArmorPhase::begin;
  std::string armor_line;    // the current, incomplete line
  std::size_t armor_ws = 0;  // leading or trailing whitespace seen
  // Binary format.
  enum class Phase { header, nonce, payload, done };
  Phase phase = Phase::header;
  std::string header;
  std::size_t line_start = 0;  // start of the current header line
  SecretBytes file_key;
  uint8_t nonce[kPayloadNonceSize] = {};
  std::size_t nonce_len = 0;
  SecretBytes payload_key;
  ChunkAead aead;
  std::vector<uint8_t> ct;
  std::vector<uint8_t> pt;
  std::size_t ct_len = 0;
  uint64_t counter = 0;
  // Batches (with a Parallel only): the other workers' contexts, the
  // plaintext of one batch (left uninitialised; `batch_touched` bytes of it
  // ever written, wiped at the end) and each chunk's verdict.
  Parallel* parallel = nullptr;
  std::vector<ChunkAead> worker_aead;
  std::unique_ptr<uint8_t[]> batch;
  std::size_t batch_chunks = 0;
  std::size_t batch_touched = 0;
  std::vector<uint8_t> verdicts;

  ~State() {
    if (!pt.empty()) sodium_memzero(pt.data(), pt.size());
    if (batch) sodium_memzero(batch.get(), batch_touched);
  }

  Status feed(const uint8_t* p, std::size_t n) {
    if (format == InputFormat::detect) {
      while (n > 0 && is_space(static_cast<char>(*p))) {
        // Beyond the armor's own whitespace allowance this cannot be a valid
        // file in either format; let the binary parser refuse it.
        if (lead.size() > kMaxArmorWhitespace) return resolve(InputFormat::binary, p, n);
        lead.push_back(static_cast<char>(*p));
        ++p;
        --n;
      }
      if (n == 0) return ok_status();
      return resolve(*p == '-' ? InputFormat::armored : InputFormat::binary, p, n);
    }
    return format == InputFormat::armored ? armor_feed(p, n) : binary_feed(p, n);
  }

  Status resolve(InputFormat f, const uint8_t* p, std::size_t n) {
    format = f;
    std::string replay;
    replay.swap(lead);
    KP_GUARD(feed(reinterpret_cast<const uint8_t*>(replay.data()), replay.size()));
    return feed(p, n);
  }

  Status finish() {
    if (format == InputFormat::detect) KP_GUARD(resolve(InputFormat::binary, nullptr, 0));
    if (format == InputFormat::armored) KP_GUARD(armor_finish());
    return binary_finish();
  }

  // --- armor -------------------------------------------------------------

  Status armor_feed(const uint8_t* p, std::size_t n) {
    while (n > 0) {
      if (armor == ArmorPhase::trailing) {
        for (; n > 0; ++p, --n) {
          KP_ENSURE(is_space(static_cast<char>(*p)), "age-armor-invalid",
                    "data after the armor footer");
          KP_ENSURE(++armor_ws < kMaxArmorWhitespace, "age-armor-invalid",
                    "too much whitespace after the armor footer");
        }
        return ok_status();
      }
      const auto* nl = static_cast<const uint8_t*>(std::memchr(p, '\n', n));
      const std::size_t take = nl ? static_cast<std::size_t>(nl - p) : n;
      // Data lines are 64 columns (+ CR); whitespace before the header is
      // capped at kMaxArmorWhitespace in total.
      const std::size_t cap =
          armor == ArmorPhase::begin ? kMaxArmorWhitespace + 2 : kColumnsPerLine + 1;
      KP_ENSURE(armor_line.size() + take <= cap, "age-armor-invalid", "armor line too long");
      armor_line.append(reinterpret_cast<const char*>(p), take);
      p += take;
      n -= take;
      if (!nl) break;
      ++p;
      --n;
      KP_GUARD(armor_line_done());
    }
    return ok_status();
  }

  Status armor_line_done() {
    std::string_view line = armor_line;
    if (line.ends_with('\r')) line.remove_suffix(1);
    switch (armor) {
      case ArmorPhase::begin:
        if (std::all_of(line.begin(), line.end(), is_space)) {
          armor_ws += line.size() + 1;
          KP_ENSURE(armor_ws <= kMaxArmorWhitespace, "age-armor-invalid",
                    "too much whitespace before the armor header");
          break;
        }
        KP_ENSURE(line == kArmorHeader, "age-armor-invalid",
                  "first line is not the age armor header");
        armor = ArmorPhase::body;
        break;
      case ArmorPhase::body: {
        if (line == kArmorFooter) {
          armor = ArmorPhase::trailing;
          armor_ws = 0;
          break;
        }
        // An empty line is not something the armor writer produces: refused
        // (CCTV armor_empty_last_line).
        uint8_t buf[kBytesPerLine];
        std::size_t got = 0;
        KP_ENSURE(!line.empty() && line.size() <= kColumnsPerLine &&
                      b64_decode(line, true, buf, sizeof buf, got),
                  "age-armor-invalid",
                  "armor line is not canonical padded base64 of at most 64 columns");
        if (got < kBytesPerLine) armor = ArmorPhase::footer;
        KP_GUARD(binary_feed(buf, got));
        break;
      }
      case ArmorPhase::footer:
        KP_ENSURE(line == kArmorFooter, "age-armor-invalid",
                  "short armor line not followed by the footer");
        armor = ArmorPhase::trailing;
        armor_ws = 0;
        break;
      case ArmorPhase::trailing:
        break;
    }
    armor_line.clear();
    return ok_status();
  }

  Status armor_finish() {
    // A last line without LF counts as a line (armor_no_eol).
    if (!armor_line.empty() && armor != ArmorPhase::trailing) KP_GUARD(armor_line_done());
    KP_ENSURE(armor == ArmorPhase::trailing, "age-armor-invalid", "armor ends without its footer");
    return ok_status();
  }

  // --- binary format -----------------------------------------------------

  Status binary_feed(const uint8_t* p, std::size_t n) {
    while (n > 0) {
      switch (phase) {
        case Phase::header:
          KP_GUARD(header_feed(p, n));
          break;
        case Phase::nonce: {
          const std::size_t take = std::min(n, kPayloadNonceSize - nonce_len);
          std::memcpy(nonce + nonce_len, p, take);
          nonce_len += take;
          p += take;
          n -= take;
          if (nonce_len == kPayloadNonceSize) {
            payload_key = SecretBytes(kKeySize);
            KP_ENSURE(payload_key.valid(), "age-payload-invalid", "cannot allocate secure memory");
            hkdf_sha256(nonce, sizeof nonce, file_key.data(), kFileKeySize, "payload",
                        payload_key.data());
            file_key = SecretBytes();
            KP_ENSURE(aead.init(payload_key.data(), false), "crypto-init-failed",
                      "libcrypto has no ChaCha20-Poly1305");
            ct.resize(kChunkCipherSize);
            pt.resize(kChunkSize);
            phase = Phase::payload;
          }
          break;
        }
        case Phase::payload:
          return payload_feed(p, n);
        case Phase::done:
          return misuse("input after the end");
      }
    }
    return ok_status();
  }

  // Takes bytes up to and including the next LF into the header buffer;
  // when the MAC line ("---...") is complete, parses and checks the header.
  Status header_feed(const uint8_t*& p, std::size_t& n) {
    const auto* nl = static_cast<const uint8_t*>(std::memchr(p, '\n', n));
    const std::size_t take = nl ? static_cast<std::size_t>(nl - p) + 1 : n;
    KP_ENSURE(header.size() + take <= kMaxHeaderSize, "age-header-invalid", "header too large");
    header.append(reinterpret_cast<const char*>(p), take);
    p += take;
    n -= take;
    if (!nl) {
      // Refuse early what cannot become the version line.
      KP_ENSURE(line_start != 0 || header.size() <= kVersionLine.size(), "age-header-invalid",
                "not an age v1 file (bad version line)");
      return ok_status();
    }
    const std::string_view line(header.data() + line_start, header.size() - line_start - 1);
    const bool first = line_start == 0;
    line_start = header.size();
    if (first) {
      KP_ENSURE(line == kVersionLine, "age-header-invalid",
                "not an age v1 file (bad version line)");
      return ok_status();
    }
    if (!line.starts_with("---")) return ok_status();

    KP_TRY(Header h, parse_header(header));
    KP_TRY(file_key, unwrap_file_key(h, ids));
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    header_mac(file_key.data(), header.data(), h.mac_input_len, mac);
    const bool mac_ok = crypto_verify_32(mac, h.mac) == 0;
    sodium_memzero(mac, sizeof mac);
    KP_ENSURE(mac_ok, "age-hmac-mismatch", "header MAC does not match");
    std::string().swap(header);
    phase = Phase::nonce;
    return ok_status();
  }

  // Opens c[0..len) as chunk `index` with the given final flag into out.
  static bool open_chunk(ChunkAead& a, uint64_t index, const uint8_t* c, std::size_t len, bool final,
                         uint8_t* out) {
    if (len < kTagSize) return false;
    uint8_t nonce12[12];
    chunk_nonce(index, final, nonce12);
    return a.open(nonce12, c, len, out);
  }
  bool open(const uint8_t* c, std::size_t len, bool final) {
    return open_chunk(aead, counter, c, len, final, pt.data());
  }

  Status deliver(std::size_t n) {
    ++counter;
    if (n == 0) return ok_status();
    return sink(pt.data(), n);
  }

  // The rule for a full-size chunk with more input after it: it must open
  // as non-final. One that verifies only as final is authentic, but data
  // trails it (its plaintext is in `out` then, and may be released).
  enum Inner : uint8_t { inner_ok, inner_trailing, inner_bad };
  static Inner open_inner(ChunkAead& a, uint64_t index, const uint8_t* c, uint8_t* out) {
    if (open_chunk(a, index, c, kChunkCipherSize, false, out)) return inner_ok;
    if (open_chunk(a, index, c, kChunkCipherSize, true, out)) return inner_trailing;
    return inner_bad;
  }
  static Error inner_error(Inner v) {
    if (v == inner_trailing) return make_error("age-trailing-data", "data follows the final payload chunk");
    return payload_invalid("payload chunk failed authentication");
  }

  Status open_full_chunk(const uint8_t* c) {
    KP_ENSURE(counter != UINT64_MAX, "age-payload-invalid", "chunk counter exhausted");
    const Inner v = open_inner(aead, counter, c, pt.data());
    if (v == inner_bad) return inner_error(v);
    KP_GUARD(deliver(kChunkSize));
    if (v == inner_trailing) return inner_error(v);
    return ok_status();
  }

  // Buffers ciphertext; a full chunk is opened only when at least one more
  // byte arrives, so the last chunk is always opened in finish().
  Status payload_feed(const uint8_t* p, std::size_t n) {
    if (parallel) return payload_feed_batch(p, n);
    while (n > 0) {
      if (ct_len == kChunkCipherSize) {
        KP_GUARD(open_full_chunk(ct.data()));
        ct_len = 0;
      }
      if (ct_len == 0 && n > kChunkCipherSize) {  // whole chunk in the caller's buffer: no copy
        KP_GUARD(open_full_chunk(p));
        p += kChunkCipherSize;
        n -= kChunkCipherSize;
        continue;
      }
      const std::size_t take = std::min(n, kChunkCipherSize - ct_len);
      std::memcpy(ct.data() + ct_len, p, take);
      ct_len += take;
      p += take;
      n -= take;
    }
    return ok_status();
  }

  // payload_feed with a Parallel. The same rules, applied to every full
  // chunk known not to be the last at once: the one held back from the
  // previous call (once it is complete and more bytes follow) and each one
  // in the caller's buffer that more bytes follow. They are opened spread
  // over the Parallel's threads, each with its own counter into its own
  // place in `batch`, and passed to the sink in one call only after every
  // one of them verified; a batch with a chunk that fails (or that verifies
  // only as final) releases nothing and gives that chunk's error, the first
  // in stream order. The last bytes (up to a chunk) are held back as before.
  Status payload_feed_batch(const uint8_t* p, std::size_t n) {
    std::size_t held = 0;
    if (ct_len > 0) {
      const std::size_t take = std::min(n, kChunkCipherSize - ct_len);
      std::memcpy(ct.data() + ct_len, p, take);
      ct_len += take;
      p += take;
      n -= take;
      if (ct_len < kChunkCipherSize || n == 0) return ok_status();
      held = 1;
    }
    const std::size_t inner = n > 0 ? (n - 1) / kChunkCipherSize : 0;
    if (held + inner > 0) KP_GUARD(open_batch(held, p, held + inner));
    const std::size_t rest = n - inner * kChunkCipherSize;
    std::memcpy(ct.data(), p + inner * kChunkCipherSize, rest);
    ct_len = rest;
    return ok_status();
  }

  // Opens `total` inner chunks (the first `held` of them from ct, the rest
  // from p on) as described above.
  Status open_batch(std::size_t held, const uint8_t* p, std::size_t total) {
    KP_ENSURE(UINT64_MAX - counter >= total, "age-payload-invalid", "chunk counter exhausted");
    if (total > batch_chunks) {
      if (batch) sodium_memzero(batch.get(), batch_touched);
      batch = std::make_unique_for_overwrite<uint8_t[]>(total * kChunkSize);
      batch_chunks = total;
      batch_touched = 0;
    }
    batch_touched = std::max(batch_touched, total * kChunkSize);
    const std::size_t workers = std::max<std::size_t>(parallel->width(), 1);
    while (worker_aead.size() + 1 < workers) {
      worker_aead.emplace_back();
      KP_ENSURE(worker_aead.back().init(payload_key.data(), false), "crypto-init-failed",
                "libcrypto has no ChaCha20-Poly1305");
    }
    verdicts.assign(total, inner_bad);
    const uint64_t first = counter;
    parallel->run(total, [&](std::size_t i, std::size_t worker) {
      const uint8_t* c = i < held ? ct.data() : p + (i - held) * kChunkCipherSize;
      ChunkAead& a = worker == 0 ? aead : worker_aead[worker - 1];
      verdicts[i] = open_inner(a, first + i, c, batch.get() + i * kChunkSize);
    });
    for (std::size_t i = 0; i < total; ++i)
      if (verdicts[i] != inner_ok) return inner_error(static_cast<Inner>(verdicts[i]));
    counter += total;
    return sink(batch.get(), total * kChunkSize);
  }

  Status binary_finish() {
    switch (phase) {
      case Phase::header:
        return header_invalid("file ends inside the header");
      case Phase::nonce:
        return header_invalid("payload nonce missing or short");
      case Phase::done:
        return misuse("finish called twice");
      case Phase::payload:
        break;
    }
    phase = Phase::done;
    KP_ENSURE(ct_len > 0, "age-truncated", "payload has no chunks");
    KP_ENSURE(ct_len >= kTagSize, "age-payload-invalid", "final chunk shorter than its tag");
    KP_ENSURE(ct_len > kTagSize || counter == 0, "age-payload-invalid",
              "empty final chunk after non-empty chunks");
    if (open(ct.data(), ct_len, true)) return deliver(ct_len - kTagSize);
    if (ct_len == kChunkCipherSize && open(ct.data(), ct_len, false)) {
      KP_GUARD(deliver(kChunkSize));
      return make_error("age-truncated", "payload ends without a final chunk");
    }
    return payload_invalid("final payload chunk failed authentication");
  }
};

Decryptor::Decryptor(std::unique_ptr<State> s) : s_(std::move(s)) {}
Decryptor::Decryptor(Decryptor&&) noexcept = default;
Decryptor& Decryptor::operator=(Decryptor&&) noexcept = default;
Decryptor::~Decryptor() = default;  // State wipes the plaintext it held

Result<Decryptor> Decryptor::create(std::vector<const Identity*> identities, Sink sink,
                                    InputFormat format, Parallel* parallel) {
  KP_GUARD(sodium_ready());
  KP_ENSURE(static_cast<bool>(sink), "age-misuse", "no sink");
  auto st = std::make_unique<State>();
  st->ids = std::move(identities);
  st->sink = std::move(sink);
  st->format = format;
  st->parallel = parallel;
  return Decryptor(std::move(st));
}

Result<Decryptor> Decryptor::for_payload(const uint8_t* payload_key, Sink sink, Parallel* parallel) {
  KP_GUARD(sodium_ready());
  KP_ENSURE(static_cast<bool>(sink) && payload_key != nullptr, "age-misuse", "no sink or key");
  auto st = std::make_unique<State>();
  st->sink = std::move(sink);
  st->parallel = parallel;
  st->format = InputFormat::binary;
  st->payload_key = SecretBytes(kKeySize);
  KP_ENSURE(st->payload_key.valid(), "age-payload-invalid", "cannot allocate secure memory");
  std::memcpy(st->payload_key.data(), payload_key, kKeySize);
  KP_ENSURE(st->aead.init(st->payload_key.data(), false), "crypto-init-failed",
            "libcrypto has no ChaCha20-Poly1305");
  st->ct.resize(kChunkCipherSize);
  st->pt.resize(kChunkSize);
  st->phase = State::Phase::payload;
  return Decryptor(std::move(st));
}

Status Decryptor::feed(const uint8_t* p, std::size_t n) {
  if (!s_) return misuse("decryptor was moved from");
  if (s_->failed) return s_->error;
  if (s_->finished) return misuse("feed after finish");
  Status st = s_->feed(p, n);
  if (!st.ok()) {
    s_->failed = true;
    s_->error = st.error();
  }
  return st;
}

Status Decryptor::finish() {
  if (!s_) return misuse("decryptor was moved from");
  if (s_->failed) return s_->error;
  if (s_->finished) return misuse("finish called twice");
  s_->finished = true;
  Status st = s_->finish();
  if (!st.ok()) {
    s_->failed = true;
    s_->error = st.error();
  }
  return st;
}

Status decrypt_stream(const std::vector<const Identity*>& identities, const Source& source,
                      const Sink& sink, InputFormat format) {
  KP_ENSURE(static_cast<bool>(source), "age-misuse", "no source");
  KP_TRY(Decryptor d, Decryptor::create(identities, sink, format));
  // Several chunks a read, so most chunks are opened straight from here.
  std::vector<uint8_t> buf(4 * kChunkCipherSize);
  for (;;) {
    KP_TRY(std::size_t got, source(buf.data(), buf.size()));
    KP_ENSURE(got <= buf.size(), "age-misuse", "source returned more than asked");
    if (got == 0) break;
    KP_GUARD(d.feed(buf.data(), got));
  }
  return d.finish();
}

Status encrypt_stream(const std::vector<PublicKey>& recipients, const Source& source,
                      const Sink& sink) {
  KP_ENSURE(static_cast<bool>(source), "age-misuse", "no source");
  KP_TRY(Encryptor e, Encryptor::start(recipients, sink));
  std::vector<uint8_t> buf(4 * kChunkSize);
  Status st;
  for (;;) {
    auto got = source(buf.data(), buf.size());
    if (!got.ok()) {
      st = got.error();
      break;
    }
    KP_ENSURE(*got <= buf.size(), "age-misuse", "source returned more than asked");
    if (*got == 0) break;
    st = e.write(buf.data(), *got);
    if (!st.ok()) break;
  }
  sodium_memzero(buf.data(), buf.size());
  KP_GUARD(st);
  return e.finish();
}

}  // namespace kp::age
