// Publishing the transfer log to auditors and witnesses: after a worker
// stored a checkpoint, it asks every configured witness (setting
// `witnesses`) to cosign the latest one over C2SP tlog-witness
// (audit/witness.h), keeps each cosignature that verifies with that
// witness's key (store: checkpoint_cosignatures), and writes the log as
// tlog-tiles to DATA/audit/log/ with the cosigned checkpoint, which also
// replaces DATA/audit/checkpoint.
//
// Workers are privileged; the sandboxed HTTP process never makes these
// requests. A witness that refuses (it saw another history) or cannot be
// reached leaves the checkpoint without its cosignature: logged as
// `witness.refused` / `witness.unreachable` with the status and reason,
// and the next checkpoint asks again.
#pragma once

#include <string>

#include "common/datadir.h"
#include "common/result.h"
#include "common/settings.h"
#include "store/db.h"

namespace kp::workers {

// Asks the witnesses for cosignatures of the latest stored checkpoint (those
// that have none yet), then writes DATA/audit/log/ and DATA/audit/checkpoint.
// Errors: store and file errors (witness refusals are logged, not errors).
Status publish_log(store::Db& db, const DataDir& data, const Settings& settings);

}  // namespace kp::workers
