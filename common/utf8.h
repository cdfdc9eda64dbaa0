// Strict UTF-8 decoding, one implementation for every check that reads
// client text: SFTP paths (gateway/vpath), package entry names and manifest
// texts (policy/). Strict means: no overlong forms, no surrogates, nothing
// above U+10FFFF, no truncated sequence, no stray continuation byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kp {

// Decodes the sequence starting at s[i] into `cp`; returns its length in
// bytes, or 0 when it is not strict UTF-8. Requires i < s.size().
std::size_t utf8_next(std::string_view s, std::size_t i, char32_t& cp);

// Appends the code points of `s` to `out`; false (with `out` in an
// unspecified state) when `s` is not strict UTF-8.
bool decode_utf8(std::string_view s, std::u32string& out);

// True when `s` is strict UTF-8.
bool is_strict_utf8(std::string_view s);

}  // namespace kp
