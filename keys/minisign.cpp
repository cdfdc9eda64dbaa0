// minisign key, secret key and signature files; see minisign.h for the
// layouts. Parsing is strict (exact lengths, canonical base64, known
// algorithm bytes, bounded comments) and happens completely before any
// signature is checked.
#include "common/base64.h"
#include "keys/minisign.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace kp::minisign {
namespace {

constexpr std::string_view kUntrustedPrefix = "untrusted comment: ";
constexpr std::string_view kTrustedPrefix = "trusted comment: ";
constexpr uint8_t kAlgEd[2] = {'E', 'd'};      // key algorithm, legacy signature
constexpr uint8_t kAlgHashed[2] = {'E', 'D'};  // prehashed signature
constexpr uint8_t kKdfScrypt[2] = {'S', 'c'};
constexpr uint8_t kKdfNone[2] = {0, 0};
constexpr uint8_t kChkBlake2[2] = {'B', '2'};

constexpr std::size_t kChecksumBytes = 32;
constexpr std::size_t kPublicStructBytes = 2 + kKeyIdBytes + kPublicKeyBytes;  // 42
constexpr std::size_t kSignatureStructBytes = 2 + kKeyIdBytes + kSignatureBytes;  // 74
// alg(2) kdf(2) chk(2) salt(32) ops(8) mem(8) keyid(8) sk(64) chk(32)
constexpr std::size_t kKeyIdOff = 6 + 32 + 8 + 8;                    // 54
constexpr std::size_t kSkOff = kKeyIdOff + kKeyIdBytes;               // 62
constexpr std::size_t kChkOff = kSkOff + kSecretKeyBytes;             // 126
constexpr std::size_t kSecretStructBytes = kChkOff + kChecksumBytes;  // 158
// No legitimate minisign file comes near these; they bound the work done
// on hostile input before any parsing.
constexpr std::size_t kMaxKeyFile = 4096;
constexpr std::size_t kMaxSignatureFile = 16384;

Status ensure_sodium() {
  KP_ENSURE(sodium_init() >= 0, "crypto-init-failed", "libsodium could not be initialised");
  return ok_status();
}

// Decodes canonical padded base64 of exactly `n` bytes into `out`; false on
// anything else (wrong length, stray characters, non-zero padding bits).
bool b64_decode_exact(std::string_view in, uint8_t* out, std::size_t n) {
  std::size_t len = 0;
  if (in.size() != sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) - 1) return false;
  return base64_decode(in, out, n, len) && len == n;
}

// Splits text into lines on LF, dropping one CR before each LF (minisign
// trims CR/LF from every line it reads). A final line without LF counts;
// an empty tail after the last LF does not.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

bool comment_ok(std::string_view c, std::size_t max) {
  if (c.size() > max) return false;
  return std::none_of(c.begin(), c.end(), [](char ch) { return ch == '\0' || ch == '\r' || ch == '\n'; });
}

void blake2b_256_checksum(const uint8_t* key_id, const uint8_t* sk, uint8_t out[kChecksumBytes]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kChecksumBytes);
  crypto_generichash_update(&st, kAlgEd, 2);
  crypto_generichash_update(&st, key_id, kKeyIdBytes);
  crypto_generichash_update(&st, sk, kSecretKeyBytes);
  crypto_generichash_final(&st, out, kChecksumBytes);
  sodium_memzero(&st, sizeof st);
}

}  // namespace

PublicKey SecretKey::public_key() const {
  PublicKey pk;
  pk.key_id = key_id;
  std::memcpy(pk.pk.data(), sk.data() + 32, kPublicKeyBytes);
  return pk;
}

std::string key_id_hex(const KeyId& id) {
  static const char* digits = "0123456789ABCDEF";
  std::string s;
  for (std::size_t i = kKeyIdBytes; i-- > 0;) {  // little-endian integer, printed big-endian
    s.push_back(digits[id[i] >> 4]);
    s.push_back(digits[id[i] & 15]);
  }
  // minisign prints the id with "%" PRIX64: no leading zeros. Users compare it with minisign's own output.
  const auto first = s.find_first_not_of('0');
  return first == std::string::npos ? "0" : s.substr(first);
}

Result<SecretKey> generate() {
  KP_GUARD(ensure_sodium());
  SecretKey key;
  key.sk = SecretBytes(kSecretKeyBytes);
  KP_ENSURE(key.sk.valid(), "crypto-init-failed", "cannot allocate secure memory");
  randombytes_buf(key.key_id.data(), key.key_id.size());
  PublicKeyBytes pk{};
  crypto_sign_keypair(pk.data(), key.sk.data());
  return key;
}

std::string public_key_base64(const PublicKey& key) {
  uint8_t buf[kPublicStructBytes];
  std::memcpy(buf, kAlgEd, 2);
  std::memcpy(buf + 2, key.key_id.data(), kKeyIdBytes);
  std::memcpy(buf + 2 + kKeyIdBytes, key.pk.data(), kPublicKeyBytes);
  return base64_encode(buf, sizeof buf);
}

std::string format_public_key(const PublicKey& key) {
  return std::string(kUntrustedPrefix) + "minisign public key " + key_id_hex(key.key_id) + "\n" +
         public_key_base64(key) + "\n";
}

Result<PublicKey> parse_public_key(std::string_view text) {
  KP_ENSURE(text.size() <= kMaxKeyFile, "key-malformed", "public key file is too large");
  auto lines = split_lines(text);
  std::string_view b64;
  if (lines.size() == 1) {
    b64 = lines[0];
  } else {
    KP_ENSURE(lines.size() == 2, "key-malformed", "a public key file has two lines");
    KP_ENSURE(lines[0].starts_with("untrusted comment:"), "key-malformed",
              "first line must start with \"untrusted comment:\"");
    b64 = lines[1];
  }
  uint8_t buf[kPublicStructBytes];
  KP_ENSURE(b64_decode_exact(b64, buf, sizeof buf), "key-malformed",
            "public key is not base64 of 42 bytes");
  KP_ENSURE(std::memcmp(buf, kAlgEd, 2) == 0, "key-malformed", "unsupported public key algorithm");
  PublicKey key;
  std::memcpy(key.key_id.data(), buf + 2, kKeyIdBytes);
  std::memcpy(key.pk.data(), buf + 2 + kKeyIdBytes, kPublicKeyBytes);
  return key;
}

Result<SecretBytes> format_secret_key(const SecretKey& key) {
  KP_GUARD(ensure_sodium());
  KP_ENSURE(key.sk.valid() && key.sk.size() == kSecretKeyBytes, "key-malformed",
            "secret key must be 64 bytes");
  SecretBytes raw(kSecretStructBytes);
  KP_ENSURE(raw.valid(), "crypto-init-failed", "cannot allocate secure memory");
  uint8_t* r = raw.data();
  std::memset(r, 0, kSecretStructBytes);  // kdf, salt and limits stay zero: unencrypted
  std::memcpy(r, kAlgEd, 2);
  std::memcpy(r + 2, kKdfNone, 2);
  std::memcpy(r + 4, kChkBlake2, 2);
  std::memcpy(r + kKeyIdOff, key.key_id.data(), kKeyIdBytes);
  std::memcpy(r + kSkOff, key.sk.data(), kSecretKeyBytes);
  blake2b_256_checksum(r + kKeyIdOff, r + kSkOff, r + kChkOff);

  static constexpr std::string_view head = "untrusted comment: minisign unencrypted secret key\n";
  const std::size_t b64_len = sodium_base64_ENCODED_LEN(kSecretStructBytes, sodium_base64_VARIANT_ORIGINAL);
  // head + base64 (b64_len includes sodium's NUL, which the LF replaces)
  SecretBytes text(head.size() + b64_len);
  KP_ENSURE(text.valid(), "crypto-init-failed", "cannot allocate secure memory");
  std::memcpy(text.data(), head.data(), head.size());
  sodium_bin2base64(reinterpret_cast<char*>(text.data() + head.size()), b64_len, r, kSecretStructBytes,
                    sodium_base64_VARIANT_ORIGINAL);
  text.data()[text.size() - 1] = '\n';
  return text;
}

Result<SecretKey> parse_secret_key(std::string_view text) { return parse_secret_key(text, std::nullopt); }

Result<SecretKey> parse_secret_key(std::string_view text, std::optional<std::string_view> password) {
  KP_GUARD(ensure_sodium());
  KP_ENSURE(text.size() <= kMaxKeyFile, "key-malformed", "secret key file is too large");
  auto lines = split_lines(text);
  KP_ENSURE(lines.size() == 2, "key-malformed", "a secret key file has two lines");
  KP_ENSURE(lines[0].starts_with("untrusted comment:"), "key-malformed",
            "first line must start with \"untrusted comment:\"");
  SecretBytes raw(kSecretStructBytes);
  KP_ENSURE(raw.valid(), "crypto-init-failed", "cannot allocate secure memory");
  uint8_t* r = raw.data();
  KP_ENSURE(b64_decode_exact(lines[1], raw.data(), kSecretStructBytes), "key-malformed",
            "secret key is not base64 of 158 bytes");
  KP_ENSURE(std::memcmp(r, kAlgEd, 2) == 0, "key-malformed", "unsupported signature algorithm");
  KP_ENSURE(std::memcmp(r + 4, kChkBlake2, 2) == 0, "key-malformed", "unsupported checksum algorithm");
  const bool encrypted = std::memcmp(r + 2, kKdfScrypt, 2) == 0;
  KP_ENSURE(!encrypted || password, "key-encrypted",
            "secret key is password-protected; give its password (--password-file, or type it when asked)");
  KP_ENSURE(encrypted || sodium_memcmp(r + 2, kKdfNone, 2) == 0, "key-malformed", "unsupported key derivation");
  if (encrypted) {
    // minisign: scrypt(password, salt, opslimit, memlimit) gives a stream
    // XORed over key id, secret key and checksum.
    uint64_t ops = 0, mem = 0;
    for (int i = 7; i >= 0; --i) ops = (ops << 8) | r[6 + 32 + i];
    for (int i = 7; i >= 0; --i) mem = (mem << 8) | r[6 + 32 + 8 + i];
    // Bounds against a hostile key file (minisign writes 2^25 and 1 GiB).
    KP_ENSURE(ops <= (1ULL << 32) && mem <= (4ULL << 30), "key-malformed", "the key's scrypt limits are too high");
    constexpr std::size_t kStream = kSecretStructBytes - kKeyIdOff;  // key id, sk, checksum
    SecretBytes stream(kStream);
    KP_ENSURE(stream.valid(), "crypto-init-failed", "cannot allocate secure memory");
    KP_ENSURE(crypto_pwhash_scryptsalsa208sha256(stream.data(), kStream, password->data(), password->size(),
                                                 r + 6, ops, static_cast<std::size_t>(mem)) == 0,
              "crypto-init-failed", "scrypt failed (out of memory?)");
    for (std::size_t i = 0; i < kStream; ++i) r[kKeyIdOff + i] ^= stream.data()[i];
  }

  // minisign -W leaves the checksum zero; any other value must be right.
  uint8_t chk[kChecksumBytes];
  blake2b_256_checksum(r + kKeyIdOff, r + kSkOff, chk);
  const bool zero_chk = !encrypted && sodium_is_zero(r + kChkOff, kChecksumBytes) == 1;
  const bool good_chk = sodium_memcmp(chk, r + kChkOff, kChecksumBytes) == 0;
  sodium_memzero(chk, sizeof chk);
  KP_ENSURE(!encrypted || good_chk, "key-password-wrong", "the password does not open this secret key");
  KP_ENSURE(zero_chk || good_chk, "key-malformed", "secret key checksum does not match");

  // The public half must be the one derived from the seed, or every
  // signature made with this key would fail to verify.
  uint8_t derived_pk[kPublicKeyBytes];
  SecretBytes derived_sk(kSecretKeyBytes);
  KP_ENSURE(derived_sk.valid(), "crypto-init-failed", "cannot allocate secure memory");
  crypto_sign_seed_keypair(derived_pk, derived_sk.data(), r + kSkOff);
  KP_ENSURE(sodium_memcmp(derived_pk, r + kSkOff + 32, kPublicKeyBytes) == 0, "key-malformed",
            "secret key's public half does not match its seed");

  SecretKey key;
  std::memcpy(key.key_id.data(), r + kKeyIdOff, kKeyIdBytes);
  key.sk = std::move(derived_sk);
  return key;
}

Result<Signature> parse_signature(std::string_view text) {
  KP_ENSURE(text.size() <= kMaxSignatureFile, "signature-malformed", "signature file is too large");
  auto lines = split_lines(text);
  KP_ENSURE(lines.size() == 4, "signature-malformed", "a signature file has four lines");
  Signature sig;

  KP_ENSURE(lines[0].starts_with(kUntrustedPrefix), "signature-malformed",
            "first line must start with \"untrusted comment: \"");
  sig.untrusted_comment = std::string(lines[0].substr(kUntrustedPrefix.size()));
  // minisign reads the untrusted comment line into 1024 bytes; allow what it can.
  KP_ENSURE(comment_ok(sig.untrusted_comment, 1022 - kUntrustedPrefix.size()), "signature-malformed",
            "untrusted comment is too long or holds a NUL");

  uint8_t buf[kSignatureStructBytes];
  KP_ENSURE(b64_decode_exact(lines[1], buf, sizeof buf), "signature-malformed",
            "signature line is not base64 of 74 bytes");
  if (std::memcmp(buf, kAlgHashed, 2) == 0) {
    sig.prehashed = true;
  } else if (std::memcmp(buf, kAlgEd, 2) == 0) {
    sig.prehashed = false;
  } else {
    return make_error("signature-malformed", "unsupported signature algorithm");
  }
  std::memcpy(sig.key_id.data(), buf + 2, kKeyIdBytes);
  std::memcpy(sig.sig.data(), buf + 2 + kKeyIdBytes, kSignatureBytes);

  KP_ENSURE(lines[2].starts_with(kTrustedPrefix), "signature-malformed",
            "third line must start with \"trusted comment: \"");
  sig.trusted_comment = std::string(lines[2].substr(kTrustedPrefix.size()));
  KP_ENSURE(comment_ok(sig.trusted_comment, kMaxTrustedComment), "signature-malformed",
            "trusted comment is too long or holds a NUL");

  KP_ENSURE(b64_decode_exact(lines[3], sig.global_sig.data(), kSignatureBytes), "signature-malformed",
            "global signature is not base64 of 64 bytes");
  return sig;
}

std::string format_signature(const Signature& sig) {
  uint8_t buf[kSignatureStructBytes];
  std::memcpy(buf, sig.prehashed ? kAlgHashed : kAlgEd, 2);
  std::memcpy(buf + 2, sig.key_id.data(), kKeyIdBytes);
  std::memcpy(buf + 2 + kKeyIdBytes, sig.sig.data(), kSignatureBytes);
  std::string out;
  out += kUntrustedPrefix;
  out += sig.untrusted_comment;
  out += '\n';
  out += base64_encode(buf, sizeof buf);
  out += '\n';
  out += kTrustedPrefix;
  out += sig.trusted_comment;
  out += '\n';
  out += base64_encode(sig.global_sig.data(), kSignatureBytes);
  out += '\n';
  return out;
}

Hasher::Hasher() {
  // BLAKE2b works without it, but sodium_init selects the fastest implementation.
  [[maybe_unused]] int rc = sodium_init();
  crypto_generichash_init(&st_, nullptr, 0, kPrehashBytes);
}

void Hasher::update(const void* p, std::size_t n) {
  crypto_generichash_update(&st_, static_cast<const unsigned char*>(p), n);
}

Prehash Hasher::finish() {
  Prehash d{};
  crypto_generichash_final(&st_, d.data(), d.size());
  return d;
}

Result<std::string> sign_prehash(const SecretKey& key, const Prehash& digest, std::string_view trusted_comment,
                                 std::string_view untrusted_comment) {
  KP_GUARD(ensure_sodium());
  KP_ENSURE(key.sk.valid() && key.sk.size() == kSecretKeyBytes, "key-malformed",
            "secret key must be 64 bytes");
  KP_ENSURE(comment_ok(trusted_comment, kMaxTrustedComment), "comment-invalid",
            "trusted comment is too long or holds CR, LF or NUL");
  KP_ENSURE(comment_ok(untrusted_comment, kMaxUntrustedComment), "comment-invalid",
            "untrusted comment is too long or holds CR, LF or NUL");
  Signature sig;
  sig.prehashed = true;
  sig.key_id = key.key_id;
  sig.untrusted_comment = std::string(untrusted_comment);
  sig.trusted_comment = std::string(trusted_comment);
  crypto_sign_detached(sig.sig.data(), nullptr, digest.data(), digest.size(), key.sk.data());

  std::string global(reinterpret_cast<const char*>(sig.sig.data()), kSignatureBytes);
  global += trusted_comment;
  crypto_sign_detached(sig.global_sig.data(), nullptr, reinterpret_cast<const unsigned char*>(global.data()),
                       global.size(), key.sk.data());
  return format_signature(sig);
}

Result<std::string> sign(const SecretKey& key, std::string_view data, std::string_view trusted_comment,
                         std::string_view untrusted_comment) {
  Hasher h;
  h.update(data);
  return sign_prehash(key, h.finish(), trusted_comment, untrusted_comment);
}

Verifier::Verifier(const PublicKey& key, Signature sig) : key_(key), sig_(std::move(sig)) {}

Result<Verifier> Verifier::create(const PublicKey& key, std::string_view signature_text) {
  KP_GUARD(ensure_sodium());
  KP_TRY(Signature sig, parse_signature(signature_text));
  KP_ENSURE(sodium_memcmp(sig.key_id.data(), key.key_id.data(), kKeyIdBytes) == 0, "signature-key-mismatch",
            "signature was made with key " + key_id_hex(sig.key_id) + ", expected " + key_id_hex(key.key_id));
  return Verifier(key, std::move(sig));
}

void Verifier::update(const void* p, std::size_t n) {
  if (sig_.prehashed) {
    hasher_.update(p, n);
    return;
  }
  if (legacy_overflow_ || n > kMaxLegacyMessage - legacy_data_.size()) {
    legacy_overflow_ = true;
    return;
  }
  legacy_data_.append(static_cast<const char*>(p), n);
}

Result<std::string> Verifier::finish() {
  KP_ENSURE(!legacy_overflow_, "signature-legacy-too-large",
            "legacy (non-prehashed) signatures are only checked for small files");
  int rc;
  if (sig_.prehashed) {
    Prehash d = hasher_.finish();
    rc = crypto_sign_verify_detached(sig_.sig.data(), d.data(), d.size(), key_.pk.data());
  } else {
    rc = crypto_sign_verify_detached(sig_.sig.data(), reinterpret_cast<const unsigned char*>(legacy_data_.data()),
                                     legacy_data_.size(), key_.pk.data());
    legacy_data_.clear();
  }
  KP_ENSURE(rc == 0, "signature-invalid", "signature does not match the data");

  std::string global(reinterpret_cast<const char*>(sig_.sig.data()), kSignatureBytes);
  global += sig_.trusted_comment;
  rc = crypto_sign_verify_detached(sig_.global_sig.data(), reinterpret_cast<const unsigned char*>(global.data()),
                                   global.size(), key_.pk.data());
  KP_ENSURE(rc == 0, "signature-invalid", "trusted comment signature does not verify");
  return sig_.trusted_comment;
}

Result<std::string> verify(const PublicKey& key, std::string_view data, std::string_view signature_text) {
  KP_TRY(Verifier v, Verifier::create(key, signature_text));
  v.update(data);
  return v.finish();
}

}  // namespace kp::minisign
