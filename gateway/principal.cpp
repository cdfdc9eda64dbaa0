// Login names, authentication decisions and per-operation rechecks; see principal.h.
#include "gateway/principal.h"

#include "common/base64.h"

#include "common/log.h"
#include "policy/identifiers.h"
#include "store/eherkenning.h"

namespace kp::gateway {

std::string_view role_name(Role r) {
  switch (r) {
    case Role::person: return "person";
    case Role::staff: return "staff";
    case Role::auditor: return "auditor";
  }
  return "person";
}

Result<LoginName> parse_login(std::string_view user) {
  LoginName l;
  auto at = user.find('@');
  std::string_view id = user.substr(0, at);
  KP_ENSURE(policy::valid_account_id(id), "login-name-invalid", "login name is not a valid id");
  l.account = std::string(id);
  if (at != std::string_view::npos) {
    std::string_view code = user.substr(at + 1);
    KP_ENSURE(policy::valid_municipality_code(code), "login-name-invalid",
              "the part after @ is not a municipality code");
    l.municipality = std::string(code);
  }
  return l;
}

Authority::Authority(store::Db& db) : db_(db) {}

Status Authority::check_certificate(const LoginName& login, const store::SshKeyRecord& key) {
  KP_ENSURE(login.municipality, "cert-login-name", "log in with a certificate as PERSON@GMxxxx");
  KP_ENSURE(user_ca_, "cert-ca-unknown", "this gateway accepts no certificates (no user CA)");
  uint8_t raw[4096];
  std::size_t n = 0;
  KP_ENSURE(key.key_base64.size() < 5000 && base64_decode(key.key_base64, raw, sizeof raw, n), "cert-invalid",
            "the certificate does not decode");
  KP_TRY(keys::SshCert cert, keys::verify_cert(std::string_view(reinterpret_cast<const char*>(raw), n), *user_ca_));
  return keys::check_cert(cert, login.account + "@" + *login.municipality,
                          static_cast<uint64_t>(log::now_ms() / 1000));
}

Result<bool> Authority::key_registered(const LoginName& login, const store::SshKeyRecord& key) {
  if (key.key_type == keys::kEd25519CertType) {
    KP_GUARD(check_certificate(login, key));
    return true;
  }
  KP_TRY(bool own, store::account_has_key(db_, login.account, key.key_base64));
  if (own || !login.municipality) return own;
  KP_TRY(auto bound, store::municipal_key_mandate(db_, login.account, *login.municipality, key.key_base64));
  return bound.has_value();
}

Result<Principal> Authority::authenticate(const LoginName& login, const store::SshKeyRecord& key,
                                          const std::string& source) {
  KP_TRY(auto account, store::find_account(db_, login.account));
  KP_ENSURE(account, "unknown-user", "no account " + login.account);
  KP_ENSURE(!account->disabled_ms, "account-disabled", "the account " + login.account + " is disabled");
  std::optional<int64_t> key_mandate;  // a municipal system's key: the mandate it is bound to
  if (key.key_type == keys::kEd25519CertType) {
    // A certificate stands in for a registered key, for persons only; the
    // mandate below is checked as for any key.
    KP_ENSURE(account->role == "person", "cert-not-person", "certificates are for persons only");
    KP_GUARD(check_certificate(login, key));
  } else {
    KP_TRY(bool has_key, store::account_has_key(db_, login.account, key.key_base64));
    if (!has_key && login.municipality) {
      KP_TRY(key_mandate, store::municipal_key_mandate(db_, login.account, *login.municipality, key.key_base64));
    }
    KP_ENSURE(has_key || key_mandate, "key-not-registered",
              "key " + key.fingerprint + " is not registered for " + login.account);
  }
  Principal p;
  p.account = login.account;
  p.source = source;
  if (account->role == "staff" || account->role == "auditor") {
    KP_ENSURE(!login.municipality, "login-name-invalid", account->role + " accounts log in without @CODE");
    p.role = account->role == "staff" ? Role::staff : Role::auditor;
    return p;
  }
  p.role = Role::person;
  std::optional<policy::Mandate> mandate;
  if (login.municipality) {
    KP_TRY(auto m, store::latest_mandate(db_, login.account, *login.municipality));
    mandate = m;
    KP_ENSURE(mandate, "mandate-missing",
              login.account + " holds no mandate for " + *login.municipality);
  } else {
    KP_TRY(auto live, store::live_mandates_of(db_, login.account));
    int64_t now = log::now_ms();
    std::vector<policy::Mandate> usable;
    for (auto& m : live)
      if (policy::check_mandate(m, now, std::nullopt).ok()) usable.push_back(m);
    KP_ENSURE(!usable.empty(), "mandate-missing", login.account + " holds no live mandate");
    KP_ENSURE(usable.size() == 1, "municipality-ambiguous",
              login.account + " holds mandates for several municipalities; log in as " +
                  login.account + "@GMxxxx");
    mandate = usable.front();
  }
  KP_GUARD(policy::check_mandate(*mandate, log::now_ms(), std::nullopt));
  // A municipal system's key lives and dies with the mandate it was
  // registered under: a mandate granted again later does not revive it.
  KP_ENSURE(!key_mandate || *key_mandate == mandate->id, "key-mandate-ended",
            "this municipal system's key was registered under a mandate that has ended; register it again");
  p.municipality = mandate->municipality;
  p.mandate_id = mandate->id;
  if (key_mandate) p.municipal_key = key.key_base64;
  KP_GUARD(store::mark_mandate_activated(db_, mandate->id, log::now_ms()));
  return p;
}

Status Authority::recheck(const Principal& p, std::optional<policy::Scope> scope) {
  if (!commits_) commits_.emplace(db_);
  // Look before reading: a commit after the look makes the next look say
  // "changed", so the row kept is never older than the last commit seen.
  if (p.role != Role::person) {
    // Staff and auditors: the account is not disabled. (A person's
    // account is disabled together with all its mandates.)
    if (commits_->changed() || !account_live_) {
      account_live_ = false;
      KP_TRY(auto account, store::find_account(db_, p.account));
      KP_ENSURE(account && !account->disabled_ms, "account-disabled",
                "the account " + p.account + " has been disabled");
      account_live_ = true;
    }
    return ok_status();
  }
  if (!mandates_) mandates_.emplace(db_);
  if (commits_->changed() || !last_mandate_) {
    last_mandate_.reset();
    KP_TRY(auto found, mandates_->find(p.mandate_id));
    KP_ENSURE(found, "mandate-missing", "the mandate of this session no longer exists");
    if (!p.municipal_key.empty()) {
      KP_TRY(auto still, store::municipal_key_mandate(db_, p.account, p.municipality, p.municipal_key));
      KP_ENSURE(still && *still == p.mandate_id, "system-key-removed",
                "the municipal system's key of this session was removed");
    }
    last_mandate_ = std::move(*found);
  }
  return policy::check_mandate(*last_mandate_, log::now_ms(), scope);
}

bool Authority::has_scope(const Principal& p, policy::Scope scope) const {
  return p.role != Role::person || (last_mandate_ && policy::has_scope(*last_mandate_, scope));
}

Result<int64_t> Authority::audit_checked(const Principal& p, store::AuditEvent e) {
  e.actor = p.account;
  e.role = std::string(role_name(p.role));
  if (!p.municipality.empty()) e.municipality = p.municipality;
  e.source = p.source;
  if (!e.channel) e.channel = "sftp";
  return store::append_audit(db_, std::move(e));
}

void Authority::audit(const Principal& p, store::AuditEvent e) {
  const std::string event = e.event;
  auto r = audit_checked(p, std::move(e));
  if (!r.ok()) log::event("audit.write_failed", {{"event", event}, {"error", r.error().message()}});
}

void audit_connection(store::Db& db, const std::string& event, const std::string& outcome,
                      const std::string& source, std::optional<std::string> actor,
                      std::optional<std::string> municipality, std::optional<std::string> reason,
                      std::optional<std::string> role) {
  store::AuditEvent e;
  e.role = std::move(role);
  e.event = event;
  e.outcome = outcome;
  e.source = source;
  e.actor = std::move(actor);
  e.municipality = std::move(municipality);
  e.reason = std::move(reason);
  e.channel = "ssh";
  auto r = store::append_audit(db, e);
  if (!r.ok()) log::event("audit.write_failed", {{"event", event}, {"error", r.error().message()}});
}

}  // namespace kp::gateway
