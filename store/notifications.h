// Email notifications of outbox items: which contact person is told about
// which item, and how far the telling got.
//
// One row per (outbox item, contact person), queued in the transaction that
// writes the item, so an item never exists without its notifications and a
// notification never names an item that was rolled back. The row holds the
// account id, not the email address: the address is looked up when the mail
// goes out, so personal data is not copied around and a changed address is
// used at once.
//
// States: pending -> sending (claimed by a notifier, pid) -> sent | failed
// (gave up) | cancelled (no longer needed: the item was acknowledged, or the
// person lost the mandate or the address), or back to pending with a later
// next_attempt_ms after a transient failure. A claim whose process died is
// released (release_dead_notification_claims); the mail may then go out
// twice (at-least-once), never zero times.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/mandate.h"
#include "store/audit_events.h"
#include "store/db.h"
#include "store/outbox.h"

namespace kp::store {

struct Notification {
  int64_t id = 0;
  int64_t outbox_item = 0;
  std::string municipality;
  std::string account;
  std::string state;  // "pending" | "sending" | "sent" | "failed" | "cancelled"
  int64_t attempts = 0;
  int64_t next_attempt_ms = 0;
  std::optional<int64_t> claim_pid;
  std::optional<std::string> last_error;
  int64_t created_ms = 0;
  std::optional<int64_t> done_ms;
};

// Queues one notification of `item` for every active contact person of
// item.municipality: an account with role person and an email address whose
// mandate for that municipality passes policy::check_mandate at `now_ms`
// with the download scope (unrevoked, valid_from <= now < valid_until, level
// EH3 or higher). `item.id` must be the inserted row's id.
//
// Only kinds "sip", "request" and "notice" are notified; a "receipt" queues
// nothing (the uploader caused it and expects it). Must run inside the
// caller's open transaction (error "store-no-transaction" otherwise); it
// does not begin or commit one. Queuing the same item again adds nobody
// twice. Returns how many rows were queued.
Result<int> enqueue_notifications(Db& db, const OutboxItem& item, int64_t now_ms);

// A claimed notification with what the sender needs, read at claim time.
struct NotificationJob {
  Notification n;
  std::string item_name;  // the file name in the outbox
  std::string item_kind;  // "sip" | "request" | "notice"
  bool item_acknowledged = false;
  std::string municipality_name;
  std::optional<std::string> email;        // the account's address now
  std::optional<policy::Mandate> mandate;  // its latest mandate for the municipality
};

// Claims the pending notification that is due first (next_attempt_ms <=
// now_ms) and whose item is placed in the outbox, for process `pid`;
// counts the attempt. Exactly once across processes: one UPDATE ...
// RETURNING. Nothing when none is due.
Result<std::optional<NotificationJob>> claim_notification(Db& db, int64_t pid, int64_t now_ms);

// Returns claims held by pids for which `alive(pid)` is false to pending
// (due at once). Returns how many.
Result<int> release_dead_notification_claims(Db& db, const std::function<bool(int64_t)>& alive);

// The end of one attempt of a claimed notification.
struct NotificationUpdate {
  int64_t id = 0;
  int64_t pid = 0;                   // the claim that must still hold
  std::string state;                 // "sent" | "pending" (retry later) | "failed" | "cancelled"
  std::optional<std::string> error;  // the reason code, unless sent
  int64_t next_attempt_ms = 0;       // when pending
  int64_t now_ms = 0;
};

// Records the outcome and the audit `events` in one transaction. Error
// "claim-lost" when the notification is no longer claimed by `pid`.
Status mark_notification(Db& db, const NotificationUpdate& u,
                         const std::vector<AuditEvent>& events);

// A queue of mails claimed by pid, each row with last_error,
// next_attempt_ms and claim_pid: the notifications and the contact
// confirmations (store/contacts.h). Names from fixed strings only.
struct MailQueue {
  const char* table;
  const char* state;  // the state column ("sending" while claimed)
  const char* done;   // the column of when the mail was done with
  const char* noun;   // a row's name in error messages
};

// mark_notification for any MailQueue (the same rules, the same errors).
Status mark_mail_attempt(Db& db, const MailQueue& q, const NotificationUpdate& u,
                         const std::vector<AuditEvent>& events);

// Notifications of one outbox item, oldest first (tests, listings).
Result<std::vector<Notification>> notifications_of_item(Db& db, int64_t outbox_item);

}  // namespace kp::store
