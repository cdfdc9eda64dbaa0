// minisign keys and signatures, byte-compatible with the `minisign` CLI.
//
// knooppunt signs manifests, receipts and SIPs with minisign so that a
// municipality can check them with the stock tool, and it checks the
// manifest signatures municipalities make with theirs. This unit reads and
// writes the three minisign files:
//
//   public key   "untrusted comment: <text>\n" base64("Ed" || keyid(8) || pk(32)) "\n"
//   secret key   "untrusted comment: <text>\n" base64("Ed" || kdf(2) || "B2" ||
//                salt(32) || opslimit(8 LE) || memlimit(8 LE) ||
//                keyid(8) || sk(64) || checksum(32)) "\n"
//   signature    "untrusted comment: <text>\n" base64(alg(2) || keyid(8) || sig(64)) "\n"
//                "trusted comment: <text>\n" base64(global_sig(64)) "\n"
//
// Signatures are always produced in the prehashed "ED" form: Ed25519 over
// BLAKE2b-512 of the data, so that a gigabyte upload is hashed once in a
// stream. The legacy "Ed" form (Ed25519 over the raw data) is accepted on
// verification only. The global signature is Ed25519 over
// sig(64) || trusted comment, which is what makes the trusted comment
// trusted.
//
// Secret keys are read unencrypted (kdf bytes zero, as written by
// `minisign -G -W`) or, given the password, password-protected (scrypt, as
// `minisign -G` writes them); without the password such a key is refused
// with "key-encrypted".
// We write the BLAKE2b-256 checksum minisign defines for the key (minisign
// itself leaves it zero for -W keys and ignores it when reading unencrypted
// keys); on reading we accept a zero checksum, verify a non-zero one, and in
// both cases check that the public half of the secret key matches its seed.
//
// Error codes: "key-malformed", "key-encrypted", "signature-malformed",
// "signature-key-mismatch", "signature-invalid", "comment-invalid",
// "signature-legacy-too-large", "crypto-init-failed".
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <optional>
#include <string_view>

#include "common/handles.h"
#include "common/result.h"

namespace kp::minisign {

inline constexpr std::size_t kKeyIdBytes = 8;
inline constexpr std::size_t kPublicKeyBytes = 32;   // Ed25519 public key
inline constexpr std::size_t kSecretKeyBytes = 64;   // libsodium layout: seed(32) || pk(32)
inline constexpr std::size_t kSignatureBytes = 64;
inline constexpr std::size_t kPrehashBytes = 64;     // BLAKE2b-512
// Longest comments the minisign CLI reads back intact (its line buffers are
// 1024 and 8192 bytes including prefix, newline and terminator).
inline constexpr std::size_t kMaxUntrustedComment = 1003;
inline constexpr std::size_t kMaxTrustedComment = 8173;
// A legacy ("Ed") signature needs the whole message in memory; beyond this
// the streaming verifier refuses rather than grow without bound.
inline constexpr std::size_t kMaxLegacyMessage = 64u << 20;

inline constexpr std::string_view kDefaultSignatureComment = "signature from minisign secret key";

using KeyId = std::array<uint8_t, kKeyIdBytes>;
using PublicKeyBytes = std::array<uint8_t, kPublicKeyBytes>;
using SignatureBytes = std::array<uint8_t, kSignatureBytes>;
using Prehash = std::array<uint8_t, kPrehashBytes>;

struct PublicKey {
  KeyId key_id{};
  PublicKeyBytes pk{};
};

// A secret key: the key id and the 64-byte libsodium Ed25519 secret key
// (seed || public key) in sodium_malloc'd memory.
struct SecretKey {
  KeyId key_id{};
  SecretBytes sk;

  // The matching public key (the upper half of sk). Requires sk.size() == 64.
  PublicKey public_key() const;
};

// The key id as minisign prints it: the id read as a little-endian integer,
// in uppercase hex without leading zeros ("minisign public key 3AC59A8E13221989",
// "... 2667EAA64F2940A" for an id whose top digit is zero).
std::string key_id_hex(const KeyId& id);

// A fresh random key pair and key id. Fails only if libsodium cannot start
// or secure memory cannot be allocated ("crypto-init-failed").
Result<SecretKey> generate();

// The two-line public key file with minisign's own comment line
// ("untrusted comment: minisign public key <KEYID>").
std::string format_public_key(const PublicKey& key);
// Just the base64 line (what `minisign -P` takes).
std::string public_key_base64(const PublicKey& key);

// Parses a public key file (untrusted comment line + base64 line) or a bare
// base64 line as given to `minisign -P`. Trailing CR/LF are tolerated.
// Errors: "key-malformed" (wrong length, algorithm, base64, extra lines).
Result<PublicKey> parse_public_key(std::string_view text);

// The secret key file text, unencrypted, in secure memory (the text holds
// the key in base64, so it must not linger in an ordinary std::string).
// Errors: "crypto-init-failed", "key-malformed" (sk not 64 bytes).
Result<SecretBytes> format_secret_key(const SecretKey& key);

// Parses an unencrypted secret key file as written by `minisign -G -W` or
// by format_secret_key. Errors: "key-encrypted" (scrypt-protected key),
// "key-malformed" (anything else wrong, including a bad checksum or a
// public half that does not match the seed), "crypto-init-failed".
Result<SecretKey> parse_secret_key(std::string_view text);

// The same for a key file that may be password-protected (`minisign -G`
// without -W: scrypt, salt and limits in the file): with `password` an
// encrypted key is opened ("key-password-wrong" when the checksum then
// fails); without, it is "key-encrypted". An unencrypted key ignores the
// password.
Result<SecretKey> parse_secret_key(std::string_view text, std::optional<std::string_view> password);

// A parsed signature file.
struct Signature {
  bool prehashed = true;  // "ED" (true) or legacy "Ed" (false)
  KeyId key_id{};
  SignatureBytes sig{};
  std::string untrusted_comment;  // without the "untrusted comment: " prefix
  std::string trusted_comment;    // without the "trusted comment: " prefix
  SignatureBytes global_sig{};
};

// Parses the four-line signature file. Lines may end in LF or CRLF; the
// final newline is optional; nothing may follow the fourth line. Errors:
// "signature-malformed" (also for comments too long or holding NUL).
Result<Signature> parse_signature(std::string_view text);
// The four-line file, each line ending in LF.
std::string format_signature(const Signature& sig);

// BLAKE2b-512 of a message given in pieces: the "ED" prehash.
class Hasher {
 public:
  Hasher();
  void update(const void* p, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // The digest; the hasher must not be used afterwards.
  Prehash finish();

 private:
  crypto_generichash_state st_;
};

// Signs a prehash with `key` and returns the signature file text.
// `trusted_comment` is signed by the global signature; both comments must
// be free of CR, LF and NUL and within the limits above
// ("comment-invalid"). Errors also "key-malformed", "crypto-init-failed".
Result<std::string> sign_prehash(const SecretKey& key, const Prehash& digest,
                                 std::string_view trusted_comment,
                                 std::string_view untrusted_comment = kDefaultSignatureComment);

// Convenience: signs a whole buffer (prehashed "ED").
Result<std::string> sign(const SecretKey& key, std::string_view data, std::string_view trusted_comment,
                         std::string_view untrusted_comment = kDefaultSignatureComment);

// Streaming verification. create() parses the signature file and checks
// that it was made by `key` (so a large file is not hashed in vain);
// update() takes the data in pieces; finish() checks the data signature
// and then the global signature, and returns the trusted comment.
class Verifier {
 public:
  // Errors: "signature-malformed", "signature-key-mismatch", "crypto-init-failed".
  static Result<Verifier> create(const PublicKey& key, std::string_view signature_text);

  void update(const void* p, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }

  // The trusted comment if both signatures hold. Errors: "signature-invalid",
  // "signature-legacy-too-large" (legacy signature over more than
  // kMaxLegacyMessage bytes). Call once.
  Result<std::string> finish();

 private:
  Verifier(const PublicKey& key, Signature sig);
  PublicKey key_;
  Signature sig_;
  Hasher hasher_;
  std::string legacy_data_;  // the message, for legacy "Ed" signatures only
  bool legacy_overflow_ = false;
};

// Convenience: verifies a signature over a whole buffer and returns the
// trusted comment. Errors as Verifier::create and Verifier::finish.
Result<std::string> verify(const PublicKey& key, std::string_view data, std::string_view signature_text);

}  // namespace kp::minisign
