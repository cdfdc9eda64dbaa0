// eHerkenning in the store: municipalities by KvK number or RSIN, the
// replay cache of assertion ids, and the one transaction a successful login
// writes (person by pseudonym, mandate, audit record).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/eherkenning.h"
#include "store/db.h"
#include "store/registry.h"

namespace kp::store {

// Sets a municipality's KvK number and/or RSIN (nullopt = leave as is).
// Errors: "not-found", "already-exists" (another municipality has it).
Status set_municipality_org(Db& db, const std::string& code, const std::optional<std::string>& kvk,
                            const std::optional<std::string>& rsin);

// The GM code registered for KvK number / RSIN `number` (`kind` "kvk" or
// "rsin"), if any.
Result<std::optional<std::string>> municipality_by_org(Db& db, const std::string& kind,
                                                       const std::string& number);

// True when assertion `id` was accepted before and its entry has not
// expired: a read, so the monitor can name a replay before it looks at
// anything else (record_eh_login still refuses it, in its transaction).
Result<bool> assertion_seen(Db& db, const std::string& id, int64_t now_ms);

struct EhLogin {
  policy::LoginFacts facts;
  std::string municipality;  // GM code the organisation maps to
  std::string level;         // EH3, EH4
  int64_t mandate_period_ms = 0;
  std::string source;        // client address
};

struct EhLoginResult {
  std::string person;       // account id
  int64_t mandate_id = 0;
  bool first_login = false;  // person and mandate were made by this login
};

// One transaction: remembers the assertion id (refused "eh-replayed" when
// it was seen before; expired ids are dropped first), finds or creates the
// person keyed by the pseudonym, refreshes the live mandate (level, last
// seen, valid until now + period) or grants one (granted_by "eherkenning",
// the assertion id, activated now), and appends `eherkenning.login`.
// Errors: "eh-replayed", "eh-account-disabled", "eh-mandate-revoked" (no
// live mandate, and the hub revoked one: `mandate revoke` is not undone by
// a login; the operator may `mandate grant` again, which logins then refresh
// without changing its validity).
Result<EhLoginResult> record_eh_login(Db& db, const EhLogin& login, int64_t now_ms);

// Registers `key_text` (a minisign public key file, checked by the caller)
// as the person's signing key -- one per person, for every municipality
// they act for, the key intake checks their manifests against, as
// `person add --sign-key` does for an operator-managed person -- replacing
// any earlier one, and appends `eherkenning.sign_key` naming the key id
// (and the one it replaces), in one transaction.
// Errors: "eh-account-disabled" (no such person, or disabled).
Status register_eh_sign_key(Db& db, const std::string& person, const std::string& key_text,
                            const std::string& key_id, const std::string& replaced_id, const std::string& source);

// Registers `key` as a long-lived key of a municipal system for `person`
// at `municipality`, bound to mandate `mandate_id` (the caller checked it is
// live), and appends `eherkenning.system_key` (fingerprint, mandate) in one
// transaction. Errors: "key-in-use" (the key is an account's own SSH key),
// "already-exists" (registered before for this person and municipality).
Status add_municipal_key(Db& db, const std::string& person, const std::string& municipality, int64_t mandate_id,
                         const SshKeyRecord& key, const std::string& source, int64_t now_ms);

// The mandate a municipal key of `person` at `municipality` is bound to, if
// `key_base64` is one.
Result<std::optional<int64_t>> municipal_key_mandate(Db& db, const std::string& person,
                                                     const std::string& municipality,
                                                     const std::string& key_base64);

// A municipal system's key as the person's page lists it, with the end of
// the mandate it is bound to (nullopt: no end date).
struct MunicipalKey {
  std::string municipality, key_type, fingerprint;
  int64_t mandate_id = 0;
  int64_t created_ms = 0;
  std::optional<int64_t> mandate_until_ms;
  bool mandate_revoked = false;
};

// The municipal systems' keys `person` registered, by municipality, then
// registration time.
Result<std::vector<MunicipalKey>> municipal_keys_of(Db& db, const std::string& person);

// Removes the municipal system's key with `fingerprint` that `person`
// registered for `municipality` and appends `eherkenning.system_key_removed`
// (fingerprint, mandate) in one transaction; the key logs in no more.
// Errors: "system-key-unknown" (no such key of this person there: also for
// another person's key, which is never named).
Status remove_municipal_key(Db& db, const std::string& person, const std::string& municipality,
                            const std::string& fingerprint, const std::string& source);

}  // namespace kp::store
