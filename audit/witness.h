// The C2SP tlog-witness protocol (c2sp.org/tlog-witness): the request body
// of add-checkpoint, and the witness's decision on it.
//
//   POST <prefix>/add-checkpoint
//   old <size>\n  <base64 consistency proof hash>\n ...  \n  <signed checkpoint>
//
// A witness knows one log (its origin and Ed25519 key) and remembers the
// size and root of the last checkpoint it cosigned. It cosigns a checkpoint
// only when the log's signature verifies, `old` is that remembered size and
// the proof shows the new tree extends the remembered one; then it
// remembers the new one. Anything else is refused, and since the state only
// moves forward along consistent trees, a log that rewrote or dropped a
// record stays refused: no consistency proof from the remembered tree to
// the rewritten one exists.
//
// Statuses, as the spec gives them: 200 (body: cosignature lines), 400
// malformed or old > size, 403 no valid log signature, 404 unknown origin,
// 409 old size is not the remembered one (body: that size, Content-Type
// text/x.tlog.size) or same size with another root, 422 the proof does not
// verify.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "common/result.h"
#include "keys/signed_note.h"

namespace kp::witness {

inline constexpr std::size_t kMaxRequestBytes = 256 * 1024;
inline constexpr std::size_t kMaxProofLines = 63;

struct AddCheckpoint {
  uint64_t old_size = 0;
  std::vector<merkle::Hash> proof;
  std::string checkpoint;  // the signed note, verbatim
};

std::string format_add_checkpoint(const AddCheckpoint& req);
// Error "witness-request-malformed".
Result<AddCheckpoint> parse_add_checkpoint(std::string_view body);

// What a witness remembers of its log.
struct LogState {
  uint64_t size = 0;
  merkle::Hash root{};
};

struct Reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::optional<LogState> new_state;  // set: persist before answering
  std::string reason;                 // a reason code for the journal
};

// Decides one add-checkpoint request. `state` is what the witness
// remembers (nullopt: it never cosigned). The caller holds a lock across
// this call and persisting new_state, as the spec asks.
Reply add_checkpoint(std::string_view body, const note::VerifierKey& log_key,
                     const std::string& origin, const std::optional<LogState>& state,
                     const note::SignerKey& witness_key, uint64_t now_s);

}  // namespace kp::witness
