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

// Claims the oldest received row of `table` for `pid`; nothing when idle.
// Commits without an fsync: a claim lost in a power cut is simply made again.
Result<std::optional<Upload>> claim_oldest(Db& db, ClaimTable table, int64_t pid, int64_t now_ms);

// Puts rows claimed by pids for which `alive(pid)` is false back to 'received'.
Result<int> release_dead(Db& db, ClaimTable table, const std::function<bool(int64_t)>& alive);

}  // namespace kp::store
