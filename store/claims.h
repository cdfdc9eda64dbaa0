// Claiming work exactly once across worker processes: the oldest row in
// state 'received' becomes 'processing' under the worker's pid in one
// UPDATE ... RETURNING, and claims of dead pids go back to 'received'. Shared
// by uploads (intake) and staff submissions (publishing).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "common/result.h"
#include "store/db.h"
#include "store/uploads.h"

namespace kp::store {

enum class ClaimTable { uploads, submissions };

// Claims the oldest received row of `table` for `pid` whose retry time (see
// defer_claim) has come; nothing when idle. Every claim counts an attempt.
// Commits without an fsync: a claim lost in a power cut is simply made again.
Result<std::optional<Upload>> claim_oldest(Db& db, ClaimTable table, int64_t pid, int64_t now_ms);

// The attempts counted on a row so far (the current claim included).
Result<int64_t> attempts_of(Db& db, ClaimTable table, int64_t id);

// Gives a row claimed by `pid` back after a failed attempt: 'received'
// again, but not claimed before `retry_at_ms`, so the rows behind it go
// first. `counted` false takes the attempt back (the failure was the
// hub's condition, such as a full disk, not the row's). `error` is kept as
// the row's last error. "claim-lost" when `pid` no longer holds it.
Status defer_claim(Db& db, ClaimTable table, int64_t id, int64_t pid, int64_t retry_at_ms, bool counted,
                   const std::string& error);

// Puts rows claimed by pids for which `alive(pid)` is false back to 'received'.
Result<int> release_dead(Db& db, ClaimTable table, const std::function<bool(int64_t)>& alive);

// Any table whose rows a process claims under its pid (column claim_pid):
// the column holding the row's state, the state of a claimed row and the
// one a released row goes back to. Names come from fixed strings in the
// store only (they cannot be bound).
struct ClaimColumns {
  const char* table;
  const char* state;         // the state column
  const char* claimed;       // e.g. 'processing', 'sending'
  const char* released;      // e.g. 'received', 'pending'
  const char* filter = "1";  // ANDed to the search, to match the table's index
};

// Puts the rows of `c` claimed by pids for which `alive(pid)` is false back
// to `c.released`, each only if that pid still holds it. Returns how many.
// Used by release_dead, the notifications and the contact confirmations.
Result<int> release_dead_claims(Db& db, const ClaimColumns& c, const std::function<bool(int64_t)>& alive);

}  // namespace kp::store
