// Registry storage; see registry.h.
#include "store/registry.h"

namespace kp::store {

namespace {

Error map_constraint(const Error& e, const std::string& what) {
  if (e.code == "store-duplicate") return make_error("already-exists", what + " already exists");
  return e;
}

constexpr const char* kMandateColumns =
    "id, person, municipality, scopes, level, valid_from_ms, valid_until_ms, granted_ms, "
    "activated_ms, revoked_ms";

policy::Mandate read_mandate(const Stmt& st) {
  policy::Mandate m;
  m.id = st.col_int(0);
  m.person = st.col_text(1);
  m.municipality = st.col_text(2);
  m.scopes = st.col_text(3);
  m.level = st.col_text(4);
  m.valid_from_ms = st.col_int(5);
  m.valid_until_ms = st.col_opt_int(6);
  m.granted_ms = st.col_int(7);
  m.activated_ms = st.col_opt_int(8);
  m.revoked_ms = st.col_opt_int(9);
  return m;
}

Result<std::vector<policy::Mandate>> query_mandates(Stmt& st) {
  std::vector<policy::Mandate> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_mandate(st));
  }
}

constexpr const char* kAccountColumns = "id, role, email, sign_key, recipient, disabled_ms";

Account read_account(const Stmt& st) {
  return Account{st.col_text(0),     st.col_text(1),     st.col_opt_text(2),
                 st.col_opt_text(3), st.col_opt_text(4), st.col_opt_int(5)};
}

// Inserts the recipients of `code` (inside the caller's transaction).
Status insert_recipients(Db& db, const std::string& code,
                         const std::vector<std::string>& recipients, int64_t now_ms) {
  for (const auto& r : recipients) {
    KP_TRY(Stmt rs, db.prepare("INSERT INTO municipality_recipients(municipality, recipient, "
                               "added_ms) VALUES (?, ?, ?)"));
    rs.bind(1, code).bind(2, r).bind(3, now_ms);
    Status rs_status = rs.run();
    if (!rs_status.ok()) return map_constraint(rs_status.error(), "recipient " + r);
  }
  return ok_status();
}

}  // namespace

Status add_municipality(Db& db, const Municipality& m, int64_t now_ms) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt st,
         db.prepare("INSERT INTO municipalities(code, name, created_ms) VALUES (?, ?, ?)"));
  st.bind(1, m.code).bind(2, m.name).bind(3, now_ms);
  Status s = st.run();
  if (!s.ok()) return map_constraint(s.error(), "municipality " + m.code);
  KP_GUARD(insert_recipients(db, m.code, m.recipients, now_ms));
  return tx.commit();
}

Status set_municipality_recipients(Db& db, const std::string& code,
                                   const std::vector<std::string>& recipients, int64_t now_ms,
                                   AuditEvent audit) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt del, db.prepare("DELETE FROM municipality_recipients WHERE municipality = ?"));
  del.bind(1, code);
  KP_GUARD(del.run());
  KP_GUARD(insert_recipients(db, code, recipients, now_ms));
  KP_GUARD(append_audit(db, audit));
  return tx.commit();
}

Result<std::optional<Municipality>> find_municipality(Db& db, const std::string& code) {
  KP_TRY(Stmt st, db.prepare("SELECT code, name FROM municipalities WHERE code = ?"));
  st.bind(1, code);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<Municipality>();
  Municipality m{st.col_text(0), st.col_text(1), {}};
  KP_TRY(Stmt rs, db.prepare("SELECT recipient FROM municipality_recipients WHERE municipality = ? "
                             "ORDER BY added_ms"));
  rs.bind(1, code);
  for (;;) {
    KP_TRY(bool r, rs.step());
    if (!r) break;
    m.recipients.push_back(rs.col_text(0));
  }
  return std::optional<Municipality>(std::move(m));
}

Result<std::vector<Municipality>> list_municipalities(Db& db) {
  KP_TRY(Stmt st, db.prepare("SELECT code FROM municipalities ORDER BY code"));
  std::vector<Municipality> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    KP_TRY(auto m, find_municipality(db, st.col_text(0)));
    if (m) out.push_back(std::move(*m));
  }
}

Status add_account(Db& db, const Account& a, const SshKeyRecord& key, int64_t now_ms) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(Stmt st, db.prepare("INSERT INTO accounts(id, role, email, sign_key, recipient, "
                             "created_ms) VALUES (?,?,?,?,?,?)"));
  st.bind(1, a.id)
      .bind(2, a.role)
      .bind(3, a.email)
      .bind(4, a.sign_key)
      .bind(5, a.recipient)
      .bind(6, now_ms);
  Status s = st.run();
  if (!s.ok()) return map_constraint(s.error(), "account " + a.id);
  // One SSH key, one account: a key registered to another account (of any
  // role) would log in as that account too.
  KP_TRY(Stmt owner, db.prepare("SELECT account FROM ssh_keys WHERE key_base64 = ? LIMIT 1"));
  owner.bind(1, key.key_base64);
  KP_TRY(bool taken, owner.step());
  KP_ENSURE(!taken, "key-in-use",
            "the SSH key " + key.fingerprint + " is already registered to " + owner.col_text(0) +
                "; every account needs a key of its own");
  KP_TRY(Stmt ks,
         db.prepare(
             "INSERT INTO ssh_keys(account, key_type, key_base64, fingerprint) VALUES (?,?,?,?)"));
  ks.bind(1, a.id).bind(2, key.key_type).bind(3, key.key_base64).bind(4, key.fingerprint);
  Status ks_status = ks.run();
  if (!ks_status.ok()) return map_constraint(ks_status.error(), "ssh key " + key.fingerprint);
  return tx.commit();
}

Result<std::optional<Account>> find_account(Db& db, const std::string& id) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE id = ?"));
  st.bind(1, id);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<Account>();
  return std::optional<Account>(read_account(st));
}

Status disable_account(Db& db, const std::string& id, int64_t now_ms) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  KP_TRY(auto account, find_account(db, id));
  KP_ENSURE(account, "not-found", "no account " + id);
  KP_ENSURE(!account->disabled_ms, "already-disabled", id + " is already disabled");
  KP_TRY(Stmt st, db.prepare("UPDATE accounts SET disabled_ms = ? WHERE id = ?"));
  st.bind(1, now_ms).bind(2, id);
  KP_GUARD(st.run());
  KP_TRY(Stmt m, db.prepare("UPDATE mandates SET revoked_ms = ? WHERE person = ? AND revoked_ms IS NULL"));
  m.bind(1, now_ms).bind(2, id);
  KP_GUARD(m.run());
  return tx.commit();
}

Result<std::vector<Account>> list_accounts(Db& db, const std::string& role) {
  KP_TRY(
      Stmt st,
      db.prepare(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE role = ? ORDER BY id"));
  st.bind(1, role);
  std::vector<Account> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_account(st));
  }
}

Result<bool> account_has_key(Db& db, const std::string& id, const std::string& key_base64) {
  KP_TRY(Stmt st, db.prepare("SELECT 1 FROM ssh_keys WHERE account = ? AND key_base64 = ?"));
  st.bind(1, id).bind(2, key_base64);
  return st.step();
}

Result<int64_t> grant_mandate(Db& db, const policy::Mandate& m) {
  KP_TRY(Stmt st, db.prepare("INSERT INTO mandates(person, municipality, scopes, level, "
                             "valid_from_ms, valid_until_ms, "
                             "granted_ms) VALUES (?,?,?,?,?,?,?)"));
  st.bind(1, m.person)
      .bind(2, m.municipality)
      .bind(3, m.scopes)
      .bind(4, m.level)
      .bind(5, m.valid_from_ms)
      .bind(6, m.valid_until_ms)
      .bind(7, m.granted_ms);
  Status s = st.run();
  if (!s.ok())
    return map_constraint(s.error(), "a live mandate of " + m.person + " for " + m.municipality);
  return db.last_insert_rowid();
}

Status revoke_mandate(Db& db, const std::string& person, const std::string& municipality,
                      int64_t now_ms) {
  KP_TRY(Stmt st, db.prepare("UPDATE mandates SET revoked_ms = ? WHERE person = ? AND municipality "
                             "= ? AND revoked_ms IS NULL"));
  st.bind(1, now_ms).bind(2, person).bind(3, municipality);
  KP_GUARD(st.run());
  KP_ENSURE(db.changes() > 0, "not-found", "no live mandate of " + person + " for " + municipality);
  return ok_status();
}

Result<std::optional<policy::Mandate>> latest_mandate(Db& db, const std::string& person,
                                                      const std::string& municipality) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kMandateColumns +
                             " FROM mandates WHERE person = ? AND municipality = ? "
                             "ORDER BY (revoked_ms IS NULL) DESC, id DESC LIMIT 1"));
  st.bind(1, person).bind(2, municipality);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<policy::Mandate>();
  return std::optional<policy::Mandate>(read_mandate(st));
}

Result<std::vector<policy::Mandate>> live_mandates_of(Db& db, const std::string& person) {
  KP_TRY(
      Stmt st,
      db.prepare(std::string("SELECT ") + kMandateColumns +
                 " FROM mandates WHERE person = ? AND revoked_ms IS NULL ORDER BY municipality"));
  st.bind(1, person);
  return query_mandates(st);
}

Result<std::vector<policy::Mandate>> list_mandates(Db& db) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kMandateColumns +
                             " FROM mandates ORDER BY person, municipality, id"));
  return query_mandates(st);
}

Result<std::optional<policy::Mandate>> MandateById::find(int64_t id) {
  if (!st_) {
    KP_TRY(Stmt st,
           db_.prepare(std::string("SELECT ") + kMandateColumns + " FROM mandates WHERE id = ?"));
    st_.emplace(std::move(st));
  }
  st_->reset();
  st_->bind(1, id);
  KP_TRY(bool row, st_->step());
  std::optional<policy::Mandate> m;
  if (row) m = read_mandate(*st_);
  st_->reset();
  return m;
}

Status mark_mandate_activated(Db& db, int64_t id, int64_t now_ms) {
  KP_TRY(Stmt st,
         db.prepare("UPDATE mandates SET activated_ms = ? WHERE id = ? AND activated_ms IS NULL"));
  st.bind(1, now_ms).bind(2, id);
  return st.run();
}

}  // namespace kp::store
