// An eHerkenning person's contact details: the name and e-mail address the
// hub notifies them at, confirmed by a single-use link mailed to that
// address.
//
// One contact per person (account), used for every municipality they act
// for: notifications (store/notifications.h) are queued per account and
// read the account's `email` when the mail goes out. That column is the
// *confirmed* address: set_contact() clears it when the address changes and
// confirm_contact() sets it, so an eHerkenning person is notified only at an
// address they proved they read, while operator-managed persons (`person add
// --email`) keep theirs as before.
//
// Each new or changed address is a confirmation request (one row): its mail
// is queued here and sent by a worker's notifier (workers/contact_mail.h),
// which draws the 32-byte random token at send time and stores only its
// SHA-256 and its expiry, so the token itself is never at rest. A request
// ends used (confirmed), superseded (a newer address or a resend), or
// expired. Confirming refuses, each with its own reason:
//   contact-token-unknown     no request has that token's hash
//   contact-token-used        confirmed before (single use)
//   contact-token-superseded  a newer request replaced it
//   contact-token-expired     past its expiry
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/result.h"
#include "store/audit_events.h"
#include "store/db.h"
#include "store/notifications.h"

namespace kp::store {

// At most this many confirmation requests per person per hour (each sends
// a mail): beyond it set_contact refuses "contact-too-many".
inline constexpr int kMaxContactRequestsPerHour = 5;

struct Contact {
  std::string account, name, email;
  int64_t set_ms = 0;
  std::optional<int64_t> confirmed_ms;
  // The latest confirmation request's mail: "pending" | "sending" | "sent"
  // | "failed" | "cancelled" ("" when there is none), and its last error.
  std::string mail_state;
  std::optional<std::string> mail_error;
};

// The person's contact with the state of its latest confirmation mail.
Result<std::optional<Contact>> find_contact(Db& db, const std::string& account);

struct ContactChange {
  std::string person, name, email;  // checked by policy/contact.h
  std::string source;               // client address, for the audit record
  int64_t now_ms = 0;
};

// In one transaction: stores the name and address; when the address is
// new, differs, or is not confirmed yet, also clears the account's `email`,
// supersedes the person's open requests (their mails are cancelled), queues
// a new request and its mail. Appends `eherkenning.contact` (the request's
// number, never the address). Returns true when a mail was queued (false:
// only the name of a confirmed address changed).
// Errors: "eh-account-disabled" (no such person, or disabled),
// "contact-too-many" (kMaxContactRequestsPerHour reached).
Result<bool> set_contact(Db& db, const ContactChange& c);

struct Confirmed {
  std::string account, email;
};

// Confirms the request whose token hashes to `token_hash`: marks it used,
// the contact confirmed and sets the account's `email`, and appends
// `eherkenning.contact_confirmed`, in one transaction. Errors: the four
// codes above.
Result<Confirmed> confirm_contact(Db& db, const Sha256Digest& token_hash, const std::string& source,
                                  int64_t now_ms);

// A claimed confirmation mail.
struct ConfirmationJob {
  int64_t id = 0;
  std::string account, name, email;
  int64_t attempts = 0;
  int64_t expires_ms = 0;
};

// Claims the due pending confirmation mail (next_attempt_ms <= now_ms) of
// a request not superseded, for process `pid`, counting the attempt, and
// stores `token_hash` (the token this attempt mails) and `expires_ms`: one
// UPDATE ... RETURNING, exactly once across processes. A retry draws a new
// token, so a link from a failed attempt no longer works.
Result<std::optional<ConfirmationJob>> claim_confirmation_mail(Db& db, int64_t pid, int64_t now_ms,
                                                               const Sha256Digest& token_hash,
                                                               int64_t expires_ms);

// Returns claims held by pids for which `alive(pid)` is false to pending.
Result<int> release_dead_confirmation_claims(Db& db, const std::function<bool(int64_t)>& alive);

// Records the end of one attempt (u.state as for notifications) and the
// audit `events` in one transaction. Error "claim-lost".
Status mark_confirmation_mail(Db& db, const NotificationUpdate& u,
                              const std::vector<AuditEvent>& events);

}  // namespace kp::store
