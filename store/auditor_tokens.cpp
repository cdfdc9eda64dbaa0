// Auditor token hashes; see auditor_tokens.h.
#include "store/auditor_tokens.h"

namespace kp::store {

Status set_auditor_token(Db& db, const std::string& account, const TokenHash& hash,
                         int64_t now_ms) {
  KP_TRY(Stmt st,
         db.prepare(
             "INSERT INTO auditor_tokens(account, hash, set_ms) "
             "SELECT id, ?2, ?3 FROM accounts WHERE id = ?1 AND role = 'auditor' "
             "ON CONFLICT(account) DO UPDATE SET hash = excluded.hash, set_ms = excluded.set_ms"));
  st.bind(1, account).bind_blob(2, hash.data(), hash.size()).bind(3, now_ms);
  KP_GUARD(st.run());
  KP_ENSURE(db.changes() == 1, "not-found", "no auditor " + account);
  return ok_status();
}

Result<std::optional<TokenHash>> auditor_token(Db& db, const std::string& account) {
  KP_TRY(Stmt st,
         db.prepare("SELECT t.hash FROM auditor_tokens t JOIN accounts a ON a.id = t.account "
                    "WHERE t.account = ? AND a.role = 'auditor' AND a.disabled_ms IS NULL"));
  st.bind(1, account);
  KP_TRY(bool row, st.step());
  if (!row || st.col_blob(0).size() != 32) return std::optional<TokenHash>();
  return std::optional<TokenHash>(st.col_hash(0));
}

}  // namespace kp::store
