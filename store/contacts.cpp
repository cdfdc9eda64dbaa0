// Contact details and their confirmation; see contacts.h.
#include "store/contacts.h"

#include "store/claims.h"

namespace kp::store {

namespace {

constexpr int64_t kHourMs = 3600 * 1000;

Status audit_contact(Db& db, const std::string& event, const std::string& person,
                     const std::string& object, const std::string& source) {
  return audit_person_success(db, event, person, std::nullopt, object, source);
}

}  // namespace

Result<std::optional<Contact>> find_contact(Db& db, const std::string& account) {
  KP_TRY(Stmt st,
         db.prepare(
             "SELECT account, name, email, set_ms, confirmed_ms FROM contacts WHERE account = ?"));
  st.bind(1, account);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<Contact>();
  Contact c{
      st.col_text(0), st.col_text(1), st.col_text(2), st.col_int(3), st.col_opt_int(4), {}, {}};
  KP_TRY(Stmt mail,
         db.prepare("SELECT mail_state, last_error FROM contact_confirmations WHERE account = ? "
                    "ORDER BY id DESC LIMIT 1"));
  mail.bind(1, account);
  KP_TRY(bool has_mail, mail.step());
  if (has_mail) {
    c.mail_state = mail.col_text(0);
    c.mail_error = mail.col_opt_text(1);
  }
  return std::optional<Contact>(std::move(c));
}

Result<bool> set_contact(Db& db, const ContactChange& c) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt acc,
         db.prepare(
             "SELECT 1 FROM accounts WHERE id = ? AND role = 'person' AND disabled_ms IS NULL"));
  acc.bind(1, c.person);
  KP_TRY(bool active, acc.step());
  KP_ENSURE(active, "eh-account-disabled", "this person's account is disabled at the hub");
  KP_TRY(auto current, find_contact(db, c.person));
  if (current && current->email == c.email && current->confirmed_ms) {
    KP_TRY(Stmt up, db.prepare("UPDATE contacts SET name = ?, set_ms = ? WHERE account = ?"));
    up.bind(1, c.name).bind(2, c.now_ms).bind(3, c.person);
    KP_GUARD(up.run());
    KP_GUARD(audit_contact(db, "eherkenning.contact", c.person,
                           "contact name changed, address unchanged", c.source));
    KP_GUARD(tx.commit());
    return false;
  }
  KP_TRY(Stmt recent,
         db.prepare(
             "SELECT count(*) FROM contact_confirmations WHERE account = ? AND created_ms > ?"));
  recent.bind(1, c.person).bind(2, c.now_ms - kHourMs);
  KP_TRY(bool row, recent.step());
  KP_ENSURE(
      row && recent.col_int(0) < kMaxContactRequestsPerHour, "contact-too-many",
      "at most " + std::to_string(kMaxContactRequestsPerHour) + " confirmation mails per hour");
  KP_TRY(
      Stmt put,
      db.prepare(
          "INSERT INTO contacts(account, name, email, set_ms, confirmed_ms) VALUES (?,?,?,?,NULL) "
          "ON CONFLICT(account) DO UPDATE SET name = excluded.name, email = excluded.email, "
          "set_ms = excluded.set_ms, confirmed_ms = NULL"));
  put.bind(1, c.person).bind(2, c.name).bind(3, c.email).bind(4, c.now_ms);
  KP_GUARD(put.run());
  // The address notifications use is the confirmed one: none until this is.
  KP_TRY(Stmt clear, db.prepare("UPDATE accounts SET email = NULL WHERE id = ?"));
  clear.bind(1, c.person);
  KP_GUARD(clear.run());
  KP_TRY(Stmt old,
         db.prepare(
             "UPDATE contact_confirmations SET superseded_ms = ?1, "
             "mail_state = CASE WHEN mail_state = 'pending' THEN 'cancelled' ELSE mail_state END, "
             "last_error = CASE WHEN mail_state = 'pending' THEN 'superseded' ELSE last_error END "
             "WHERE account = ?2 AND used_ms IS NULL AND superseded_ms IS NULL"));
  old.bind(1, c.now_ms).bind(2, c.person);
  KP_GUARD(old.run());
  KP_TRY(
      Stmt add,
      db.prepare("INSERT INTO contact_confirmations(account, email, created_ms, next_attempt_ms) "
                 "VALUES (?,?,?,?)"));
  add.bind(1, c.person).bind(2, c.email).bind(3, c.now_ms).bind(4, c.now_ms);
  KP_GUARD(add.run());
  const int64_t id = db.last_insert_rowid();
  KP_GUARD(audit_contact(
      db, "eherkenning.contact", c.person,
      "contact details set, confirmation " + std::to_string(id) + " mailed to the new address",
      c.source));
  KP_GUARD(tx.commit());
  return true;
}

Result<Confirmed> confirm_contact(Db& db, const Sha256Digest& token_hash, const std::string& source,
                                  int64_t now_ms) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt find, db.prepare("SELECT id, account, email, expires_ms, used_ms, superseded_ms "
                               "FROM contact_confirmations WHERE token_hash = ?"));
  find.bind_blob(1, token_hash.data(), token_hash.size());
  KP_TRY(bool row, find.step());
  KP_ENSURE(row, "contact-token-unknown", "no confirmation has this token");
  const int64_t id = find.col_int(0);
  Confirmed out{find.col_text(1), find.col_text(2)};
  KP_ENSURE(!find.col_opt_int(4), "contact-token-used",
            "confirmation " + std::to_string(id) + " was used before");
  KP_ENSURE(!find.col_opt_int(5), "contact-token-superseded",
            "confirmation " + std::to_string(id) + " was replaced by a newer one");
  KP_ENSURE(find.col_opt_int(3).value_or(0) > now_ms, "contact-token-expired",
            "confirmation " + std::to_string(id) + " expired");
  KP_TRY(Stmt used, db.prepare("UPDATE contact_confirmations SET used_ms = ? WHERE id = ?"));
  used.bind(1, now_ms).bind(2, id);
  KP_GUARD(used.run());
  KP_TRY(Stmt contact,
         db.prepare("UPDATE contacts SET confirmed_ms = ? WHERE account = ? AND email = ?"));
  contact.bind(1, now_ms).bind(2, out.account).bind(3, out.email);
  KP_GUARD(contact.run());
  // Defensive: a request that is not superseded names the current address.
  KP_ENSURE(db.changes() == 1, "contact-token-superseded", "the contact's address changed");
  KP_TRY(Stmt acc, db.prepare("UPDATE accounts SET email = ? WHERE id = ?"));
  acc.bind(1, out.email).bind(2, out.account);
  KP_GUARD(acc.run());
  KP_GUARD(audit_contact(db, "eherkenning.contact_confirmed", out.account,
                         "contact address confirmed by confirmation " + std::to_string(id),
                         source));
  KP_GUARD(tx.commit());
  return out;
}

Result<std::optional<ConfirmationJob>> claim_confirmation_mail(Db& db, int64_t pid, int64_t now_ms,
                                                               const Sha256Digest& token_hash,
                                                               int64_t expires_ms) {
  KP_TRY(
      Stmt st,
      db.prepare(
          "UPDATE contact_confirmations SET mail_state = 'sending', claim_pid = ?1, attempts = "
          "attempts + 1, "
          "token_hash = ?3, expires_ms = ?4 WHERE mail_state = 'pending' AND id = (SELECT id FROM "
          "contact_confirmations WHERE mail_state = 'pending' AND next_attempt_ms <= ?2 AND "
          "superseded_ms "
          "IS NULL ORDER BY next_attempt_ms, id LIMIT 1) RETURNING id, account, email, attempts"));
  st.bind(1, pid)
      .bind(2, now_ms)
      .bind_blob(3, token_hash.data(), token_hash.size())
      .bind(4, expires_ms);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<ConfirmationJob>();
  ConfirmationJob job;
  job.id = st.col_int(0);
  job.account = st.col_text(1);
  job.email = st.col_text(2);
  job.attempts = st.col_int(3);
  job.expires_ms = expires_ms;
  KP_GUARD(st.run());
  KP_TRY(auto contact, find_contact(db, job.account));
  if (contact) job.name = contact->name;
  return std::optional<ConfirmationJob>(std::move(job));
}

Result<int> release_dead_confirmation_claims(Db& db, const std::function<bool(int64_t)>& alive) {
  return release_dead_claims(db, {"contact_confirmations", "mail_state", "sending", "pending"}, alive);
}

Status mark_confirmation_mail(Db& db, const NotificationUpdate& u,
                              const std::vector<AuditEvent>& events) {
  return mark_mail_attempt(db, {"contact_confirmations", "mail_state", "mail_done_ms", "confirmation"},
                           u, events);
}

}  // namespace kp::store
