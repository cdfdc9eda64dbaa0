// Retention in the store: which items have their retention clock running,
// and the record that one was deleted (policy/retention.h has the rules,
// workers/retention.h the sweeper).
//
// Deleting an item is two steps, in this order. First the store stops
// referring to its files: one transaction sets the source row's purged_ms
// (only if the row is still in the state and clock it was listed with and
// not purged yet -- of two sweepers exactly one succeeds, and only that one
// goes on), inserts its retention_deletions row with the files to remove,
// drops what the store itself keeps of it (a receipt's stored copy, an
// outbox item's body and signature), and appends the `retention.deleted`
// audit record. Then the sweeper unlinks the files and marks the deletion
// unlinked. A crash in between leaves a deletion without unlinked_ms,
// which the next sweep finishes. The rows of uploads, cases, replies and
// outbox items stay, marked by purged_ms: the transfer log and the
// single-use upload names refer to them, and recovery code must treat a
// purged row's files as gone for good (never place or rename them again).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/retention.h"
#include "store/audit_events.h"
#include "store/db.h"

namespace kp::store {

// An item whose retention clock is running and that is not deleted yet.
struct RetentionItem {
  policy::RetentionKind kind = policy::RetentionKind::inbox;
  std::string source;  // the row it comes from: "upload", "case", "reply", "outbox"
  std::string key;     // that row's id: upload id, case id, reply's upload id, outbox item id
  std::string municipality;
  std::string state;  // the state that started the clock (policy::clock_started)
  std::optional<int64_t> clock_ms;
  // What the item's files are named from.
  std::string
      name;  // inbox, quarantine: upload name; queue: queue file; outbox, receipt: outbox name
  std::optional<std::string> partial_name;   // inbox: the partial file it was renamed from
  std::optional<std::string> archived_name;  // outbox, receipt: its name in the box's archive
  std::optional<int64_t> upload_id;   // inbox, quarantine, queue (the case's or reply's upload)
  std::optional<std::string> sha256;  // inbox, quarantine: of the uploaded bytes

  // "upload/12", "case/KP-2026-000001", "reply/15", "outbox/34".
  std::string ref() const { return source + "/" + key; }
};

// Every item whose clock has started (accepted and rejected uploads, closed
// and declined cases with their replies, acknowledged outbox items) and
// that is not purged yet, whatever its due time. Never lists an
// upload that is not processed, a case that is queued or taken, or an
// outbox item that is not acknowledged.
Result<std::vector<RetentionItem>> retention_items(Db& db);

// Marks `item` deleted, in one transaction: marks its row purged if it is
// still in the state and clock it was listed with; inserts its deletion row with `files`
// (paths relative to the data directory, removed in this order) and
// `due_ms`; deletes a receipt's stored copy (table receipts) and forgets an
// outbox item's body and signature; appends `audit`. Returns the deletion
// id, or nothing (and changes nothing) when the item was deleted already,
// by another sweeper, or changed since it was listed.
Result<std::optional<int64_t>> purge_item(Db& db, const RetentionItem& item,
                                          const std::vector<std::string>& files, int64_t due_ms,
                                          int64_t now_ms, const AuditEvent& audit);

// A deletion whose files are not confirmed removed yet.
struct PendingUnlink {
  int64_t id = 0;
  std::string kind, ref;
  std::vector<std::string> files;  // relative to the data directory, in removal order
};
Result<std::vector<PendingUnlink>> pending_unlinks(Db& db);

// Records that every file of deletion `id` is gone (no audit: the deletion
// was audited when it was marked).
Status mark_unlinked(Db& db, int64_t id, int64_t now_ms);

// The transfer log's extent, for its retention line in `retention show`.
struct AuditLogSpan {
  int64_t records = 0;
  std::optional<int64_t> oldest_ms;
};
Result<AuditLogSpan> audit_log_span(Db& db);

}  // namespace kp::store
