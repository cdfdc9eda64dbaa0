// The intake queue: claiming received uploads (exactly once across worker
// processes and across kill -9), and recording each verdict together with
// its case and audit events in one transaction.
//
// States of an upload row: received -> processing (claimed by a worker pid)
// -> accepted | rejected. A claim whose worker died is released by the next
// worker (release_dead_claims), so the upload is processed again from the
// start; nothing a dead worker wrote counts until the verdict commits.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/audit_events.h"
#include "store/cases.h"
#include "store/db.h"
#include "store/uploads.h"

namespace kp::store {

// Claims the oldest received upload for worker `pid`; nothing when idle.
Result<std::optional<Upload>> claim_upload(Db& db, int64_t pid, int64_t now_ms);

// Releases claims held by pids for which `alive(pid)` is false.
Result<int> release_dead_claims(Db& db, const std::function<bool(int64_t)>& alive);

struct Verdict {
  int64_t upload_id = 0;
  int64_t pid = 0;              // the claim that must still hold
  bool accepted = false;
  std::string reason_code;      // "accepted" or a rejection code
  std::string reason_text;
  std::optional<Case> new_case; // when accepted
};

// Commits the verdict: the upload's state, its case (if accepted) and the
// audit events `events`, in one transaction. Calls `before_commit(log_index)`
// with the id of the last audit event inside the transaction, so receipts
// can name it; its failure rolls everything back. Error "claim-lost" when
// another worker took the upload over meanwhile.
Status record_verdict(Db& db, const Verdict& v, const std::vector<AuditEvent>& events,
                      const std::function<Status(int64_t log_index)>& before_commit);

// Receipts: stored with the verdict, placed in the outbox afterwards.
Status insert_receipt(Db& db, int64_t upload_id, const std::string& json, const std::string& signature);
struct StoredReceipt {
  int64_t upload_id = 0;
  std::string json, signature;
};
// Receipts not yet placed in an outbox.
Result<std::vector<StoredReceipt>> unplaced_receipts(Db& db);
Result<std::optional<StoredReceipt>> receipt_of(Db& db, int64_t upload_id);
// Marks a receipt placed (no fsync: if the mark is lost, placing again is harmless).
Status mark_receipt_placed(Db& db, int64_t upload_id);

// A placed receipt whose record a witnessed checkpoint covers, still
// without its proof against one (witnessed_size NULL).
struct ReceiptToWitness {
  int64_t upload_id = 0;
  uint64_t log_index = 0;  // the receipt's record in the transfer log
  std::string municipality;
  std::string name;  // the upload's name: the proof is NAME.receipt.tlog-proof
};
// At most `limit` of them with log_index < `size`, oldest first.
Result<std::vector<ReceiptToWitness>> receipts_to_witness(Db& db, uint64_t size, int limit);
// Records that the receipt's proof against checkpoint `size` is placed (no
// fsync, as mark_receipt_placed).
Status mark_receipt_witnessed(Db& db, int64_t upload_id, uint64_t size);

// Other municipalities that reported the same KvK number, with the time of
// their first case (for ranking and for staff; never shown to uploaders).
struct KvkMatch {
  std::string municipality;
  int64_t first_ms = 0;
};
Result<std::vector<KvkMatch>> other_reports_of(Db& db, const std::string& kvk,
                                               const std::string& municipality);

// Reserves the next case number in `year` ("KP-2026-000001"...): one
// atomic counter update in a short transaction of its own, so workers
// running side by side never draw the same number (they did when the number
// was counted from the cases table, and the loser backed off for seconds).
// A number whose verdict never commits stays unused (a gap). The counter
// commits without an fsync: a verdict that uses the number commits later
// with synchronous=FULL, which makes the counter durable too.
Result<std::string> next_case_id(Db& db, int year);

// Uploads in a final state, for recovery of their output files.
Result<std::vector<Upload>> processed_uploads(Db& db);

}  // namespace kp::store
