// age v1 (age-encryption.org/v1) with X25519 recipients, on libsodium (keys,
// X25519, HKDF, header) and libcrypto (the payload's ChaCha20-Poly1305
// chunks: several times faster than libsodium 1.0.18's on this hardware).
//
// Every sealed form in knooppunt is an age file: signal packages arrive
// sealed to the intake identity, verified packages are resealed to staff,
// SIPs to a municipality. The format has to open with the stock `age` CLI,
// so this is a strict implementation of the spec as pinned down by the C2SP
// CCTV vectors: canonical unpadded base64, 64-column stanza bodies, LF only,
// header MAC = HMAC-SHA-256(HKDF(file key, "", "header"), header up to "---"),
// payload = STREAM ChaCha20-Poly1305 in 64 KiB chunks. Only X25519 stanzas
// are opened (no passphrases, plugins or post-quantum recipients); other
// stanzas are skipped as the spec requires, except that an "scrypt" stanza
// must stand alone. ASCII armor is accepted on input only; output is binary.
//
// Both directions stream with bounded memory (about 130 KiB per direction
// plus the header, which is capped at kMaxHeaderSize), so a 1 GiB upload
// never sits in memory. HKDF-SHA-256 is built from libsodium's HMAC-SHA-256
// because libsodium 1.0.18 has no HKDF API. Secret keys live in
// sodium_malloc'd kp::SecretBytes.
//
// Error codes (stable; callers log them as the refusal reason):
//   age-header-invalid   the header does not parse, an X25519 stanza is
//                        malformed or yields the all-zero secret, the header
//                        exceeds kMaxHeaderSize, or the payload nonce is cut
//   age-no-match         no stanza opens with the given identities
//   age-hmac-mismatch    a file key was found but the header MAC is wrong
//   age-payload-invalid  a payload chunk fails authentication or is malformed
//                        (short, or an empty final chunk after others)
//   age-truncated        the payload ends before a final chunk
//   age-trailing-data    bytes follow an authenticated final chunk
//   age-armor-invalid    the ASCII armor is malformed
//   age-identity-invalid / age-recipient-invalid   bad key strings
//   age-no-recipients    Encryptor::start with an empty recipient list
//   age-misuse           write/feed after finish or after an error
//   crypto-failed        libcrypto refused a cipher operation (should not happen)
// An error from a Sink or Source is passed through unchanged.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/handles.h"
#include "common/parallel.h"
#include "common/result.h"

namespace kp::age {

using PublicKey = std::array<uint8_t, 32>;

// Plaintext chunk size of the STREAM payload and its ciphertext size.
inline constexpr std::size_t kChunkSize = 64 * 1024;
inline constexpr std::size_t kChunkCipherSize = kChunkSize + 16;
// Hard cap on the text header (version line, stanzas, MAC line). An X25519
// stanza takes about 110 bytes, so this leaves room for hundreds.
inline constexpr std::size_t kMaxHeaderSize = 256 * 1024;

// An X25519 identity: the 32-byte secret scalar (in sodium_malloc'd memory)
// and its public key.
struct Identity {
  kp::SecretBytes secret;
  PublicKey public_key{};
};

// A fresh identity from libsodium's CSPRNG. Fails only if secure memory
// cannot be allocated ("age-identity-invalid").
Result<Identity> generate_identity();

// Parses the contents of an identity file as `age-keygen` writes it: lines
// starting with '#' and empty lines are ignored, CRLF is tolerated, and
// exactly one AGE-SECRET-KEY-1... line (uppercase Bech32, 32-byte payload)
// must remain. More than one key, or anything else, is
// "age-identity-invalid". Input over 64 KiB is refused.
Result<Identity> parse_identity(std::string_view text);

// Like parse_identity(), but accepts one or more key lines (an identity file
// that holds a current and a previous key during a rotation).
Result<std::vector<Identity>> parse_identities(std::string_view text);

// The identity file text age-keygen would write ("# created: ...",
// "# public key: age1...", "AGE-SECRET-KEY-1...", each LF-terminated), in
// secret memory because it contains the key. Empty (invalid) SecretBytes if
// secure memory cannot be allocated.
kp::SecretBytes format_identity(const Identity& id);

// The recipient string "age1..." (lowercase Bech32) for an identity or key.
std::string recipient_of(const Identity& id);
std::string format_recipient(const PublicKey& pk);

// Parses "age1..." (lowercase only, 32-byte payload). Anything else,
// including the AGE-SECRET-KEY form or a post-quantum "age1pq1..." key, is
// "age-recipient-invalid".
Result<PublicKey> parse_recipient(std::string_view s);

// Receives output bytes; an error stops the operation and is returned as is.
// Never called with n == 0.
using Sink = std::function<Status(const uint8_t* p, std::size_t n)>;
// Fills buf[0..cap) and returns the count; 0 means end of input.
using Source = std::function<Result<std::size_t>(uint8_t* buf, std::size_t cap)>;

// Seals a stream to X25519 recipients. start() writes the header and nonce
// to the sink; write() may be called any number of times with any split;
// finish() seals the final chunk. Output is byte-for-byte what the spec
// prescribes (binary, not armored). The sink sees one call per 64 KiB chunk.
// After an error, or after finish(), every call returns "age-misuse" (or the
// first error).
class Encryptor {
 public:
  // Refuses an empty list ("age-no-recipients") and low-order recipient keys
  // ("age-recipient-invalid").
  static Result<Encryptor> start(const std::vector<PublicKey>& recipients, Sink sink);

  Status write(const uint8_t* p, std::size_t n);
  Status write(std::string_view s) {
    return write(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  Status finish();

  Encryptor(Encryptor&&) noexcept;
  Encryptor& operator=(Encryptor&&) noexcept;
  ~Encryptor();

 private:
  struct State;
  explicit Encryptor(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// How the Decryptor treats its input.
enum class InputFormat {
  detect,   // armored if the first non-whitespace byte is '-', else binary
  binary,   // the raw format only
  armored,  // only "-----BEGIN AGE ENCRYPTED FILE-----" armor
};

// Opens a stream, pushed in with feed() in any split.
//
// PLAINTEXT IS TENTATIVE UNTIL finish() SUCCEEDS. Each 64 KiB chunk is passed
// to the sink only after its Poly1305 tag verified, and the most recent chunk
// is held back until the decryptor knows whether it is the last one, so a
// cut-off file can never look complete. But a file can still fail after some
// chunks were delivered (truncated, tampered late, trailing data): callers
// must write delivered plaintext somewhere provisional (a partial file, a
// tar reader whose result is not yet acted on) and commit only when finish()
// returns ok. On payload errors the chunks that did authenticate may have
// been delivered, as in the reference implementation.
//
// The identities must outlive the Decryptor. The first error is sticky:
// later feed()/finish() calls return it again.
//
// With a Parallel (which must outlive the Decryptor; its run() is called
// from feed() only), the chunks a feed() completes are opened as one batch
// on the Parallel's threads: every full chunk known not to be the last
// (the one held back from the previous feed, once more bytes follow it,
// and each one in the fed buffer that more bytes follow), each with its
// own counter. The same rules hold chunk by chunk, but the batch reaches
// the sink in one call and only after every chunk in it verified; if one
// fails, nothing of that batch is passed on (so less may have been
// delivered before an error than without a Parallel, never more). For
// binary input the sink is called at most once per feed() and once in
// finish(), and the bytes it is given stay valid until the next call of
// feed() or finish() (the package reader hands them to libarchive without
// a copy). Memory: the batch's plaintext, kChunkSize per chunk the largest
// feed() completes (left uninitialised until written, wiped at the end).
class Decryptor {
 public:
  static Result<Decryptor> create(std::vector<const Identity*> identities, Sink sink,
                                  InputFormat format = InputFormat::detect, Parallel* parallel = nullptr);
  // A Decryptor for the payload alone (the chunks after the nonce), given
  // its payload key (kPayloadKeySize bytes): the parser child's, which gets
  // no identity. Same contract as above from the first chunk on.
  static Result<Decryptor> for_payload(const uint8_t* payload_key, Sink sink, Parallel* parallel = nullptr);

  Status feed(const uint8_t* p, std::size_t n);
  Status feed(std::string_view s) {
    return feed(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  // End of input: verifies and delivers the final chunk, checks that nothing
  // trails it. Only a successful finish() makes the plaintext final.
  Status finish();

  Decryptor(Decryptor&&) noexcept;
  Decryptor& operator=(Decryptor&&) noexcept;
  ~Decryptor();

 private:
  struct State;
  explicit Decryptor(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// The size of a payload key (ChaCha20-Poly1305) and of the payload nonce.
inline constexpr std::size_t kPayloadKeySize = 32;
inline constexpr std::size_t kPayloadNonceBytes = 16;

// What the holder of an identity learns from a file's header alone: the
// file key, the payload nonce, the payload key derived from both
// (HKDF-SHA-256(salt = nonce, ikm = file key, info = "payload")), and
// where the payload's first chunk starts. The intake worker reads only
// this much of an upload; the payload key is what it hands to the parser
// child, which never sees an identity or the file key.
struct OpenedHeader {
  kp::SecretBytes file_key;     // 16 bytes
  kp::SecretBytes payload_key;  // kPayloadKeySize bytes
  std::array<uint8_t, kPayloadNonceBytes> nonce{};
  uint64_t header_bytes = 0;    // the text header up to and including the MAC line
  uint64_t payload_offset = 0;  // header_bytes + the nonce: the first chunk
};

// Reads a binary age header from the start of `source` (which may be read
// past the header: the caller seeks to payload_offset), unwraps the file key
// with `identities`, checks the header MAC and derives the payload key.
// Errors as the Decryptor's header phase: "age-header-invalid" (including a
// missing or short nonce), "age-no-match", "age-hmac-mismatch".
Result<OpenedHeader> open_header(const Source& source, const std::vector<const Identity*>& identities);

// A new header for the same file key and payload nonce: fresh X25519
// stanzas for `recipients` and a fresh header MAC, followed by the nonce.
// Put in front of the payload of the file `file_key` came from, it makes a
// file the recipients open with stock `age -d` (rewrapping: the payload is
// not touched). Errors: "age-no-recipients", "age-recipient-invalid",
// "age-misuse" (a file key that is not 16 bytes).
Result<std::string> rewrap_header(const kp::SecretBytes& file_key,
                                  const std::array<uint8_t, kPayloadNonceBytes>& nonce,
                                  const std::vector<PublicKey>& recipients);

// Pulls all of `source` through a Decryptor into `sink` (same contract,
// same tentative-plaintext rule).
Status decrypt_stream(const std::vector<const Identity*>& identities, const Source& source,
                      const Sink& sink, InputFormat format = InputFormat::detect);

// Pulls all of `source` through an Encryptor into `sink`.
Status encrypt_stream(const std::vector<PublicKey>& recipients, const Source& source,
                      const Sink& sink);

}  // namespace kp::age
