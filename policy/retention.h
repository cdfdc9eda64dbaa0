// Retention rules (GDPR: keep no longer than needed): for each kind of item
// the hub keeps, which state starts its clock, and when it expires.
//
//   kind        item                                    clock starts when      period setting
//   ----------  --------------------------------------  ---------------------  --------------------
//   inbox       an accepted upload's original           the verdict committed  retention_inbox
//   quarantine  a rejected upload, sealed               the verdict committed  retention_quarantine
//   queue       a case's resealed package and the       the case was closed    retention_queue
//               enrichment replies that joined it       or declined
//   outbox      an acknowledged SIP, request or notice  the municipality       retention_outbox
//                                                       removed it (archived)
//   receipt     an acknowledged receipt, its signature  the municipality       retention_receipts
//               and the hub's stored copy               removed it (archived)
//
// Before its clock starts an item never expires, however old it is: an
// upload not yet processed, a case that is queued or taken, an outbox item
// the municipality has not picked up. The transfer log has a period too
// (retention_audit_log), but it is only reported: its records are never
// deleted (see README, "Retention").
//
// Pure functions: no clock, no store, no files.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/settings.h"

namespace kp::policy {

enum class RetentionKind { inbox, quarantine, queue, outbox, receipt };

// Every kind, in the order listings show them.
const std::vector<RetentionKind>& retention_kinds();

// "inbox", "quarantine", "queue", "outbox", "receipt".
std::string_view retention_kind_name(RetentionKind k);
// The settings key of the kind's period ("retention_inbox", ...).
std::string_view retention_setting_key(RetentionKind k);
// What starts the clock, in a few words ("accepted", "closed or declined").
std::string_view retention_clock_name(RetentionKind k);

// The configured periods, in milliseconds.
struct RetentionPeriods {
  int64_t inbox_ms = 0;
  int64_t quarantine_ms = 0;
  int64_t queue_ms = 0;
  int64_t outbox_ms = 0;
  int64_t receipts_ms = 0;
  int64_t audit_log_ms = 0;
};
RetentionPeriods retention_periods(const Settings& s);
int64_t period_ms(RetentionKind k, const RetentionPeriods& p);

// True when an item of kind `k` in `state` has its clock running: an
// upload's state "accepted" (inbox) or "rejected" (quarantine); a case's
// state "closed" or "declined" (queue); "acknowledged" (outbox, receipt).
// Every other state, including an empty or unknown one, keeps the item.
bool clock_started(RetentionKind k, std::string_view state);

// When an item expires: clock start plus the kind's period; nothing when
// its clock has not started (see clock_started) or no start time is known.
std::optional<int64_t> expiry_ms(RetentionKind k, std::string_view state,
                                 std::optional<int64_t> clock_start_ms, const RetentionPeriods& p);

// True when the item has expired at `now_ms` (expiry at or before now).
bool is_expired(RetentionKind k, std::string_view state, std::optional<int64_t> clock_start_ms,
                const RetentionPeriods& p, int64_t now_ms);

}  // namespace kp::policy
