// The auditors' web tokens: a secret the operator generates (for example
// `openssl rand -hex 32`) and hands to one auditor; the store keeps only
// its hash. The token has at least 32 characters of high entropy, so a
// fast keyed hash (BLAKE2b-256) is enough: nobody can brute-force the
// token from the hash, and every login costs microseconds, not the
// deliberate slowness a password hash would add to each attempt.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "store/auditor_tokens.h"

namespace kp::gateway {

inline constexpr std::size_t kMinTokenChars = 32;
inline constexpr std::size_t kMaxTokenChars = 256;

// Errors: "token-too-short" (< 32 characters), "token-too-long" (> 256),
// "token-invalid" (a character outside printable ASCII, or a space).
Status check_token_strength(std::string_view token);

// Reads a token file: one line (a trailing newline is dropped). Refused
// when group or others may read it ("token-file-exposed": chmod 600), when
// it is unreadable ("file-unreadable") or the token is weak (see above).
Result<std::string> read_token_file(const std::string& path);

// BLAKE2b-256 of the token, under a fixed personalisation for this use.
store::TokenHash hash_token(std::string_view token);

// True when `token` hashes to `stored`; compares in constant time.
bool token_matches(std::string_view token, const store::TokenHash& stored);

}  // namespace kp::gateway
