// C2SP tlog-cosignature/v1 with Ed25519 (c2sp.org/tlog-cosignature): a
// witness's statement that, at a time, the checkpoint is the largest
// consistent tree head it has seen for that log.
//
//   key id    SHA-256(<name> || 0x0A || 0x04 || pk)[:4]   (note::kAlgCosignatureV1)
//   line      — <name> base64(key id || u64 BE timestamp || Ed25519 signature)
//   message   "cosignature/v1\n" "time <timestamp>\n" <checkpoint text>
//
// Keys are note::SignerKey / note::VerifierKey of type kAlgCosignatureV1
// (vkey "<name>+<id>+base64(0x04 || pk)").
//
// Error codes: "key-malformed" (not a cosigner key), "note-malformed",
// "cosignature-missing" (no line by that key), "cosignature-invalid".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "keys/signed_note.h"

namespace kp::cosig {

// The signed message for a checkpoint text (the note body, ending in LF).
std::string message(std::string_view checkpoint_text, uint64_t timestamp);

// One signature line (ending in LF) cosigning `checkpoint_text` at `timestamp`.
Result<std::string> cosign(std::string_view checkpoint_text, const note::SignerKey& key,
                           uint64_t timestamp);

// Verifies `key`'s cosignature among the note's signature lines and returns
// its timestamp. A line with the key's name but another id is ignored, as
// the spec asks of unknown keys.
Result<uint64_t> verify(std::string_view note, const note::VerifierKey& key);

}  // namespace kp::cosig
