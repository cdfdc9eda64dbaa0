// A file stored as two parts and served as one: a small head file whose
// bytes come first, then the rest of a payload file from an offset.
//
// The intake worker queues an accepted package this way (workers/intake.cpp,
// "rewrapping"): DATA/queue/NAME holds the package's new age header (sealed
// to the staff recipients, with the payload nonce) followed by an 8-byte
// big-endian offset; DATA/queue/.payload/NAME is a hard link to the upload
// as received, whose bytes from that offset (the STREAM chunks) follow the
// header. Staff download the two as one age file (gateway/session_monitor),
// and no payload byte is written twice. A NAME with no .payload/NAME beside
// it is an ordinary file.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/handles.h"
#include "common/result.h"

namespace kp::pair_file {

// The folder, inside the folder that lists the heads, that holds the payloads
// (DataDir::queue_payloads() for the queue).
inline constexpr std::string_view kPayloadDir = ".payload";
// A head is a few hundred bytes per recipient; anything larger is refused.
inline constexpr std::size_t kMaxPrefix = 32 * 1024;

// The relative path of NAME's payload: ".payload/NAME".
std::string payload_path(std::string_view name);

// The head file's content for `prefix` followed by the payload from `skip`.
std::string encode_head(std::string_view prefix, uint64_t skip);

struct Opened {
  std::string prefix;  // served first
  uint64_t skip = 0;   // where the payload's served bytes start
  Fd payload;
  uint64_t size = 0;   // the served size: prefix + payload size - skip
  struct stat st {};   // the head's stat, with st_size set to `size`
};

// Reads the head `head` (an open regular file) and checks `payload` against
// it. Errors: "pair-invalid" (a head that is too large, too short, or whose
// offset lies past the payload's end), "io-failed".
Result<Opened> open(Fd head, Fd payload);

// Copies `len` served bytes from offset `off` into `out`: from the prefix,
// then from the payload by pread. Returns the bytes copied (short only at
// the end). Error: the errno of a failed pread, as a negative number.
long read_at(const std::string& prefix, uint64_t skip, int payload, uint64_t off, uint8_t* out, std::size_t len);

}  // namespace kp::pair_file
