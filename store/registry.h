// The registry: municipalities and their recipients, accounts (persons,
// staff, auditors) with their SSH keys, and mandates.
//
// Inputs are validated by the caller (policy/identifiers.h); these functions
// only store and look up, always with bound parameters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/mandate.h"
#include "store/audit_events.h"
#include "store/db.h"

namespace kp::store {

struct Municipality {
  std::string code;
  std::string name;
  std::vector<std::string> recipients;
};

struct Account {
  std::string id;
  std::string role;  // "person", "staff", "auditor"
  std::optional<std::string> email;
  std::optional<std::string> sign_key;   // minisign public key file text
  std::optional<std::string> recipient;  // age1... (staff)
  std::optional<int64_t> disabled_ms;    // set by `account disable`: no login, no access
};

struct SshKeyRecord {
  std::string key_type;    // "ssh-ed25519", ...
  std::string key_base64;  // the public key blob, base64 as in authorized_keys
  std::string fingerprint; // SHA256:...
};

// Errors: "already-exists".
Status add_municipality(Db& db, const Municipality& m, int64_t now_ms);
// Replaces the recipients of municipality `code` (rotation), with `audit`
// in the same transaction.
Status set_municipality_recipients(Db& db, const std::string& code, const std::vector<std::string>& recipients,
                                   int64_t now_ms, AuditEvent audit);
Result<std::optional<Municipality>> find_municipality(Db& db, const std::string& code);
Result<std::vector<Municipality>> list_municipalities(Db& db);

// Adds an account with one SSH key. Errors: "already-exists" (the id is
// taken by any role: login names are unambiguous), "key-in-use" (the key is
// registered to another account, named in the detail).
Status add_account(Db& db, const Account& a, const SshKeyRecord& key, int64_t now_ms);
// Disables `id` for good and, for a person, revokes every live mandate, in
// one transaction. Errors: "not-found", "already-disabled".
Status disable_account(Db& db, const std::string& id, int64_t now_ms);

Result<std::optional<Account>> find_account(Db& db, const std::string& id);
Result<std::vector<Account>> list_accounts(Db& db, const std::string& role);
// True when `key_base64` is a registered key of account `id`.
Result<bool> account_has_key(Db& db, const std::string& id, const std::string& key_base64);

// Grants a mandate. Errors: "already-exists" when a live (unrevoked) mandate
// for the same person and municipality exists.
Result<int64_t> grant_mandate(Db& db, const policy::Mandate& m);
// Revokes the live mandate. Errors: "not-found".
Status revoke_mandate(Db& db, const std::string& person, const std::string& municipality,
                      int64_t now_ms);
// The newest mandate of person for municipality (live or revoked), if any.
Result<std::optional<policy::Mandate>> latest_mandate(Db& db, const std::string& person,
                                                      const std::string& municipality);
// Every unrevoked mandate of `person`.
Result<std::vector<policy::Mandate>> live_mandates_of(Db& db, const std::string& person);
Result<std::vector<policy::Mandate>> list_mandates(Db& db);
// The mandate with `id`, through one statement kept prepared (the gateway
// checks it before every SFTP operation).
class MandateById {
 public:
  explicit MandateById(Db& db) : db_(db) {}
  Result<std::optional<policy::Mandate>> find(int64_t id);

 private:
  Db& db_;
  std::optional<Stmt> st_;
};

// Records the first successful login under mandate `id` (no-op afterwards).
Status mark_mandate_activated(Db& db, int64_t id, int64_t now_ms);

}  // namespace kp::store
