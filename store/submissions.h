// Staff submissions: what hub staff upload to /outgoing (sealed SIPs and
// enrichment requests), and what `sip publish` / `request send` place there
// on the gateway host. They go the way uploads go -- partial file, fsync,
// row + audit event in one transaction, rename -- and are then claimed by a
// worker exactly once, like uploads (store/intake.h), published into the
// municipality's outbox, and answered with a signed receipt in /outgoing.
//
// Rows reuse the Upload struct: `municipality` is empty (it is only known
// once the worker opened the package) and `person` is the submitter.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/audit_events.h"
#include "store/db.h"
#include "store/uploads.h"

namespace kp::store {

// The columns read_upload() expects, in order, for SELECTs on submissions
// (municipality is empty; person is the submitter).
inline constexpr const char* kSubmissionColumns =
    "id, '', submitter, name, partial_name, size, sha256, received_ms, state";

// Inserts the submission and its audit event in one transaction. Errors:
// "already-exists" when the name was used before in /outgoing.
Result<int64_t> record_submission(Db& db, const Upload& s, AuditEvent audit);
Status delete_submission(Db& db, int64_t id);
Result<bool> submission_name_taken(Db& db, const std::string& name);

// Claims the oldest received submission for worker `pid`; nothing when idle.
Result<std::optional<Upload>> claim_submission(Db& db, int64_t pid, int64_t now_ms);
// Releases claims held by pids for which `alive(pid)` is false.
Result<int> release_dead_submission_claims(Db& db, const std::function<bool(int64_t)>& alive);

// Commits the outcome of a claimed submission with `events`; `before_commit`
// runs inside the transaction with the id of the last audit event (to add
// the outbox item, sign the receipt). Error "claim-lost" as for uploads.
Status record_submission_verdict(Db& db, int64_t id, int64_t pid, bool accepted,
                                 const std::string& reason_code, const std::string& reason_text,
                                 const std::vector<AuditEvent>& events,
                                 const std::function<Status(int64_t log_index)>& before_commit);
// Stores the signed receipt of submission `id` (inside the verdict's transaction).
Status set_submission_receipt(Db& db, int64_t id, const std::string& json,
                              const std::string& signature);

struct SubmissionReceipt {
  int64_t id = 0;
  std::string name;  // the submission's name in /outgoing
  std::string json, signature;
};
// Receipts not yet placed in /outgoing, and marking one placed.
Result<std::vector<SubmissionReceipt>> unplaced_submission_receipts(Db& db);
Status mark_submission_receipt_placed(Db& db, int64_t id);

// Every submission, oldest first (recovery at start).
Result<std::vector<Upload>> list_submissions(Db& db);

}  // namespace kp::store
