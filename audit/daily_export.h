// Daily exports of the transfer log for auditors: DATA/audit/
// export-YYYY-MM-DD.jsonl holds every record of that UTC day, one JSON line
// each in the format of `knooppunt audit export --json` (audit/export.h).
// A day's file is written once, when the day is complete (never for today),
// atomically (tmp + fsync + rename), for every day from the first record's
// day to yesterday, empty when nothing happened that day. The worker loop
// calls this at its checkpoint pace; the auditor reads the files over SFTP
// in /audit.
#pragma once

#include <cstdint>

#include "common/datadir.h"
#include "common/result.h"
#include "store/db.h"

namespace kp::audit {

// Writes the missing exports of complete days before `now_ms`; returns how
// many files it wrote. Errors: store errors, "io-failed".
Result<int> publish_daily_exports(store::Db& db, const DataDir& data, int64_t now_ms);

}  // namespace kp::audit
