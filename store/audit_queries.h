// Filtered reads of the audit records, for `knooppunt audit export`, the
// auditors' web page and the daily exports: one filter type, bound
// parameters only, pages by record id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/audit_events.h"
#include "store/db.h"

namespace kp::store {

// Every set field narrows the selection; times are ms since the epoch,
// `since_ms` inclusive and `until_ms` exclusive.
struct AuditFilter {
  std::optional<std::string> municipality, event, outcome;
  std::optional<int64_t> since_ms, until_ms;
};

// Records matching `f`, in id order (newest first when `newest_first`),
// skipping `offset` and returning at most `limit` (all when limit < 0).
Result<std::vector<AuditEvent>> list_audit_filtered(Db& db, const AuditFilter& f, int64_t offset,
                                                    int64_t limit, bool newest_first);

// How many records match `f`.
Result<int64_t> count_audit(Db& db, const AuditFilter& f);

// Transfers (sftp.upload, sftp.download) per UTC day and municipality
// that match `f` (an event filter naming anything else matches none), of
// f's outcome or, when it sets none, successful ones; ordered by day then
// municipality.
struct DayCount {
  int64_t day_ms = 0;  // 00:00 UTC of the day
  std::string municipality;
  int64_t count = 0;
};
Result<std::vector<DayCount>> transfers_per_day(Db& db, const AuditFilter& f);

// The time of the oldest record, if any.
Result<std::optional<int64_t>> first_audit_ms(Db& db);

}  // namespace kp::store
