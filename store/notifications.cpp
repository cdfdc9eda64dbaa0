// Notification queue; see notifications.h.
#include "store/notifications.h"

#include "store/claims.h"
#include "store/registry.h"

namespace kp::store {

namespace {

constexpr const char* kColumns =
    "id, outbox_item, municipality, account, state, attempts, next_attempt_ms, claim_pid, "
    "last_error, created_ms, done_ms";

Notification read_notification(const Stmt& st) {
  Notification n;
  n.id = st.col_int(0);
  n.outbox_item = st.col_int(1);
  n.municipality = st.col_text(2);
  n.account = st.col_text(3);
  n.state = st.col_text(4);
  n.attempts = st.col_int(5);
  n.next_attempt_ms = st.col_int(6);
  n.claim_pid = st.col_opt_int(7);
  n.last_error = st.col_opt_text(8);
  n.created_ms = st.col_int(9);
  n.done_ms = st.col_opt_int(10);
  return n;
}

bool notified_kind(const std::string& kind) {
  return kind == "sip" || kind == "request" || kind == "notice";
}

}  // namespace

Result<int> enqueue_notifications(Db& db, const OutboxItem& item, int64_t now_ms) {
  KP_ENSURE(!sqlite3_get_autocommit(db.raw()), "store-no-transaction",
            "notifications are queued in the transaction that writes the outbox item");
  KP_ENSURE(item.id > 0, "store-failed", "the outbox item has no id yet");
  if (!notified_kind(item.kind)) return 0;
  // Candidates in SQL (persons with an address and a live mandate here);
  // the rule itself (validity, level, scope) is policy::check_mandate.
  KP_TRY(Stmt st,
         db.prepare("SELECT DISTINCT a.id FROM accounts a JOIN mandates m ON m.person = a.id "
                    "WHERE m.municipality = ? AND m.revoked_ms IS NULL AND a.role = 'person' AND a.disabled_ms IS NULL "
                    "AND a.email IS NOT NULL AND a.email != '' ORDER BY a.id"));
  st.bind(1, item.municipality);
  std::vector<std::string> candidates;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) break;
    candidates.push_back(st.col_text(0));
  }
  std::vector<std::string> persons;
  for (const auto& person : candidates) {
    KP_TRY(auto m, latest_mandate(db, person, item.municipality));
    if (m && policy::check_mandate(*m, now_ms, policy::Scope::download).ok())
      persons.push_back(person);
  }
  int queued = 0;
  for (const auto& person : persons) {
    KP_TRY(Stmt ins,
           db.prepare(
               "INSERT INTO notifications(outbox_item, municipality, account, state, "
               "next_attempt_ms, created_ms) "
               "VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (outbox_item, account) DO NOTHING"));
    ins.bind(1, item.id).bind(2, item.municipality).bind(3, person).bind(4, now_ms).bind(5, now_ms);
    KP_GUARD(ins.run());
    queued += db.changes();
  }
  return queued;
}

Result<std::optional<NotificationJob>> claim_notification(Db& db, int64_t pid, int64_t now_ms) {
  // One statement: the row is claimed atomically even with many notifiers.
  KP_TRY(
      Stmt st,
      db.prepare(
          std::string(
              "UPDATE notifications SET state = 'sending', claim_pid = ?1, claimed_ms = ?2, "
              "attempts = attempts + 1 "
              "WHERE state = 'pending' AND id = (SELECT n.id FROM notifications n JOIN "
              "outbox_items o "
              "ON o.id = n.outbox_item WHERE n.state = 'pending' AND n.next_attempt_ms <= ?2 "
              "AND o.placed_ms IS NOT NULL ORDER BY n.next_attempt_ms, n.id LIMIT 1) RETURNING ") +
          kColumns));
  st.bind(1, pid).bind(2, now_ms);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<NotificationJob>();
  NotificationJob job;
  job.n = read_notification(st);
  KP_GUARD(st.run());

  KP_TRY(
      Stmt item,
      db.prepare("SELECT o.name, o.kind, o.acknowledged_ms IS NOT NULL, m.name FROM outbox_items o "
                 "JOIN municipalities m ON m.code = o.municipality WHERE o.id = ?"));
  item.bind(1, job.n.outbox_item);
  KP_TRY(bool item_row, item.step());
  KP_ENSURE(item_row, "store-failed",
            "outbox item " + std::to_string(job.n.outbox_item) + " is gone");
  job.item_name = item.col_text(0);
  job.item_kind = item.col_text(1);
  job.item_acknowledged = item.col_int(2) != 0;
  job.municipality_name = item.col_text(3);
  KP_TRY(auto account, find_account(db, job.n.account));
  if (account) job.email = account->email;
  KP_TRY(job.mandate, latest_mandate(db, job.n.account, job.n.municipality));
  return std::optional<NotificationJob>(std::move(job));
}

Result<int> release_dead_notification_claims(Db& db, const std::function<bool(int64_t)>& alive) {
  return release_dead_claims(db, {"notifications", "state", "sending", "pending"}, alive);
}

Status mark_mail_attempt(Db& db, const MailQueue& q, const NotificationUpdate& u,
                         const std::vector<AuditEvent>& events) {
  KP_ENSURE(
      u.state == "sent" || u.state == "pending" || u.state == "failed" || u.state == "cancelled",
      "store-failed", "bad " + std::string(q.noun) + " state " + u.state);
  KP_TRY(Transaction tx, Transaction::begin(db));
  const std::string state = q.state;
  KP_TRY(Stmt st, db.prepare("UPDATE " + std::string(q.table) + " SET " + state +
                             " = ?, last_error = ?, next_attempt_ms = ?, claim_pid = NULL, " +
                             q.done + " = ? WHERE id = ? AND " + state +
                             " = 'sending' AND claim_pid = ?"));
  std::optional<int64_t> done;
  if (u.state != "pending") done = u.now_ms;
  st.bind(1, u.state)
      .bind(2, u.error)
      .bind(3, u.state == "pending" ? u.next_attempt_ms : u.now_ms)
      .bind(4, done)
      .bind(5, u.id)
      .bind(6, u.pid);
  KP_GUARD(st.run());
  KP_ENSURE(db.changes() == 1, "claim-lost",
            q.noun + (" " + std::to_string(u.id)) + " is no longer claimed by this notifier");
  for (const auto& e : events) KP_GUARD(append_audit(db, e));
  return tx.commit();
}

Status mark_notification(Db& db, const NotificationUpdate& u,
                         const std::vector<AuditEvent>& events) {
  return mark_mail_attempt(db, {"notifications", "state", "done_ms", "notification"}, u, events);
}

Result<std::vector<Notification>> notifications_of_item(Db& db, int64_t outbox_item) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kColumns +
                             " FROM notifications WHERE outbox_item = ? ORDER BY id"));
  st.bind(1, outbox_item);
  std::vector<Notification> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_notification(st));
  }
}

}  // namespace kp::store
