// eHerkenning in the store; see eherkenning.h.
#include "store/eherkenning.h"

#include "store/audit_events.h"

namespace kp::store {

Status set_municipality_org(Db& db, const std::string& code, const std::optional<std::string>& kvk,
                            const std::optional<std::string>& rsin) {
  KP_TRY(Stmt st, db.prepare("UPDATE municipalities SET kvk = coalesce(?, kvk), rsin = coalesce(?, rsin) "
                             "WHERE code = ?"));
  st.bind(1, kvk).bind(2, rsin).bind(3, code);
  Status s = st.run();
  if (!s.ok()) {
    if (s.error().code == "store-duplicate")
      return make_error("already-exists", "another municipality has that KvK number or RSIN");
    return s;
  }
  KP_ENSURE(db.changes() > 0, "not-found", "municipality " + code + " is not registered");
  return ok_status();
}

Result<std::optional<std::string>> municipality_by_org(Db& db, const std::string& kind,
                                                       const std::string& number) {
  KP_TRY(Stmt st, db.prepare(kind == "rsin" ? "SELECT code FROM municipalities WHERE rsin = ?"
                                            : "SELECT code FROM municipalities WHERE kvk = ?"));
  st.bind(1, number);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.col_text(0));
}

Result<bool> assertion_seen(Db& db, const std::string& id, int64_t now_ms) {
  KP_TRY(Stmt st, db.prepare("SELECT 1 FROM saml_assertions WHERE id = ? AND expires_ms >= ?"));
  st.bind(1, id).bind(2, now_ms);
  return st.step();
}

namespace {

// False when the id was seen before (and has not expired yet).
Result<bool> remember_assertion(Db& db, const std::string& id, int64_t expires_ms, int64_t now_ms) {
  KP_TRY(Stmt purge, db.prepare("DELETE FROM saml_assertions WHERE expires_ms < ?"));
  purge.bind(1, now_ms);
  KP_GUARD(purge.run());
  KP_TRY(Stmt st, db.prepare("INSERT INTO saml_assertions(id, expires_ms, seen_ms) VALUES (?,?,?) "
                             "ON CONFLICT(id) DO NOTHING"));
  st.bind(1, id).bind(2, expires_ms).bind(3, now_ms);
  KP_GUARD(st.run());
  return db.changes() > 0;
}

// The person keyed by `pseudonym`, created when new. Returns (id, created).
Result<std::pair<std::string, bool>> person_for(Db& db, const std::string& pseudonym, int64_t now_ms) {
  KP_TRY(Stmt find, db.prepare("SELECT id, disabled_ms FROM accounts WHERE pseudonym = ?"));
  find.bind(1, pseudonym);
  KP_TRY(bool row, find.step());
  if (row) {
    KP_ENSURE(!find.col_opt_int(1), "eh-account-disabled", "this person's account is disabled at the hub");
    return std::make_pair(find.col_text(0), false);
  }
  std::string id = policy::person_id_for_pseudonym(pseudonym);
  KP_TRY(Stmt add, db.prepare("INSERT INTO accounts(id, role, pseudonym, created_ms) VALUES (?, 'person', ?, ?)"));
  add.bind(1, id).bind(2, pseudonym).bind(3, now_ms);
  KP_GUARD(add.run());
  return std::make_pair(id, true);
}

}  // namespace

Result<EhLoginResult> record_eh_login(Db& db, const EhLogin& l, int64_t now_ms) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(bool fresh, remember_assertion(db, l.facts.assertion_id, l.facts.expires_ms, now_ms));
  KP_ENSURE(fresh, "eh-replayed", "this assertion was used before");
  KP_TRY(auto person, person_for(db, l.facts.pseudonym, now_ms));
  EhLoginResult r;
  r.person = person.first;
  const int64_t until = now_ms + l.mandate_period_ms;
  std::optional<std::string> intermediary;
  if (!l.facts.intermediary.empty()) intermediary = l.facts.intermediary;
  KP_TRY(Stmt live, db.prepare("SELECT id FROM mandates WHERE person = ? AND municipality = ? AND revoked_ms IS NULL"));
  live.bind(1, r.person).bind(2, l.municipality);
  KP_TRY(bool has_live, live.step());
  if (has_live) {
    r.mandate_id = live.col_int(0);
    KP_TRY(Stmt up, db.prepare("UPDATE mandates SET level = ?, last_seen_ms = ?, intermediary = ?, "
                               "valid_until_ms = CASE WHEN granted_by = 'eherkenning' THEN ? ELSE valid_until_ms END "
                               "WHERE id = ?"));
    up.bind(1, l.level).bind(2, now_ms).bind(3, intermediary).bind(4, until).bind(5, r.mandate_id);
    KP_GUARD(up.run());
  } else {
    // A mandate the hub revoked stays revoked: a new login does not undo
    // `mandate revoke` (the operator grants it again if it should be).
    KP_TRY(Stmt revoked, db.prepare("SELECT 1 FROM mandates WHERE person = ? AND municipality = ? "
                                    "AND revoked_ms IS NOT NULL"));
    revoked.bind(1, r.person).bind(2, l.municipality);
    KP_TRY(bool was_revoked, revoked.step());
    KP_ENSURE(!was_revoked, "eh-mandate-revoked", "the hub revoked this person's mandate for " + l.municipality);
    KP_TRY(Stmt add, db.prepare("INSERT INTO mandates(person, municipality, scopes, level, valid_from_ms, "
                                "valid_until_ms, granted_ms, activated_ms, granted_by, assertion_id, "
                                "intermediary, last_seen_ms) VALUES (?,?,'upload,download',?,?,?,?,?,'eherkenning',?,?,?)"));
    add.bind(1, r.person).bind(2, l.municipality).bind(3, l.level).bind(4, now_ms).bind(5, until)
        .bind(6, now_ms).bind(7, now_ms).bind(8, l.facts.assertion_id).bind(9, intermediary).bind(10, now_ms);
    KP_GUARD(add.run());
    r.mandate_id = db.last_insert_rowid();
    r.first_login = true;
  }
  KP_GUARD(audit_person_success(
      db, "eherkenning.login", r.person, l.municipality,
      (r.first_login ? "mandate granted by eHerkenning assertion " : "mandate refreshed by eHerkenning assertion ") +
          l.facts.assertion_id + " (" + l.level + (intermediary ? ", chain mandate via KvK " + *intermediary : "") + ")",
      l.source));
  KP_GUARD(tx.commit());
  return r;
}

Status register_eh_sign_key(Db& db, const std::string& person, const std::string& key_text,
                            const std::string& key_id, const std::string& replaced_id, const std::string& source) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt up, db.prepare("UPDATE accounts SET sign_key = ? WHERE id = ? AND role = 'person' "
                             "AND disabled_ms IS NULL"));
  up.bind(1, key_text).bind(2, person);
  KP_GUARD(up.run());
  KP_ENSURE(db.changes() > 0, "eh-account-disabled", "this person's account is disabled at the hub");
  KP_GUARD(audit_person_success(db, "eherkenning.sign_key", person, std::nullopt,
                                "minisign key " + key_id + (replaced_id.empty() ? "" : " (replaces " + replaced_id + ")"),
                                source));
  return tx.commit();
}

namespace {

// A person's municipal system key added or removed (`event`), audited.
Status audit_system_key(Db& db, const char* event, const std::string& person, const std::string& municipality,
                        const std::string& fingerprint, int64_t mandate_id, const std::string& source) {
  return audit_person_success(db, event, person, municipality,
                              "municipal system key " + fingerprint + " bound to mandate " +
                                  std::to_string(mandate_id),
                              source);
}

}  // namespace

Status add_municipal_key(Db& db, const std::string& person, const std::string& municipality, int64_t mandate_id,
                         const SshKeyRecord& key, const std::string& source, int64_t now_ms) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt own, db.prepare("SELECT 1 FROM ssh_keys WHERE key_base64 = ?"));
  own.bind(1, key.key_base64);
  KP_TRY(bool taken, own.step());
  KP_ENSURE(!taken, "key-in-use", "the SSH key " + key.fingerprint + " is an account's own key");
  KP_TRY(Stmt add, db.prepare("INSERT INTO municipal_keys(account, municipality, mandate_id, key_type, key_base64, "
                              "fingerprint, created_ms) VALUES (?,?,?,?,?,?,?)"));
  add.bind(1, person).bind(2, municipality).bind(3, mandate_id).bind(4, key.key_type).bind(5, key.key_base64)
      .bind(6, key.fingerprint).bind(7, now_ms);
  Status s = add.run();
  if (!s.ok()) {
    if (s.error().code == "store-duplicate")
      return make_error("already-exists", "the key " + key.fingerprint + " is registered for " + municipality);
    return s;
  }
  KP_GUARD(audit_system_key(db, "eherkenning.system_key", person, municipality, key.fingerprint,
                            mandate_id, source));
  return tx.commit();
}

Result<std::optional<int64_t>> municipal_key_mandate(Db& db, const std::string& person,
                                                     const std::string& municipality,
                                                     const std::string& key_base64) {
  KP_TRY(Stmt st, db.prepare("SELECT mandate_id FROM municipal_keys WHERE account = ? AND municipality = ? "
                             "AND key_base64 = ?"));
  st.bind(1, person).bind(2, municipality).bind(3, key_base64);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.col_int(0));
}

Result<std::vector<MunicipalKey>> municipal_keys_of(Db& db, const std::string& person) {
  KP_TRY(Stmt st, db.prepare("SELECT k.municipality, k.key_type, k.fingerprint, k.mandate_id, k.created_ms, "
                             "m.valid_until_ms, m.revoked_ms FROM municipal_keys k JOIN mandates m ON m.id = k.mandate_id "
                             "WHERE k.account = ? ORDER BY k.municipality, k.created_ms, k.fingerprint"));
  st.bind(1, person);
  std::vector<MunicipalKey> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) break;
    MunicipalKey k;
    k.municipality = st.col_text(0);
    k.key_type = st.col_text(1);
    k.fingerprint = st.col_text(2);
    k.mandate_id = st.col_int(3);
    k.created_ms = st.col_int(4);
    k.mandate_until_ms = st.col_opt_int(5);
    k.mandate_revoked = st.col_opt_int(6).has_value();
    out.push_back(std::move(k));
  }
  return out;
}

Status remove_municipal_key(Db& db, const std::string& person, const std::string& municipality,
                            const std::string& fingerprint, const std::string& source) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt find, db.prepare("SELECT mandate_id FROM municipal_keys WHERE account = ? AND municipality = ? "
                               "AND fingerprint = ?"));
  find.bind(1, person).bind(2, municipality).bind(3, fingerprint);
  KP_TRY(bool row, find.step());
  KP_ENSURE(row, "system-key-unknown", "no municipal system key " + fingerprint + " of yours for " + municipality);
  const int64_t mandate_id = find.col_int(0);
  KP_TRY(Stmt del, db.prepare("DELETE FROM municipal_keys WHERE account = ? AND municipality = ? AND fingerprint = ?"));
  del.bind(1, person).bind(2, municipality).bind(3, fingerprint);
  KP_GUARD(del.run());
  KP_GUARD(audit_system_key(db, "eherkenning.system_key_removed", person, municipality, fingerprint,
                            mandate_id, source));
  return tx.commit();
}

}  // namespace kp::store
