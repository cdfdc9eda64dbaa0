// An auditor's monitor of the transfer log: what it checks of each new
// checkpoint against its own mirror (cli/monitor_command.cpp fetches).
//
// The mirror holds the last checkpoint it accepted and the leaf hash of
// every record up to it, each recomputed from the entry itself. A new
// checkpoint is accepted only when it is signed by the log key, carries
// `quorum` valid cosignatures of the given witness keys, is not smaller
// than the last one, and its root is the root of the mirror's leaves plus
// the leaves of the new entries -- which proves it extends the last one
// (no record changed or went missing) and that every entry hashes to the
// tree the checkpoint signs.
//
// Findings, each with its exit code for cron:
//   ok 0, failed 1 (network, login, malformed answers: nothing was checked),
//   split-view 3 (same size, another root; or a root the entries do not make),
//   rewritten-record 4 (a record the mirror holds has another hash now),
//   missing-entry 5 (the log is smaller than before, or an entry is absent or out of place),
//   unverified 6 (log signature or witness cosignatures missing or invalid).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "common/result.h"
#include "keys/signed_note.h"

namespace kp::audit {

struct MonitorState {
  std::string checkpoint;            // the last accepted checkpoint note ("" at first)
  std::vector<merkle::Hash> leaves;  // leaf hashes of records 0 .. size-1
};

struct Finding {
  std::string kind = "ok";  // ok, split-view, rewritten-record, missing-entry, unverified
  int exit_code = 0;
  std::string detail;
};

// Fetches a tile's bytes (tile path as audit/tiles.h writes it).
using TileFetch = std::function<Result<std::string>(const std::string& path)>;

// Checks `checkpoint` against `state` and, when it is accepted, advances
// `state` to it. Errors (Result errors) are fetch failures: nothing checked.
Result<Finding> monitor_step(MonitorState& state, const std::string& checkpoint,
                             const note::VerifierKey& log_key,
                             const std::vector<note::VerifierKey>& witnesses, std::size_t quorum,
                             const TileFetch& fetch);

}  // namespace kp::audit
