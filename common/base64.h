// Base64 (standard alphabet, padded) for the text formats of minisign,
// signed notes and C2SP proofs, on libsodium.
//
// Decoding is strict: canonical padding only, and the alphabet is checked
// first, because libsodium 1.0.18 reads every byte >= 0x80 as '/' (a flipped
// high bit would otherwise go unnoticed).
#pragma once

#include <sodium.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kp {

inline std::string base64_encode(const uint8_t* p, std::size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL sodium writes
  return out;
}

inline bool base64_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Decodes canonical padded base64 into `out` (at most `max` bytes), setting
// `len`; false on anything else.
inline bool base64_decode(std::string_view in, uint8_t* out, std::size_t max, std::size_t& len) {
  if (in.empty() || in.size() % 4 != 0) return false;
  std::string_view body = in;
  while (!body.empty() && body.back() == '=') body.remove_suffix(1);
  if (!std::all_of(body.begin(), body.end(), base64_alphabet)) return false;
  return sodium_base642bin(out, max, in.data(), in.size(), nullptr, &len, nullptr,
                           sodium_base64_VARIANT_ORIGINAL) == 0;
}

}  // namespace kp
