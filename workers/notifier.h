// Notifications: telling a municipality's contact persons by email that
// something new (a SIP, an enrichment request, a notice) is in its outbox.
//
// The queue is store/notifications.h (rows written with the outbox item).
// A worker process runs one sender thread (Notifier) with its own store
// connection, so a slow or absent mail server delays mail, never intake or
// placement. The sender only mails items already placed in the outbox, and
// checks again at send time that the person still holds a download mandate
// and an address and that the item was not yet acknowledged (else the
// notification is cancelled). The mail names the municipality, the file
// name and its kind: never content, never personal data.
//
// Every attempt is audited ("notify.attempt", success or failed, reason =
// the error code), with the recipient's account id in the object, never the
// address. Transient failures are retried after notify_retry_seconds,
// doubling up to notify_retry_max_seconds; after notify_max_attempts, or at
// once on a permanent failure (a 5xx reply, an unsafe header value), the
// notification is given up ("notify.gave_up").
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "common/datadir.h"
#include "common/result.h"
#include "common/settings.h"
#include "store/db.h"
#include "store/notifications.h"
#include "workers/smtp.h"

namespace kp::workers {

struct NotifyConfig {
  SmtpServer server;  // server.host empty = notifications off
  std::string sender;
  int64_t max_attempts = 12;
  int64_t retry_ms = 30000;
  int64_t retry_max_ms = 3600000;
  // Contact confirmation mails (workers/contact_mail.h): the links point at
  // confirm_base_url (eherkenning_base_url) and work for confirm_validity_ms.
  std::string confirm_base_url;
  int64_t confirm_validity_ms = 86400000;
};
NotifyConfig notify_config(const Settings& s);

// The wait after `attempts` failed attempts: retry_ms * 2^(attempts-1), at
// most retry_max_ms.
int64_t retry_delay_ms(const NotifyConfig& c, int64_t attempts);

// How an attempt that failed with `err` ends, for every mail the notifier
// sends: "failed" (given up) when no retry can help (not retryable(), or
// "confirm-base-url-missing") or this was attempt c.max_attempts, else
// "pending" again after retry_delay_ms. Sets u.state, u.error and
// u.next_attempt_ms.
void settle_failed_attempt(const NotifyConfig& c, const Error& err, int64_t attempts,
                           int64_t now_ms, store::NotificationUpdate& u);

// Whether the mail server answered the failed attempt, or the mail was
// refused before it was sent: the pass goes on with the next mail. Else the
// server could not be reached and the pass ends.
bool server_reached(const Error& err);

// `m` with the signature every mail of the notifier ends with appended to
// its body, its sender and recipient checked (check_mail_value).
Result<Mail> signed_mail(Mail m);

// The mail for a job: subject "[knooppunt] Nieuw in uw outbox / New in your
// outbox: GMxxxx", a short Dutch and English body naming the municipality,
// the file name and the kind. Refused ("notify-unsafe-value") when a value
// from the store holds a control character, or the recipient has no address.
Result<Mail> compose_mail(const store::NotificationJob& job, const std::string& sender);

// Claims and handles every notification due at `now_ms` for process `pid`,
// until none is due, `stop` is set, or the mail server could not be reached
// (the rest waits for the next pass). Returns how many it handled.
Result<int> send_due_notifications(store::Db& db, const NotifyConfig& c, int64_t pid,
                                   int64_t now_ms, const std::atomic<bool>* stop = nullptr);

// The sender thread of a worker process. Reads the settings of `data`;
// unless smtp_host is empty, starts a thread that opens its own store
// connection and, every `poll_ms`, releases claims of dead processes
// (`alive(pid)` false) and sends what is due. Never throws; a failure is
// logged and retried on the next pass.
class Notifier {
 public:
  Notifier(const DataDir& data, std::function<bool(int64_t)> alive, int poll_ms = 1000);
  // Stops the thread and waits for it (at most one mail in flight, bounded
  // by smtp_timeout_seconds).
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;
  bool running() const { return thread_.joinable(); }

 private:
  void run(DataDir data, NotifyConfig config);

  std::function<bool(int64_t)> alive_;
  int poll_ms_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace kp::workers
