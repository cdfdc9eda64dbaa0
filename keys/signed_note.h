// C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.
//
// The audit log publishes its checkpoints as signed notes, so auditors can
// check them with any C2SP tool (Go's golang.org/x/mod/sumdb/note, the
// transparency-dev tooling). A note is text ending in a newline, a blank
// line, then one or more signature lines:
//
//   <text, each line ending in LF>
//   <LF>
//   — <key name> base64(key id (4 bytes, big-endian) || Ed25519 signature)<LF>
//
// (the dash is U+2014). A key is named ("knooppunt.example/log") and
// identified by key id = SHA-256(name || 0x0A || 0x01 || public key)[:4].
//
//   verifier key  <name>+<8 hex id>+<base64(0x01 || public key)>
//   signer key    PRIVATE+KEY+<name>+<8 hex id>+<base64(0x01 || 32-byte seed)>
//
// The signer key text is the one Go's note.GenerateKey writes, so a log key
// can be moved between knooppunt and Go tooling; it holds the secret and is
// kept in SecretBytes like the key itself.
//
// Verification follows the spec: signatures from unknown keys are ignored
// (a witness may cosign); every signature line under the known key's name
// and id must verify; at least one must. Notes are refused when malformed:
// not UTF-8, control characters other than LF, no blank line before the
// signatures, a bad signature line, more than kMaxSignatures signatures or
// more than kMaxNoteBytes bytes.
//
// Error codes: "key-malformed", "key-name-invalid", "note-malformed",
// "note-signature-invalid" (a known key's signature does not verify),
// "note-unverified" (no signature by the known key), "crypto-init-failed".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/handles.h"
#include "common/result.h"

namespace kp::note {

inline constexpr std::size_t kMaxNoteBytes = 1u << 20;
inline constexpr std::size_t kMaxSignatures = 100;
inline constexpr uint8_t kAlgEd25519 = 0x01;
// An Ed25519 tlog-cosignature key (c2sp.org/tlog-cosignature): the same key
// material, another key id, and a signature over a timestamped message
// (keys/cosignature.h); never a note signature.
inline constexpr uint8_t kAlgCosignatureV1 = 0x04;

using PublicKeyBytes = std::array<uint8_t, 32>;

struct VerifierKey {
  std::string name;
  uint32_t key_id = 0;
  PublicKeyBytes pk{};
  uint8_t alg = kAlgEd25519;  // or kAlgCosignatureV1
};

// An Ed25519 signer: the 64-byte libsodium secret key (seed || pk) in
// sodium_malloc'd memory.
struct SignerKey {
  std::string name;
  uint32_t key_id = 0;
  SecretBytes sk;
  uint8_t alg = kAlgEd25519;  // or kAlgCosignatureV1

  // The matching verifier key. Requires sk.size() == 64.
  VerifierKey verifier() const;
};

// True when `name` may name a key: non-empty, valid UTF-8, no Unicode
// white space, no '+', no control characters.
bool valid_key_name(std::string_view name);

// SHA-256(name || 0x0A || alg || pk)[:4] read big-endian.
uint32_t key_id(std::string_view name, const PublicKeyBytes& pk, uint8_t alg = kAlgEd25519);

// A fresh key named `name` of type `alg`. Errors: "key-name-invalid",
// "crypto-init-failed".
Result<SignerKey> generate(std::string_view name, uint8_t alg = kAlgEd25519);

// "<name>+<hex id>+<base64(alg||pk)>". Parsing accepts both key types.
std::string format_verifier_key(const VerifierKey& key);
// Parses the vkey text and checks that the id matches the name and key.
// One trailing LF is tolerated (a vkey file ends in one); other white space
// is not. Errors: "key-malformed".
Result<VerifierKey> parse_verifier_key(std::string_view text);

// "PRIVATE+KEY+<name>+<hex id>+<base64(alg||seed)>" (no newline), in
// secure memory. Errors: "key-malformed" (sk not 64 bytes), "crypto-init-failed".
Result<SecretBytes> format_signer_key(const SignerKey& key);
// Parses the signer key text; one trailing LF is tolerated. Errors:
// "key-malformed" (also when the id does not match), "crypto-init-failed".
Result<SignerKey> parse_signer_key(std::string_view text);

// Signs `text` and returns the whole note (text, blank line, one signature
// line; the key must be of type kAlgEd25519). The text must be non-empty, end in LF, and be valid UTF-8 without
// control characters other than LF; it may hold blank lines (the last blank
// line of a note is always the one before the signatures). Errors:
// "note-malformed", "key-malformed", "key-name-invalid".
Result<std::string> sign(std::string_view text, const SignerKey& key);

// Adds `key`'s signature to an already signed note (a cosignature). Other
// signatures are kept in order; an existing one by the same key (name and
// id) is replaced, as Go's note.Sign does. The existing signatures are not
// checked. Errors as sign() and parse().
Result<std::string> add_signature(std::string_view note, const SignerKey& key);

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::vector<uint8_t> sig;  // without the key id
};

struct Note {
  std::string text;  // including its final LF
  std::vector<NoteSignature> signatures;
};

// Splits a note into text and signatures without checking any signature.
// Errors: "note-malformed".
Result<Note> parse(std::string_view note);

// Verifies `note` against one trusted key (type kAlgEd25519) and returns
// the note text (the only part a caller may act on). Errors: "note-malformed",
// "note-signature-invalid", "note-unverified".
Result<std::string> open(std::string_view note, const VerifierKey& key);

}  // namespace kp::note
