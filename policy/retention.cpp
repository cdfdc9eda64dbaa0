// Retention rules; see retention.h.
#include "policy/retention.h"

namespace kp::policy {

const std::vector<RetentionKind>& retention_kinds() {
  static const std::vector<RetentionKind> kinds = {RetentionKind::inbox, RetentionKind::quarantine,
                                                   RetentionKind::queue, RetentionKind::outbox,
                                                   RetentionKind::receipt};
  return kinds;
}

std::string_view retention_kind_name(RetentionKind k) {
  switch (k) {
    case RetentionKind::inbox:
      return "inbox";
    case RetentionKind::quarantine:
      return "quarantine";
    case RetentionKind::queue:
      return "queue";
    case RetentionKind::outbox:
      return "outbox";
    case RetentionKind::receipt:
      return "receipt";
  }
  return "unknown";
}

std::string_view retention_setting_key(RetentionKind k) {
  switch (k) {
    case RetentionKind::inbox:
      return "retention_inbox";
    case RetentionKind::quarantine:
      return "retention_quarantine";
    case RetentionKind::queue:
      return "retention_queue";
    case RetentionKind::outbox:
      return "retention_outbox";
    case RetentionKind::receipt:
      return "retention_receipts";
  }
  return "unknown";
}

std::string_view retention_clock_name(RetentionKind k) {
  switch (k) {
    case RetentionKind::inbox:
      return "accepted";
    case RetentionKind::quarantine:
      return "rejected";
    case RetentionKind::queue:
      return "closed or declined";
    case RetentionKind::outbox:
    case RetentionKind::receipt:
      return "acknowledged";
  }
  return "unknown";
}

RetentionPeriods retention_periods(const Settings& s) {
  RetentionPeriods p;
  p.inbox_ms = s.retention_inbox_seconds * 1000;
  p.quarantine_ms = s.retention_quarantine_seconds * 1000;
  p.queue_ms = s.retention_queue_seconds * 1000;
  p.outbox_ms = s.retention_outbox_seconds * 1000;
  p.receipts_ms = s.retention_receipts_seconds * 1000;
  p.audit_log_ms = s.retention_audit_log_seconds * 1000;
  return p;
}

int64_t period_ms(RetentionKind k, const RetentionPeriods& p) {
  switch (k) {
    case RetentionKind::inbox:
      return p.inbox_ms;
    case RetentionKind::quarantine:
      return p.quarantine_ms;
    case RetentionKind::queue:
      return p.queue_ms;
    case RetentionKind::outbox:
      return p.outbox_ms;
    case RetentionKind::receipt:
      return p.receipts_ms;
  }
  return p.audit_log_ms;  // unreachable; the longest period is the safe answer
}

bool clock_started(RetentionKind k, std::string_view state) {
  switch (k) {
    case RetentionKind::inbox:
      return state == "accepted";
    case RetentionKind::quarantine:
      return state == "rejected";
    case RetentionKind::queue:
      return state == "closed" || state == "declined";
    case RetentionKind::outbox:
    case RetentionKind::receipt:
      return state == "acknowledged";
  }
  return false;
}

std::optional<int64_t> expiry_ms(RetentionKind k, std::string_view state,
                                 std::optional<int64_t> clock_start_ms, const RetentionPeriods& p) {
  // A start at or before the epoch is a missing value, not a very old item.
  if (!clock_started(k, state) || !clock_start_ms || *clock_start_ms <= 0) return std::nullopt;
  int64_t period = period_ms(k, p);
  if (period <= 0) return std::nullopt;  // defensive: settings refuse periods below 1s
  return *clock_start_ms + period;
}

bool is_expired(RetentionKind k, std::string_view state, std::optional<int64_t> clock_start_ms,
                const RetentionPeriods& p, int64_t now_ms) {
  auto due = expiry_ms(k, state, clock_start_ms, p);
  return due && *due <= now_ms;
}

}  // namespace kp::policy
