// Who a session is: login name -> role (+ municipality for persons), fixed
// at authentication and rechecked before every operation.
//
// A person logs in as PERSON@GMxxxx, or as PERSON when exactly one live
// mandate exists; staff and auditors log in with their id. No request field
// can change a principal after authentication (STYLE habit 7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "policy/mandate.h"
#include "store/audit_events.h"
#include "store/commit_watch.h"
#include "store/db.h"
#include "keys/ssh_cert.h"
#include "store/registry.h"

namespace kp::gateway {

enum class Role { person, staff, auditor };
std::string_view role_name(Role r);

struct LoginName {
  std::string account;
  std::optional<std::string> municipality;
};

// Parses "id" or "id@GMxxxx". Error "login-name-invalid" (nothing of the
// name is echoed into paths or SQL before it passed these checks).
Result<LoginName> parse_login(std::string_view user);

struct Principal {
  Role role = Role::person;
  std::string account;
  std::string municipality;  // persons only
  int64_t mandate_id = 0;    // persons only
  std::string source;        // client address, for the audit log
  std::string municipal_key;  // the municipal system's key (base64) it logged in with, or ""
};

class Authority {
 public:
  explicit Authority(store::Db& db);

  // The gateway's user CA (keys/ssh_cert.h): certificates it signed log in
  // persons as their principal PERSON@GMxxxx; without it every certificate
  // is refused ("cert-ca-unknown").
  void set_user_ca(const keys::Ed25519Public& ca) { user_ca_ = ca; }

  // For the key probe (no signature yet): true when `key` is registered to
  // the account, or is a certificate from our CA that check_certificate
  // accepts for `login`. Never authenticates.
  Result<bool> key_registered(const LoginName& login, const store::SshKeyRecord& key);

  // After libssh verified the signature: the account exists, the key is its,
  // and for persons a live mandate for the municipality exists. On success
  // the mandate is marked activated (first login) and the principal fixed.
  // Refusal codes: "unknown-user", "key-not-registered", "mandate-missing",
  // "municipality-ambiguous", and those of policy::check_mandate; for a
  // certificate also "cert-login-name" (log in as PERSON@GMxxxx), "cert-not-person",
  // and those of keys::verify_cert / keys::check_cert (cert-ca-unknown,
  // cert-expired, cert-principal-wrong, cert-critical-option, ...). A key
  // of a municipal system (store::add_municipal_key) logs in only as
  // PERSON@GMxxxx for its municipality, while the mandate it is bound to is
  // live ("key-mandate-ended" once another mandate replaced it).
  Result<Principal> authenticate(const LoginName& login, const store::SshKeyRecord& key,
                                 const std::string& source);

  // Before every operation: the principal is still entitled (persons: the
  // mandate is live and has `scope`, if given; staff and auditors: the
  // account is not disabled). The mandate is read again
  // whenever anything was committed since the last read (store::CommitWatch),
  // so a revocation counts from the first operation after it; between
  // commits the row read last is still the row, and only the clock and the
  // scope are checked again. has_scope() answers from the same row. A
  // session of a municipal system's key also ends when the key is removed
  // ("system-key-removed").
  Status recheck(const Principal& p, std::optional<policy::Scope> scope);
  // Whether the mandate read by the last recheck() grants `scope` (staff
  // and auditors: always; their areas carry no scope).
  bool has_scope(const Principal& p, policy::Scope scope) const;

  // Writes an audit event for this session (actor, role, municipality,
  // source and channel filled from `p`).
  void audit(const Principal& p, store::AuditEvent e);
  // The same, for a caller whose answer depends on the record (inside its
  // transaction): the append's result instead of a log line.
  Result<int64_t> audit_checked(const Principal& p, store::AuditEvent e);

  store::Db& db() { return db_; }

 private:
  Status check_certificate(const LoginName& login, const store::SshKeyRecord& key);
  store::Db& db_;
  std::optional<keys::Ed25519Public> user_ca_;
  std::optional<store::MandateById> mandates_;
  std::optional<store::CommitWatch> commits_;
  std::optional<policy::Mandate> last_mandate_;  // persons
  bool account_live_ = false;                     // staff and auditors
};

// Audits an event of a connection that has no principal yet (failed logins).
void audit_connection(store::Db& db, const std::string& event, const std::string& outcome,
                      const std::string& source, std::optional<std::string> actor,
                      std::optional<std::string> municipality, std::optional<std::string> reason,
                      std::optional<std::string> role = std::nullopt);

}  // namespace kp::gateway
