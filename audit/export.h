// One audit record as a JSON line with its log index and leaf hash: the
// format of `knooppunt audit export --json` and of the daily exports in
// DATA/audit, so an auditor can recompute every leaf from either.
//
//   {"index":N,"time":"ISO 8601 UTC","event":..,"outcome":..,"actor":..,
//    "role":..,"municipality":..,"object":..,"size":..,"sha256":..,
//    "source":..,"channel":..,"reason":..,"leaf_hash":"hex"}
//
// Absent values are null.
#pragma once

#include <string>

#include "store/audit_events.h"

namespace kp::audit {

// The JSON object of `e` (without a trailing newline).
std::string record_json(const store::AuditEvent& e);

// The hex leaf hash of `e` (SHA-256(0x00 || canonical record)).
std::string leaf_hash_hex(const store::AuditEvent& e);

}  // namespace kp::audit
