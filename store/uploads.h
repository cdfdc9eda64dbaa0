// Upload rows: one per completed upload, written in the same transaction as
// its audit event. The UNIQUE (municipality, name) constraint is what makes
// an upload name single-use per municipality, even across processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/audit_events.h"
#include "store/db.h"

namespace kp::store {

struct Upload {
  int64_t id = 0;
  std::string municipality;
  std::string person;
  std::string name;          // final name in the inbox
  std::string partial_name;  // name of the fsynced partial file it was renamed from
  int64_t size = 0;
  std::string sha256;  // lowercase hex of the uploaded bytes
  int64_t received_ms = 0;
  std::string state = "received";
};

// The municipality's daily limits, checked inside the transaction that
// inserts the upload row (so uploads committed at once by several
// connections can never pass them together). `pending_*`: what the
// uploading session holds besides (uploads kept under a temporary name).
struct DayLimits {
  int64_t max_files = 0;
  int64_t max_bytes = 0;
  int64_t pending_files = 0;
  int64_t pending_bytes = 0;
};

// Inserts the upload row and its audit event in one transaction.
// Errors: "already-exists" when the name was used before in that
// municipality; with `limits`, "limit-files-per-day" or
// "limit-bytes-per-day" when this upload would pass them (nothing written).
Result<int64_t> record_upload(Db& db, const Upload& u, AuditEvent audit,
                              const std::optional<DayLimits>& limits = std::nullopt);

// Removes a row whose file could not be placed (compensation; rare).
Status delete_upload(Db& db, int64_t id);

Result<bool> upload_name_taken(Db& db, const std::string& municipality, const std::string& name);

struct DayUsage {
  int64_t files = 0;
  int64_t bytes = 0;
};
// Uploads of `municipality` received on the UTC day that holds `ms` (one
// row of the per-day counts that triggers keep; what the daily limits use).
Result<DayUsage> usage_on_day(Db& db, const std::string& municipality, int64_t ms);

Result<std::vector<Upload>> list_uploads(Db& db);
Result<std::optional<Upload>> find_upload(Db& db, int64_t id);

// The columns read_upload() expects, in order, for SELECTs on uploads.
inline constexpr const char* kUploadColumns =
    "id, municipality, person, name, partial_name, size, sha256, received_ms, state";
Upload read_upload(const Stmt& st);

}  // namespace kp::store
