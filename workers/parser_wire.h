// What the intake worker and its package parser child say to each other:
// the job (worker -> parser zygote -> parser child) and the answer (parser
// child -> worker), both in a bounded binary format (common/bytes.h).
//
// The job carries the one package's payload key, where its payload starts,
// the package rules, the recipients to reseal to and a time limit; never an
// identity or a file key. The descriptors travel beside it (SCM_RIGHTS):
// the upload (read-only), the output file for the resealed package, and
// the write end of the answer pipe.
//
// The answer is written by code that parsed hostile bytes, so the worker
// treats it as hostile too: decode_answer() checks every length against
// the package rules, every name with the package-rules name check, every
// reason code against the families open_payload() produces, and that
// nothing trails; anything else is "package-parser-bad-answer". What it
// does not (cannot) check -- that the manifest, signature and hashes are
// the package's -- the worker's own checks cover: the signature is verified
// against the uploader's key by the worker, and a child lying about hashes
// can only get its own uploader's package accepted or refused.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/handles.h"
#include "common/result.h"
#include "keys/age.h"
#include "policy/package_rules.h"
#include "workers/package.h"

namespace kp::workers::parser {

inline constexpr std::size_t kMaxJob = 64 * 1024;
inline constexpr std::size_t kMaxNote = 16 * 1024;
inline constexpr std::size_t kMaxDetail = 1024;
inline constexpr std::size_t kMaxRecipients = 256;
inline constexpr std::size_t kMaxCode = 64;
inline constexpr std::size_t kMaxExtensions = 256;

struct Job {
  kp::SecretBytes payload_key;      // age::kPayloadKeySize bytes
  uint64_t header_bytes = 0;        // age header and nonce: counted against the size limit
  uint64_t payload_offset = 0;      // where the first payload chunk starts in the upload
  uint32_t timeout_ms = 0;          // the zygote kills the child after this long
  policy::PackageRules rules;
  // A staff submission's second pass: the files go into a package sealed
  // to these recipients, written to the output descriptor, followed by the
  // entries the worker sends in the extras descriptor (the manifest it
  // signed with the hub key, and that signature). Empty: parse only.
  std::vector<age::PublicKey> reseal_to;
};

// The extras descriptor's content: entries in order, each a name and its
// bytes (common/bytes.h strings). Written by the worker, read by the child
// before it enters the sandbox.
struct Extra {
  std::string name;
  std::string bytes;
};
std::vector<uint8_t> encode_extras(const std::vector<Extra>& extras);
// Error "parser-bad-job".
Result<std::vector<Extra>> decode_extras(std::span<const uint8_t> bytes);
inline constexpr std::size_t kMaxExtras = 4u << 20;

// The job as bytes. The result holds the payload key: the caller wipes it
// (sodium_memzero) once sent.
std::vector<uint8_t> encode_job(const Job& job);
// Decodes fully. Error "parser-bad-job".
Result<Job> decode_job(std::span<const uint8_t> bytes);

struct Answer {
  std::optional<Error> rejection;  // set: the package is refused with this code
  OpenedPackage package;           // when not rejected
  std::string note;                // test builds: what a hook reported (logged by the worker)
};

std::vector<uint8_t> encode_answer(const Answer& a);
// The largest answer `rules` allow (the worker stops reading past it).
std::size_t max_answer(const policy::PackageRules& rules);
// Decodes and checks fully (see the file comment). Error
// "package-parser-bad-answer" naming what was wrong.
Result<Answer> decode_answer(std::span<const uint8_t> bytes, const policy::PackageRules& rules);

}  // namespace kp::workers::parser
