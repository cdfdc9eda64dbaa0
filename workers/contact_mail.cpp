// Contact confirmation mails; see contact_mail.h.
#include "workers/contact_mail.h"

#include <sodium.h>

#include "common/dates.h"
#include "common/digest.h"
#include "common/log.h"

namespace kp::workers {

namespace {

store::AuditEvent mail_event(const store::ConfirmationJob& job, const std::string& event,
                             const std::string& outcome, std::optional<std::string> reason) {
  store::AuditEvent e;
  e.event = event;
  e.outcome = outcome;
  e.actor = "notifier";
  e.role = "system";
  e.object = "contact-confirmation/" + std::to_string(job.id) + " to " + job.account;
  e.channel = "smtp";
  e.reason = std::move(reason);
  return e;
}

// Mails one claimed job; false when the mail server could not be reached.
Result<bool> handle(store::Db& db, const NotifyConfig& c, const store::ConfirmationJob& job,
                    int64_t pid, int64_t now_ms, const std::string& token_hex) {
  store::NotificationUpdate u;
  u.id = job.id;
  u.pid = pid;
  u.now_ms = now_ms;
  auto mail = compose_confirmation_mail(job, c.sender, c.confirm_base_url, token_hex);
  Status sent = mail.ok() ? send_mail(c.server, *mail) : Status(mail.error());
  if (mail.ok()) sodium_memzero(mail->body.data(), mail->body.size());
  if (sent.ok()) {
    u.state = "sent";
    log::event("notify.sent", {{"confirmation", std::to_string(job.id)},
                               {"attempt", std::to_string(job.attempts)}});
    KP_GUARD(store::mark_confirmation_mail(
        db, u, {mail_event(job, "notify.attempt", "success", std::nullopt)}));
    return true;
  }
  const Error& err = sent.error();
  std::vector<store::AuditEvent> events = {mail_event(job, "notify.attempt", "failed", err.code)};
  settle_failed_attempt(c, err, job.attempts, now_ms, u);
  if (u.state == "failed") {
    events.push_back(mail_event(job, "notify.gave_up", "failed", err.code));
    log::event("notify.gave_up",
               {{"confirmation", std::to_string(job.id)}, {"error", err.message()}});
  } else {
    log::event("notify.retry_later",
               {{"confirmation", std::to_string(job.id)}, {"error", err.message()}});
  }
  KP_GUARD(store::mark_confirmation_mail(db, u, events));
  return server_reached(err);
}

}  // namespace

Result<Mail> compose_confirmation_mail(const store::ConfirmationJob& job, const std::string& sender,
                                       const std::string& base_url, const std::string& token_hex) {
  KP_ENSURE(!base_url.empty(), "confirm-base-url-missing",
            "eherkenning_base_url is not set: no link to mail");
  KP_GUARD(check_mail_value("the name", job.name));
  KP_GUARD(check_mail_value("the base URL", base_url));
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string link = base + "/eherkenning/confirm?token=" + token_hex;
  const std::string until = format_utc(job.expires_ms, "%Y-%m-%d %H:%M UTC");
  Mail m;
  m.from = sender;
  m.to = job.email;
  m.subject = "[knooppunt] Bevestig uw e-mailadres / Confirm your e-mail address";
  m.body = "Beste " + job.name +
           ",\n\n"
           "U gaf dit adres op voor berichten van het knooppunt (eHerkenning). Open deze link\n"
           "om het te bevestigen (werkt tot " +
           until + ", eenmalig):\n\n  " + link +
           "\n\n"
           "Vroeg u dit niet aan, negeer deze e-mail dan.\n\n"
           "--\n\n"
           "Dear " +
           job.name +
           ",\n\n"
           "You gave this address for notifications from the knooppunt (eHerkenning). Open this\n"
           "link to confirm it (works until " +
           until + ", once):\n\n  " + link +
           "\n\n"
           "If you did not ask for this, ignore this email.\n\n";
  return signed_mail(std::move(m));
}

Result<int> send_due_confirmations(store::Db& db, const NotifyConfig& c, int64_t pid,
                                   int64_t now_ms, const std::function<bool(int64_t)>& alive,
                                   const std::atomic<bool>* stop) {
  auto released = store::release_dead_confirmation_claims(db, alive);
  if (released.ok() && *released > 0)
    log::event("notify.claims_released", {{"count", std::to_string(*released)}});
  int handled = 0;
  while (!(stop && *stop)) {
    std::array<uint8_t, 32> token{};
    randombytes_buf(token.data(), token.size());
    std::string token_hex = to_hex(token.data(), token.size());
    const Sha256Digest hash =
        sha256(std::string_view(reinterpret_cast<const char*>(token.data()), token.size()));
    sodium_memzero(token.data(), token.size());
    auto job =
        store::claim_confirmation_mail(db, pid, now_ms, hash, now_ms + c.confirm_validity_ms);
    if (!job.ok() || !*job) {
      sodium_memzero(token_hex.data(), token_hex.size());
      if (!job.ok()) return job.error();
      break;
    }
    auto reached = handle(db, c, **job, pid, now_ms, token_hex);
    sodium_memzero(token_hex.data(), token_hex.size());
    if (!reached.ok()) {
      (void)store::release_dead_confirmation_claims(db, [&](int64_t p) { return p != pid; });
      return reached.error();
    }
    ++handled;
    if (!*reached) break;
  }
  return handled;
}

}  // namespace kp::workers
