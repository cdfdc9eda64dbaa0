// The ASCII armor of age files (age-encryption.org/v1, "ASCII armor"):
//
//   -----BEGIN AGE ENCRYPTED FILE-----
//   <standard padded base64 of the binary file, 64 columns a line>
//   -----END AGE ENCRYPTED FILE-----
//
// as `age -a` writes it. Reading follows the spec and the reference
// implementation: white space may surround the whole armor, lines may end
// in LF or CRLF, every line but the last data line has exactly 64 columns,
// the last has 1..64, padding only at its end; nothing but white space
// after the END line. Anything else is "age-armor-invalid". Streaming,
// fd to fd, so a 2 GiB package needs no memory beyond a buffer.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace kp::age {

inline constexpr std::string_view kArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
inline constexpr std::string_view kArmorEnd = "-----END AGE ENCRYPTED FILE-----";

// True when `head` (the first bytes of a file, any number) begins, after
// optional white space, with the BEGIN line (or a prefix of it when `head`
// is shorter).
bool looks_armored(std::string_view head);

// True when the file behind `fd` looks armored; reads with pread from
// offset 0 and leaves the file offset alone.
Result<bool> fd_looks_armored(int fd);

// Decodes the armored file read from `in` (from its current offset) into
// binary age on `out`; refuses more than `max_out` decoded bytes
// ("age-armor-too-large").
Status dearmor_fd(int in, int out, uint64_t max_out = UINT64_MAX);

// Armors the binary age file read from `in` (from its current offset) onto `out`.
Status armor_fd(int in, int out);

}  // namespace kp::age
