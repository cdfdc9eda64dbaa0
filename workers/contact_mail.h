// The mail that confirms an eHerkenning person's e-mail address
// (store/contacts.h), sent by the notifier thread (workers/notifier.h)
// beside the outbox notifications, on the same SMTP path and settings.
//
// The token is drawn here, at send time (32 random bytes, 64 hex digits in
// the link), and only its SHA-256 and expiry (confirm_validity_ms from now)
// reach the store, in the claim itself; the token lives only in this
// process's memory and the mail. A retry draws a new token. Only this mail
// goes to an address that is not confirmed yet.
//
// Audited like notifications: "notify.attempt" (success, or failed with
// the reason code) and "notify.gave_up", the object naming the request and
// the account ("contact-confirmation/ID to ACCOUNT"), never the address.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"
#include "store/contacts.h"
#include "store/db.h"
#include "workers/notifier.h"
#include "workers/smtp.h"

namespace kp::workers {

// The mail for `job` with link `base_url`/eherkenning/confirm?token=`token_hex`:
// subject "[knooppunt] Bevestig uw e-mailadres / Confirm your e-mail
// address", a short Dutch and English body with the person's name, the link
// and when it expires. Refused ("notify-unsafe-value") when a value holds a
// control character; "confirm-base-url-missing" when `base_url` is empty.
Result<Mail> compose_confirmation_mail(const store::ConfirmationJob& job, const std::string& sender,
                                       const std::string& base_url, const std::string& token_hex);

// Releases claims of dead processes (`alive(pid)` false), then claims and
// mails every confirmation due at `now_ms` for process `pid`, until none is
// due, `stop` is set, or the mail server could not be reached. Returns how
// many it handled.
Result<int> send_due_confirmations(store::Db& db, const NotifyConfig& c, int64_t pid,
                                   int64_t now_ms, const std::function<bool(int64_t)>& alive,
                                   const std::atomic<bool>* stop = nullptr);

}  // namespace kp::workers
