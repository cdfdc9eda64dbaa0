// Bech32 (BIP173) by hand; see bech32.h for why and for the rules enforced.
//
// Both directions stream the bit conversion straight between the caller's
// buffers and the checksum, so a secret payload is never staged in a
// temporary the caller cannot wipe. A failed decode wipes whatever it had
// already written to the caller's buffer.
#include "keys/bech32.h"

#include <sodium.h>

#include <array>

namespace kp::bech32 {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr std::size_t kChecksumLength = 6;
constexpr std::size_t kMaxHrpLength = 83;

// Reverse of kCharset for lowercase input; -1 for anything else.
constexpr std::array<int8_t, 128> make_reverse() {
  std::array<int8_t, 128> r{};
  for (auto& v : r) v = -1;
  for (int i = 0; i < 32; ++i) r[static_cast<unsigned char>(kCharset[i])] = static_cast<int8_t>(i);
  return r;
}
constexpr std::array<int8_t, 128> kReverse = make_reverse();

// One step of the BIP173 checksum over a 5-bit value.
uint32_t polymod_step(uint32_t chk, uint32_t v) {
  uint32_t top = chk >> 25;
  chk = ((chk & 0x1ffffff) << 5) ^ v;
  if (top & 1) chk ^= 0x3b6a57b2;
  if (top & 2) chk ^= 0x26508e6d;
  if (top & 4) chk ^= 0x1ea119fa;
  if (top & 8) chk ^= 0x3d4233dd;
  if (top & 16) chk ^= 0x2a1462b3;
  return chk;
}

char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
char to_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// The checksum state after the expanded HRP (high bits, a zero, low bits),
// computed over the lowercase form whatever case `hrp` is written in.
uint32_t hrp_checksum(std::string_view hrp) {
  uint32_t chk = 1;
  for (char c : hrp) chk = polymod_step(chk, static_cast<unsigned char>(to_lower(c)) >> 5);
  chk = polymod_step(chk, 0);
  for (char c : hrp) chk = polymod_step(chk, static_cast<unsigned char>(to_lower(c)) & 31);
  return chk;
}

bool valid_hrp_char(char c) {
  return c >= 33 && c <= 126;
}

Error invalid(std::string detail) {
  return make_error("bech32-invalid", std::move(detail));
}

}  // namespace

std::size_t encoded_length(std::size_t hrp_len, std::size_t n) {
  return hrp_len + 1 + (n * 8 + 4) / 5 + kChecksumLength;
}

bool encode_to(std::string_view hrp, const uint8_t* data, std::size_t n, bool upper, char* out,
               std::size_t cap) {
  if (hrp.empty() || hrp.size() > kMaxHrpLength) return false;
  for (char c : hrp) {
    if (!valid_hrp_char(c) || (c >= 'A' && c <= 'Z')) return false;
  }
  const std::size_t total = encoded_length(hrp.size(), n);
  if (total > kMaxLength || total > cap) return false;

  auto put = [&](std::size_t& at, char c) { out[at++] = upper ? to_upper(c) : c; };
  std::size_t at = 0;
  for (char c : hrp) put(at, c);
  put(at, '1');

  uint32_t chk = hrp_checksum(hrp);
  // 8-bit to 5-bit, most significant bits first, zero-padded at the end.
  uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = ((acc << 8) | data[i]) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      uint32_t v = (acc >> bits) & 31;
      chk = polymod_step(chk, v);
      put(at, kCharset[v]);
    }
  }
  if (bits > 0) {
    uint32_t v = (acc << (5 - bits)) & 31;
    chk = polymod_step(chk, v);
    put(at, kCharset[v]);
  }
  acc = 0;
  for (std::size_t i = 0; i < kChecksumLength; ++i) chk = polymod_step(chk, 0);
  chk ^= 1;
  for (std::size_t i = 0; i < kChecksumLength; ++i) put(at, kCharset[(chk >> (5 * (5 - i))) & 31]);
  return true;
}

std::string encode(std::string_view hrp, const uint8_t* data, std::size_t n, bool upper) {
  std::string s(encoded_length(hrp.size(), n), '\0');
  if (!encode_to(hrp, data, n, upper, s.data(), s.size())) return {};
  return s;
}

Result<Decoded> decode(std::string_view s, uint8_t* out, std::size_t cap) {
  KP_ENSURE(s.size() <= kMaxLength, "bech32-invalid", "longer than 90 characters");
  bool has_lower = false;
  bool has_upper = false;
  for (char c : s) {
    KP_ENSURE(valid_hrp_char(c), "bech32-invalid", "character outside printable ASCII");
    has_lower = has_lower || (c >= 'a' && c <= 'z');
    has_upper = has_upper || (c >= 'A' && c <= 'Z');
  }
  KP_ENSURE(!(has_lower && has_upper), "bech32-invalid", "mixed case");

  const std::size_t sep = s.rfind('1');
  KP_ENSURE(sep != std::string_view::npos, "bech32-invalid", "no separator");
  KP_ENSURE(sep >= 1 && sep <= kMaxHrpLength, "bech32-invalid", "bad human-readable part length");
  KP_ENSURE(s.size() - sep - 1 >= kChecksumLength, "bech32-invalid", "too short for a checksum");

  const std::string_view hrp = s.substr(0, sep);
  const std::string_view data = s.substr(sep + 1);
  const std::size_t payload_chars = data.size() - kChecksumLength;

  uint32_t chk = hrp_checksum(hrp);
  uint32_t acc = 0;
  int bits = 0;
  std::size_t written = 0;
  Error failure;
  bool failed = false;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const int8_t v = kReverse[static_cast<unsigned char>(to_lower(data[i]))];
    if (v < 0) {
      failure = invalid("character outside the Bech32 alphabet");
      failed = true;
      break;
    }
    chk = polymod_step(chk, static_cast<uint32_t>(v));
    if (i >= payload_chars) continue;
    acc = ((acc << 5) | static_cast<uint32_t>(v)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (written == cap) {
        failure = invalid("payload larger than expected");
        failed = true;
        break;
      }
      out[written++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  if (!failed && chk != 1) {
    failure = invalid("checksum mismatch");
    failed = true;
  }
  // BIP173: at most four padding bits, and they must be zero.
  if (!failed && (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)) {
    failure = invalid("non-zero or excess padding bits");
    failed = true;
  }
  acc = 0;
  if (failed) {
    if (written > 0) sodium_memzero(out, written);
    return failure;
  }
  return Decoded{hrp, written};
}

}  // namespace kp::bech32
