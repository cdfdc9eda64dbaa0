// The canonical serialisation of an audit record: the bytes that become a
// leaf of the transfer log's Merkle tree (leaf hash SHA-256(0x00 || bytes)).
//
// Stable and documented, so independent tools can recompute it:
//
//   knooppunt-audit/1\n
//   index: <0-based leaf index>\n
//   time: <ms since the Unix epoch, UTC>\n
//   event: ...\n  outcome: ...\n  actor: ...\n  role: ...\n  municipality: ...\n
//   object: ...\n  size: ...\n  sha256: ...\n  source: ...\n  channel: ...\n  reason: ...\n
//
// Every field is always present, in this order; an absent value is empty.
// In values, '\' is written "\\" and a newline "\n", so one field is one line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/audit_events.h"

namespace kp::audit {

// The canonical bytes of record `index`.
std::string canonical_record(const store::AuditEvent& e, uint64_t index);

// A record's fields as views (e.g. into SQLite's row buffers), so that
// verification can serialise a million records without copying each field.
// An absent (NULL) text field is an empty view: the two serialise the same.
struct RecordView {
  int64_t ts_ms = 0;
  std::string_view event, outcome, actor, role, municipality, object;
  std::optional<int64_t> size;
  std::string_view sha256, source, channel, reason;
};

// Replaces `out` with the canonical bytes of record `index`; the same bytes
// canonical_record() gives for the same fields. Reuses out's capacity.
void canonical_record_into(std::string& out, const RecordView& r, uint64_t index);

}  // namespace kp::audit
