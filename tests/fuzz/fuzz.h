// What every libFuzzer target in tests/fuzz shares: a check that aborts (so
// libFuzzer reports the input) and views of the input.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#define FUZZ_ASSERT(cond)      \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

namespace kp::fuzz {

// libsodium must be started before its secure memory is used, as main()
// does in the product.
inline const bool sodium_ready = sodium_init() >= 0;

inline std::string_view text(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The first byte picks what a target does with the rest (0 for empty input).
struct Split {
  uint8_t mode = 0;
  const uint8_t* data = nullptr;
  std::size_t size = 0;
  std::string_view str() const { return text(data, size); }
  std::span<const uint8_t> span() const { return {data, size}; }
};

inline Split split(const uint8_t* data, std::size_t size) {
  if (size == 0) return {0, data, 0};
  return {data[0], data + 1, size - 1};
}

}  // namespace kp::fuzz
