// C2SP signed notes with Ed25519; see signed_note.h for the format and the
// verification rules. Parsing checks the whole note (encoding, structure,
// every signature line) before a single signature is verified.
#include "common/base64.h"
#include "keys/signed_note.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "common/digest.h"

namespace kp::note {
namespace {

constexpr std::string_view kDash = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::string_view kPrivatePrefix = "PRIVATE+KEY+";
constexpr std::size_t kSeedBytes = 32;
constexpr std::size_t kSigBytes = 64;
// Longest signature we decode (key id + a post-quantum signature of ~5 kB).
constexpr std::size_t kMaxSigBytes = 8192;

Status ensure_sodium() {
  KP_ENSURE(sodium_init() >= 0, "crypto-init-failed", "libsodium could not be initialised");
  return ok_status();
}

bool known_alg(uint8_t alg) { return alg == kAlgEd25519 || alg == kAlgCosignatureV1; }

std::string hex32(uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) s[std::size_t(i)] = digits[v & 15];
  return s;
}

bool parse_hex32(std::string_view s, uint32_t& v) {
  if (s.size() != 8) return false;
  v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = (v << 4) | uint32_t(d);
  }
  return true;
}

// Decodes one UTF-8 code point at s[i]; returns its length or 0 when the
// bytes are not well-formed UTF-8 (overlong, surrogate, beyond U+10FFFF).
std::size_t utf8_next(std::string_view s, std::size_t i, uint32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t c = b(0);
  std::size_t n;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

bool is_unicode_space(uint32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// Valid UTF-8 with no control characters other than LF (the note rule).
bool valid_note_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    std::size_t n = utf8_next(s, i, cp);
    if (n == 0) return false;
    if (cp < 0x20 && cp != '\n') return false;
    i += n;
  }
  return true;
}

std::string signature_line(std::string_view name, uint32_t id, const uint8_t* sig, std::size_t n) {
  std::vector<uint8_t> raw = {uint8_t(id >> 24), uint8_t(id >> 16), uint8_t(id >> 8), uint8_t(id)};
  raw.insert(raw.end(), sig, sig + n);
  return std::string(kDash) + std::string(name) + " " + base64_encode(raw.data(), raw.size()) + "\n";
}

Status check_signable(std::string_view text, const SignerKey& key) {
  KP_ENSURE(valid_key_name(key.name), "key-name-invalid", "key name is empty or holds spaces or '+'");
  KP_ENSURE(key.sk.valid() && key.sk.size() == crypto_sign_SECRETKEYBYTES, "key-malformed",
            "signer key must be 64 bytes");
  KP_ENSURE(key.alg == kAlgEd25519, "key-malformed", "a cosigner key does not sign notes");
  KP_ENSURE(!text.empty() && text.back() == '\n', "note-malformed", "note text must end in a newline");
  KP_ENSURE(text.size() < kMaxNoteBytes, "note-malformed", "note text is too large");
  KP_ENSURE(valid_note_text(text), "note-malformed", "note text must be UTF-8 without control characters");
  return ok_status();
}

std::string sign_line(std::string_view text, const SignerKey& key) {
  uint8_t sig[kSigBytes];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                       key.sk.data());
  return signature_line(key.name, key.key_id, sig, sizeof sig);
}

}  // namespace

VerifierKey SignerKey::verifier() const {
  VerifierKey v;
  v.name = name;
  v.key_id = key_id;
  v.alg = alg;
  std::memcpy(v.pk.data(), sk.data() + kSeedBytes, v.pk.size());
  return v;
}

bool valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size();) {
    uint32_t cp = 0;
    std::size_t n = utf8_next(name, i, cp);
    if (n == 0 || cp == '+' || cp < 0x20 || cp == 0x7F || is_unicode_space(cp)) return false;
    i += n;
  }
  return true;
}

uint32_t key_id(std::string_view name, const PublicKeyBytes& pk, uint8_t alg) {
  Sha256 h;
  h.update(name);
  const uint8_t sep[2] = {0x0A, alg};
  h.update(sep, sizeof sep);
  h.update(pk.data(), pk.size());
  Sha256Digest d = h.finish();
  return (uint32_t(d[0]) << 24) | (uint32_t(d[1]) << 16) | (uint32_t(d[2]) << 8) | uint32_t(d[3]);
}

Result<SignerKey> generate(std::string_view name, uint8_t alg) {
  KP_GUARD(ensure_sodium());
  KP_ENSURE(valid_key_name(name), "key-name-invalid", "key name is empty or holds spaces or '+'");
  KP_ENSURE(known_alg(alg), "key-malformed", "unknown key type");
  SignerKey key;
  key.alg = alg;
  key.name = std::string(name);
  key.sk = SecretBytes(crypto_sign_SECRETKEYBYTES);
  KP_ENSURE(key.sk.valid(), "crypto-init-failed", "cannot allocate secure memory");
  PublicKeyBytes pk{};
  crypto_sign_keypair(pk.data(), key.sk.data());
  key.key_id = key_id(name, pk, alg);
  return key;
}

std::string format_verifier_key(const VerifierKey& key) {
  uint8_t raw[1 + 32];
  raw[0] = key.alg;
  std::memcpy(raw + 1, key.pk.data(), 32);
  return key.name + "+" + hex32(key.key_id) + "+" + base64_encode(raw, sizeof raw);
}

Result<VerifierKey> parse_verifier_key(std::string_view text) {
  KP_ENSURE(text.size() <= 4096, "key-malformed", "verifier key is too long");
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const std::size_t p1 = text.find('+');
  KP_ENSURE(p1 != std::string_view::npos, "key-malformed", "verifier key is name+id+key");
  const std::size_t p2 = text.find('+', p1 + 1);
  KP_ENSURE(p2 != std::string_view::npos, "key-malformed", "verifier key is name+id+key");
  VerifierKey key;
  key.name = std::string(text.substr(0, p1));
  KP_ENSURE(valid_key_name(key.name), "key-malformed", "verifier key name is invalid");
  KP_ENSURE(parse_hex32(text.substr(p1 + 1, p2 - p1 - 1), key.key_id), "key-malformed",
            "verifier key id is not 8 hex digits");
  uint8_t raw[1 + 32];
  std::size_t len = 0;
  KP_ENSURE(base64_decode(text.substr(p2 + 1), raw, sizeof raw, len) && len == sizeof raw, "key-malformed",
            "verifier key is not base64 of 33 bytes");
  KP_ENSURE(known_alg(raw[0]), "key-malformed", "verifier key is not an Ed25519 key");
  key.alg = raw[0];
  std::memcpy(key.pk.data(), raw + 1, 32);
  KP_ENSURE(key_id(key.name, key.pk, key.alg) == key.key_id, "key-malformed", "verifier key id does not match the key");
  return key;
}

Result<SecretBytes> format_signer_key(const SignerKey& key) {
  KP_GUARD(ensure_sodium());
  KP_ENSURE(key.sk.valid() && key.sk.size() == crypto_sign_SECRETKEYBYTES, "key-malformed",
            "signer key must be 64 bytes");
  KP_ENSURE(valid_key_name(key.name), "key-name-invalid", "key name is empty or holds spaces or '+'");
  SecretBytes raw(1 + kSeedBytes);
  KP_ENSURE(raw.valid(), "crypto-init-failed", "cannot allocate secure memory");
  raw.data()[0] = key.alg;
  std::memcpy(raw.data() + 1, key.sk.data(), kSeedBytes);  // libsodium sk = seed || pk

  const std::string head = std::string(kPrivatePrefix) + key.name + "+" + hex32(key.key_id) + "+";
  const std::size_t b64_size = sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL);
  SecretBytes text(head.size() + b64_size - 1);  // no NUL in the result
  SecretBytes b64(b64_size);
  KP_ENSURE(text.valid() && b64.valid(), "crypto-init-failed", "cannot allocate secure memory");
  sodium_bin2base64(reinterpret_cast<char*>(b64.data()), b64_size, raw.data(), raw.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  std::memcpy(text.data(), head.data(), head.size());
  std::memcpy(text.data() + head.size(), b64.data(), b64_size - 1);
  return text;
}

Result<SignerKey> parse_signer_key(std::string_view text) {
  KP_GUARD(ensure_sodium());
  KP_ENSURE(text.size() <= 4096, "key-malformed", "signer key is too long");
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  KP_ENSURE(text.starts_with(kPrivatePrefix), "key-malformed", "signer key must start with PRIVATE+KEY+");
  text.remove_prefix(kPrivatePrefix.size());
  const std::size_t p1 = text.find('+');
  KP_ENSURE(p1 != std::string_view::npos, "key-malformed", "signer key is PRIVATE+KEY+name+id+key");
  const std::size_t p2 = text.find('+', p1 + 1);
  KP_ENSURE(p2 != std::string_view::npos, "key-malformed", "signer key is PRIVATE+KEY+name+id+key");
  SignerKey key;
  key.name = std::string(text.substr(0, p1));
  KP_ENSURE(valid_key_name(key.name), "key-malformed", "signer key name is invalid");
  KP_ENSURE(parse_hex32(text.substr(p1 + 1, p2 - p1 - 1), key.key_id), "key-malformed",
            "signer key id is not 8 hex digits");
  SecretBytes raw(1 + kSeedBytes);
  key.sk = SecretBytes(crypto_sign_SECRETKEYBYTES);
  KP_ENSURE(raw.valid() && key.sk.valid(), "crypto-init-failed", "cannot allocate secure memory");
  std::size_t len = 0;
  KP_ENSURE(base64_decode(text.substr(p2 + 1), raw.data(), raw.size(), len) && len == raw.size(), "key-malformed",
            "signer key is not base64 of 33 bytes");
  KP_ENSURE(known_alg(raw.data()[0]), "key-malformed", "signer key is not an Ed25519 key");
  key.alg = raw.data()[0];
  PublicKeyBytes pk{};
  crypto_sign_seed_keypair(pk.data(), key.sk.data(), raw.data() + 1);
  KP_ENSURE(key_id(key.name, pk, key.alg) == key.key_id, "key-malformed", "signer key id does not match the key");
  return key;
}

Result<Note> parse(std::string_view note) {
  KP_ENSURE(note.size() <= kMaxNoteBytes, "note-malformed", "note is too large");
  KP_ENSURE(valid_note_text(note), "note-malformed", "note must be UTF-8 without control characters");
  KP_ENSURE(!note.empty() && note.back() == '\n', "note-malformed", "note must end in a newline");
  const std::size_t split = note.rfind("\n\n");
  KP_ENSURE(split != std::string_view::npos, "note-malformed", "note has no blank line before its signatures");
  Note out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  KP_ENSURE(!sigs.empty(), "note-malformed", "note has no signatures");
  std::vector<uint8_t> buf(kMaxSigBytes);
  while (!sigs.empty()) {
    const std::size_t nl = sigs.find('\n');  // present: the note ends in LF
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    KP_ENSURE(out.signatures.size() < kMaxSignatures, "note-malformed", "note has too many signatures");
    KP_ENSURE(line.starts_with(kDash), "note-malformed", "signature line must start with an em dash and a space");
    line.remove_prefix(kDash.size());
    const std::size_t sp = line.find(' ');
    KP_ENSURE(sp != std::string_view::npos, "note-malformed", "signature line is name and signature");
    NoteSignature s;
    s.name = std::string(line.substr(0, sp));
    KP_ENSURE(valid_key_name(s.name), "note-malformed", "signature key name is invalid");
    std::size_t len = 0;
    KP_ENSURE(base64_decode(line.substr(sp + 1), buf.data(), buf.size(), len) && len > 4, "note-malformed",
              "signature is not base64 of a key id and a signature");
    s.key_id = (uint32_t(buf[0]) << 24) | (uint32_t(buf[1]) << 16) | (uint32_t(buf[2]) << 8) | uint32_t(buf[3]);
    s.sig.assign(buf.begin() + 4, buf.begin() + std::ptrdiff_t(len));
    out.signatures.push_back(std::move(s));
  }
  return out;
}

Result<std::string> sign(std::string_view text, const SignerKey& key) {
  KP_GUARD(ensure_sodium());
  KP_GUARD(check_signable(text, key));
  return std::string(text) + "\n" + sign_line(text, key);
}

Result<std::string> add_signature(std::string_view note, const SignerKey& key) {
  KP_GUARD(ensure_sodium());
  KP_TRY(Note n, parse(note));
  KP_GUARD(check_signable(n.text, key));
  std::string out = n.text + "\n";
  for (const NoteSignature& s : n.signatures) {
    if (s.name == key.name && s.key_id == key.key_id) continue;  // replaced below
    out += signature_line(s.name, s.key_id, s.sig.data(), s.sig.size());
  }
  out += sign_line(n.text, key);
  KP_ENSURE(out.size() <= kMaxNoteBytes, "note-malformed", "note would be too large");
  return out;
}

Result<std::string> open(std::string_view note, const VerifierKey& key) {
  KP_GUARD(ensure_sodium());
  KP_TRY(Note n, parse(note));
  bool verified = false;
  KP_ENSURE(key.alg == kAlgEd25519, "key-malformed", "a cosigner key does not verify note signatures");
  for (const NoteSignature& s : n.signatures) {
    if (s.name != key.name || s.key_id != key.key_id) continue;  // unknown key: ignored
    KP_ENSURE(s.sig.size() == kSigBytes &&
                  crypto_sign_verify_detached(s.sig.data(), reinterpret_cast<const unsigned char*>(n.text.data()),
                                              n.text.size(), key.pk.data()) == 0,
              "note-signature-invalid", "signature by " + key.name + " does not verify");
    verified = true;
  }
  KP_ENSURE(verified, "note-unverified", "note is not signed by " + key.name);
  return std::move(n.text);
}

}  // namespace kp::note
