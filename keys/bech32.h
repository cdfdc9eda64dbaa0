// Bech32 (BIP173) encoding, written by hand for age keys.
//
// age spells recipients "age1..." and identities "AGE-SECRET-KEY-1..." in
// Bech32 (the original BIP173 checksum, not Bech32m). Nothing else in the
// project needs Bech32, and pulling in a library for ninety lines of bit
// shuffling would be more code to trust, not less. Identities are secrets, so
// both directions work on caller-supplied buffers: the 8-bit payload never
// passes through a std::string or std::vector the caller did not choose.
//
// Strictness follows BIP173: at most 90 characters, HRP of 1..83 printable
// ASCII characters, separator '1' (the last one), at least six data
// characters, no mixed case, zero padding bits, checksum constant 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kp::bech32 {

// BIP173's limit on the whole string. age's post-quantum keys exceed it, but
// those are out of scope here; X25519 keys are 62 and 74 characters.
inline constexpr std::size_t kMaxLength = 90;

// The number of characters encode_to() writes for `hrp` and `n` data bytes.
std::size_t encoded_length(std::size_t hrp_len, std::size_t n);

// Encodes hrp + '1' + data + checksum into out[0..encoded_length()). The HRP
// must be lowercase printable ASCII (the checksum is defined over lowercase);
// with `upper` the whole string is written in uppercase. Returns false,
// writing nothing, if the HRP is invalid, the result would exceed kMaxLength,
// or `cap` is too small.
[[nodiscard]] bool encode_to(std::string_view hrp, const uint8_t* data, std::size_t n, bool upper,
                             char* out, std::size_t cap);

// encode_to() into a std::string, for public values only (recipients).
// Returns an empty string where encode_to() would return false.
std::string encode(std::string_view hrp, const uint8_t* data, std::size_t n, bool upper = false);

struct Decoded {
  std::string_view hrp;  // a view into the input, in the case it was written
  std::size_t size = 0;  // bytes written to the caller's buffer
};

// Decodes `s` and writes its 8-bit payload into out[0..cap). Error code
// "bech32-invalid" (detail names the reason: length, mixed case, character,
// checksum, padding, capacity). The HRP is returned as written so callers can
// insist on a case (age: recipients lowercase, identities uppercase).
Result<Decoded> decode(std::string_view s, uint8_t* out, std::size_t cap);

}  // namespace kp::bech32
