// The notification sender; see notifier.h.
#include "workers/notifier.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>

#include "common/log.h"
#include "policy/mandate.h"
#include "store/audit_events.h"
#include "workers/contact_mail.h"

namespace kp::workers {

namespace {

struct KindText {
  const char* nl;
  const char* en;
};

KindText kind_text(const std::string& kind) {
  if (kind == "sip")
    return {"Samengesteld Informatie Product (SIP)", "compiled information product (SIP)"};
  if (kind == "request")
    return {"verzoek om aanvullende informatie", "request for further information"};
  return {"bericht van het knooppunt", "notice from the hub"};
}

store::AuditEvent notify_event(const store::NotificationJob& job, const std::string& event,
                               const std::string& outcome, std::optional<std::string> reason) {
  store::AuditEvent e;
  e.event = event;
  e.outcome = outcome;
  e.actor = "notifier";
  e.role = "system";
  e.municipality = job.n.municipality;
  // NEN 7513 asks who received what: the account, never the address.
  e.object =
      "outbox/" + std::to_string(job.n.outbox_item) + " " + job.item_name + " to " + job.n.account;
  e.channel = "smtp";
  e.reason = std::move(reason);
  return e;
}

// Why a claimed notification is no longer needed, if it is not.
std::optional<std::string> cancel_reason(const store::NotificationJob& job, int64_t now_ms) {
  if (job.item_acknowledged) return "item-acknowledged";
  if (!job.email || job.email->empty()) return "recipient-no-email";
  if (!job.mandate || !policy::check_mandate(*job.mandate, now_ms, policy::Scope::download).ok())
    return "recipient-not-mandated";
  return std::nullopt;
}

// Handles one claimed job; false when the mail server could not be reached
// (the caller ends its pass).
Result<bool> handle(store::Db& db, const NotifyConfig& c, const store::NotificationJob& job,
                    int64_t pid, int64_t now_ms) {
  store::NotificationUpdate u;
  u.id = job.n.id;
  u.pid = pid;
  u.now_ms = now_ms;
  if (auto reason = cancel_reason(job, now_ms)) {
    u.state = "cancelled";
    u.error = *reason;
    log::event("notify.cancelled",
               {{"notification", std::to_string(job.n.id)}, {"reason", *reason}});
    KP_GUARD(store::mark_notification(db, u,
                                      {notify_event(job, "notify.cancelled", "refused", *reason)}));
    return true;
  }
  Status sent = ok_status();
  auto mail = compose_mail(job, c.sender);
  if (!mail.ok())
    sent = mail.error();
  else
    sent = send_mail(c.server, *mail);
  if (sent.ok()) {
    u.state = "sent";
    log::event("notify.sent", {{"notification", std::to_string(job.n.id)},
                               {"attempt", std::to_string(job.n.attempts)}});
    KP_GUARD(store::mark_notification(
        db, u, {notify_event(job, "notify.attempt", "success", std::nullopt)}));
    return true;
  }
  const Error& err = sent.error();
  std::vector<store::AuditEvent> events = {notify_event(job, "notify.attempt", "failed", err.code)};
  settle_failed_attempt(c, err, job.n.attempts, now_ms, u);
  if (u.state == "failed") {
    events.push_back(notify_event(job, "notify.gave_up", "failed", err.code));
    log::event("notify.gave_up", {{"notification", std::to_string(job.n.id)},
                                  {"attempts", std::to_string(job.n.attempts)},
                                  {"error", err.message()}});
  } else {
    log::event("notify.retry_later", {{"notification", std::to_string(job.n.id)},
                                      {"attempt", std::to_string(job.n.attempts)},
                                      {"error", err.message()}});
  }
  KP_GUARD(store::mark_notification(db, u, events));
  return server_reached(err);
}

}  // namespace

NotifyConfig notify_config(const Settings& s) {
  NotifyConfig c;
  c.server.host = s.smtp_host;
  c.server.port = static_cast<int>(s.smtp_port);
  c.server.starttls = s.smtp_starttls;
  c.server.timeout_seconds = static_cast<int>(s.smtp_timeout_seconds);
  c.server.ca_file = s.smtp_ca_file;
  c.sender = s.smtp_sender;
  c.max_attempts = s.notify_max_attempts;
  c.retry_ms = s.notify_retry_seconds * 1000;
  c.retry_max_ms = s.notify_retry_max_seconds * 1000;
  c.confirm_base_url = s.eherkenning_base_url;
  c.confirm_validity_ms = s.eherkenning_contact_confirm_validity_seconds * 1000;
  return c;
}

int64_t retry_delay_ms(const NotifyConfig& c, int64_t attempts) {
  int64_t delay = c.retry_ms;
  for (int64_t i = 1; i < attempts && delay < c.retry_max_ms; ++i) delay *= 2;
  return std::min(delay, c.retry_max_ms);
}

void settle_failed_attempt(const NotifyConfig& c, const Error& err, int64_t attempts,
                           int64_t now_ms, store::NotificationUpdate& u) {
  u.error = err.code;
  const bool permanent = err.code == "confirm-base-url-missing" || !retryable(err);
  if (permanent || attempts >= c.max_attempts) {
    u.state = "failed";
  } else {
    u.state = "pending";
    u.next_attempt_ms = now_ms + retry_delay_ms(c, attempts);
  }
}

bool server_reached(const Error& err) {
  // A server that cannot be reached now will not be reachable for the
  // next mail of this pass either.
  return err.code == "smtp-temporary-failure" || err.code == "smtp-rejected" ||
         err.code == "notify-unsafe-value" || err.code == "confirm-base-url-missing";
}

Result<Mail> signed_mail(Mail m) {
  m.body += "-- \nknooppunt (automatisch bericht / automated message)\n";
  KP_GUARD(check_mail_value("the sender address", m.from));
  KP_GUARD(check_mail_value("the recipient address", m.to));
  return m;
}

Result<Mail> compose_mail(const store::NotificationJob& job, const std::string& sender) {
  KP_ENSURE(job.email && !job.email->empty(), "recipient-no-email",
            job.n.account + " has no email address");
  KP_GUARD(check_mail_value("the municipality code", job.n.municipality));
  KP_GUARD(check_mail_value("the municipality name", job.municipality_name));
  KP_GUARD(check_mail_value("the file name", job.item_name));
  Mail m;
  m.from = sender;
  m.to = *job.email;
  m.subject = "[knooppunt] Nieuw in uw outbox / New in your outbox: " + job.n.municipality;
  const KindText kind = kind_text(job.item_kind);
  const std::string where = job.n.municipality + " (" + job.municipality_name + ")";
  m.body = "Er staat iets nieuws in de outbox van " + where +
           " op het knooppunt:\n\n"
           "  bestand: " +
           job.item_name +
           "\n"
           "  soort:   " +
           kind.nl +
           "\n\n"
           "Haal het op met uw SFTP-programma (map /outbox) en verwijder het daarna uit de\n"
           "outbox om de ontvangst te bevestigen. Deze e-mail bevat bewust geen inhoud.\n\n"
           "--\n\n"
           "Something new is in the outbox of " +
           where +
           " at the knooppunt:\n\n"
           "  file: " +
           job.item_name +
           "\n"
           "  kind: " +
           kind.en +
           "\n\n"
           "Download it with your SFTP client (folder /outbox), then remove it from the\n"
           "outbox to acknowledge receipt. This email deliberately holds no content.\n\n";
  return signed_mail(std::move(m));
}

Result<int> send_due_notifications(store::Db& db, const NotifyConfig& c, int64_t pid,
                                   int64_t now_ms, const std::atomic<bool>* stop) {
  int handled = 0;
  while (!(stop && *stop)) {
    KP_TRY(auto job, store::claim_notification(db, pid, now_ms));
    if (!job) break;
    auto reached = handle(db, c, *job, pid, now_ms);
    if (!reached.ok()) {
      // The store failed mid-way: give the claim back so it is not stuck.
      (void)store::release_dead_notification_claims(db, [&](int64_t p) { return p != pid; });
      return reached.error();
    }
    ++handled;
    if (!*reached) break;
  }
  return handled;
}

Notifier::Notifier(const DataDir& data, std::function<bool(int64_t)> alive, int poll_ms)
    : alive_(std::move(alive)), poll_ms_(poll_ms) {
  auto settings = load_settings(data.settings());
  if (!settings.ok()) {
    log::event("notify.off", {{"error", settings.error().message()}});
    return;
  }
  NotifyConfig config = notify_config(*settings);
  if (config.server.host.empty()) {
    log::event("notify.off", {{"reason", "smtp_host is empty"}});
    return;
  }
  thread_ = std::thread([this, data, config] { run(data, config); });
}

Notifier::~Notifier() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Notifier::run(DataDir data, NotifyConfig config) {
  // Signals are for the worker's main thread; a write to a closed socket
  // must return EPIPE here rather than kill the process.
  sigset_t block;
  sigemptyset(&block);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) sigaddset(&block, sig);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  const int64_t pid = ::getpid();
  std::optional<store::Db> db;
  log::event("notify.started", {{"host", config.server.host},
                                {"port", std::to_string(config.server.port)},
                                {"starttls", config.server.starttls ? "yes" : "no"}});
  while (!stop_) {
    if (!db) {
      auto opened = store::Db::open(data.db());
      if (opened.ok())
        db.emplace(std::move(*opened));
      else
        log::event("notify.store_failed", {{"error", opened.error().message()}});
    }
    if (db) {
      auto released = store::release_dead_notification_claims(*db, alive_);
      if (released.ok() && *released > 0)
        log::event("notify.claims_released", {{"count", std::to_string(*released)}});
      auto sent = send_due_notifications(*db, config, pid, log::now_ms(), &stop_);
      if (!sent.ok()) log::event("notify.pass_failed", {{"error", sent.error().message()}});
      auto confirmations = send_due_confirmations(*db, config, pid, log::now_ms(), alive_, &stop_);
      if (!confirmations.ok()) log::event("notify.pass_failed", {{"error", confirmations.error().message()}});
    }
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(poll_ms_), [this] { return stop_.load(); });
  }
  log::event("notify.stopped", {});
}

}  // namespace kp::workers
