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
#include <string>

#include "store/audit_events.h"

namespace kp::audit {

std::string canonical_record(const store::AuditEvent& e, uint64_t index);

}  // namespace kp::audit
