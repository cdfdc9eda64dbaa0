// The HTTP monitor's eHerkenning decisions; see eherkenning_monitor.h.
#include "gateway/eherkenning_monitor.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "common/bytes.h"

#include <sodium.h>

#include "common/base64.h"
#include "common/dates.h"
#include "common/digest.h"
#include "common/log.h"
#include "gateway/web_sessions.h"
#include "keys/minisign.h"
#include "keys/ssh_cert.h"
#include "policy/contact.h"
#include "policy/eherkenning.h"
#include "policy/identifiers.h"
#include "store/registry.h"
#include "store/audit_events.h"
#include "store/contacts.h"
#include "store/eherkenning.h"

namespace kp::gateway {

namespace {

// Not on kHttpRefusals: eh-unsolicited and eh-request-* are the monitor's
// decisions (saml_requests.h), as eh-replayed is.
constexpr const char* kHttpRefusals[] = {
    "eh-response-missing", "eh-response-invalid",      "eh-issuer-unknown", "eh-broker-refused",
    "eh-signature-invalid", "eh-signature-key-unknown", "eh-unsigned",       "eh-audience-wrong",
    "eh-expired",           "eh-not-yet-valid",         "eh-attribute-missing", "eh-decryption-failed"};

MonitorReply refuse(store::Db& db, const std::string& source, const std::string& reason,
                    const std::string& assertion_id, const std::optional<std::string>& municipality) {
  store::AuditEvent e;
  e.event = "eherkenning.login";
  e.outcome = "refused";
  e.role = "person";
  e.municipality = municipality;
  if (!assertion_id.empty()) e.object = "assertion " + assertion_id;
  e.source = source;
  e.channel = "http";
  e.reason = reason;
  auto id = store::append_audit(db, e);
  log::event("eherkenning.login", {{"outcome", "refused"}, {"reason", reason}, {"source", source}});
  MonitorReply r;
  r.reason = id.ok() ? reason : "store-failed";
  return r;
}

std::string grant_key(const Grant& g) {
  std::array<uint8_t, 32> h{};
  crypto_generichash(h.data(), h.size(), g.data(), g.size(), nullptr, 0);
  return std::string(h.begin(), h.end());
}

// A refused request of a logged-in (or not) person, audited as `event`.
MonitorReply person_refused(store::Db& db, const std::string& event, const std::optional<std::string>& person,
                            const std::optional<std::string>& municipality, const std::string& source,
                            const std::string& reason) {
  store::AuditEvent e;
  e.event = event;
  e.outcome = "refused";
  e.actor = person;
  e.role = "person";
  e.municipality = municipality;
  e.source = source;
  e.channel = "http";
  e.reason = reason;
  auto id = store::append_audit(db, e);
  log::event(event, {{"outcome", "refused"}, {"reason", reason}});
  MonitorReply out;
  out.reason = id.ok() ? reason : "store-failed";
  return out;
}

// Refuses a request about the system keys of municipality `code` as
// `event`, naming the municipality in the audit record when the code is
// valid.
auto system_key_refusal(store::Db& db, const char* event, const std::string& code, const std::string& source) {
  std::optional<std::string> municipality;
  if (policy::valid_municipality_code(code)) municipality = code;
  return [&db, event, municipality, source](const std::optional<std::string>& person, const std::string& reason) {
    return person_refused(db, event, person, municipality, source, reason);
  };
}

MonitorReply cert_refused(store::Db& db, const EhCertRequest& r, const std::optional<std::string>& person,
                          const std::string& reason) {
  std::optional<std::string> municipality;
  if (policy::valid_municipality_code(r.municipality)) municipality = r.municipality;
  return person_refused(db, "eherkenning.certificate", person, municipality, r.source, reason);
}

// The SSH wire blob of an ed25519 public key.
std::string key_blob(const keys::Ed25519Public& k) {
  std::vector<uint8_t> blob;
  Writer w(blob);
  w.str("ssh-ed25519");
  w.str(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
  return std::string(blob.begin(), blob.end());
}

// OpenSSH's fingerprint of an ed25519 key: SHA256: + unpadded base64.
std::string fingerprint(const keys::Ed25519Public& k) {
  auto d = sha256(key_blob(k));
  std::string b64 = base64_encode(d.data(), d.size());
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

}  // namespace

EhMonitor::EhMonitor(store::Db& db, const Settings& s, std::optional<std::array<uint8_t, 64>> user_ca,
                     std::unique_ptr<SamlSp> sp)
    : db_(db), settings_(s), ca_(user_ca), sp_(std::move(sp)) {}

MonitorReply EhMonitor::unwrap(const EhUnwrapRequest& r) {
  MonitorReply reply;
  if (!sp_) {
    reply.reason = "eherkenning-off";
    return reply;
  }
  auto key = sp_->unwrap(r.wrapped);
  if (!key.ok()) {
    log::event("eherkenning.unwrap", {{"outcome", "refused"}, {"source", r.source}, {"error", key.error().message()}});
    reply.reason = "eh-decryption-failed";
    return reply;
  }
  reply.accepted = true;
  reply.unwrapped = *key;
  sodium_memzero(key->data(), key->size());
  return reply;
}

MonitorReply EhMonitor::request(const EhRequestRequest& r, int64_t now_ms) {
  MonitorReply reply;
  if (!sp_) {
    reply.reason = "eherkenning-off";
    return reply;
  }
  auto req = sp_->authn_request();
  if (!req.ok()) {
    log::event("eherkenning.error", {{"error", req.error().message()}});
    reply.reason = "eherkenning-off";
    return reply;
  }
  if (req->url.size() > kMaxRequestUrl) {
    log::event("eherkenning.error", {{"error", "the AuthnRequest URL is too long"}});
    reply.reason = "eherkenning-off";
    return reply;
  }
  requests_.issue(req->id, r.browser, now_ms);
  reply.accepted = true;
  reply.url = req->url;
  return reply;
}

EhMonitor::~EhMonitor() {
  if (ca_) sodium_memzero(ca_->data(), ca_->size());
}

MonitorReply EhMonitor::login(const EhLoginRequest& r, int64_t now_ms) {
  for (auto it = grants_.begin(); it != grants_.end();)
    it = it->second.expires_ms <= now_ms ? grants_.erase(it) : std::next(it);
  MonitorReply reply = answer_eh_login(db_, settings_, r, requests_, now_ms);
  if (!reply.accepted) return reply;
  if (grants_.size() >= kMaxSessions) {
    auto oldest = std::min_element(grants_.begin(), grants_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_ms < b.second.expires_ms;
    });
    grants_.erase(oldest);
  }
  randombytes_buf(reply.grant.data(), reply.grant.size());
  grants_[grant_key(reply.grant)] = Entry{reply.person, now_ms + kSessionMs};
  return reply;
}

std::string EhMonitor::granted_person(const Grant& grant, int64_t now_ms) const {
  auto it = grants_.find(grant_key(grant));
  if (it == grants_.end() || it->second.expires_ms <= now_ms) return {};
  return it->second.person;
}

MonitorReply EhMonitor::certificate(const EhCertRequest& r, int64_t now_ms) {
  const std::string person = granted_person(r.grant, now_ms);
  if (person.empty()) return cert_refused(db_, r, std::nullopt, "grant-unknown");
  if (!policy::valid_municipality_code(r.municipality))
    return cert_refused(db_, r, person, "municipality-code-invalid");
  auto mandate = store::latest_mandate(db_, person, r.municipality);
  if (!mandate.ok()) return cert_refused(db_, r, person, "store-failed");
  if (!*mandate) return cert_refused(db_, r, person, "mandate-missing");
  if (Status live = policy::check_mandate(**mandate, now_ms, std::nullopt); !live.ok())
    return cert_refused(db_, r, person, live.error().code);
  if (!ca_) return cert_refused(db_, r, person, "user-ca-missing");
  auto key = keys::parse_ed25519_line(r.public_key);
  if (!key.ok()) return cert_refused(db_, r, person, key.error().code);
  const uint64_t now_s = static_cast<uint64_t>(now_ms / 1000);
  uint64_t until = now_s + static_cast<uint64_t>(settings_.eherkenning_certificate_validity_seconds);
  if ((*mandate)->valid_until_ms)
    until = std::min(until, static_cast<uint64_t>(*(*mandate)->valid_until_ms / 1000));
  uint64_t serial = 0;
  randombytes_buf(&serial, sizeof serial);
  const std::string principal = person + "@" + r.municipality;
  std::string blob = keys::issue_cert(*ca_, *key, serial, principal, principal, now_s - 60, until);
  store::AuditEvent e;
  e.event = "eherkenning.certificate";
  e.outcome = "success";
  e.actor = person;
  e.role = "person";
  e.municipality = r.municipality;
  e.object = "certificate " + std::to_string(serial) + " for " + fingerprint(*key) + " until " +
             format_utc(static_cast<int64_t>(until) * 1000, "%Y-%m-%dT%H:%M:%SZ");
  e.source = r.source;
  e.channel = "http";
  if (!store::append_audit(db_, e).ok()) return cert_refused(db_, r, person, "store-failed");
  log::event("eherkenning.certificate", {{"outcome", "success"}, {"person", person}, {"municipality", r.municipality}});
  MonitorReply ok;
  ok.accepted = true;
  ok.certificate = keys::cert_line(blob, principal);
  return ok;
}

MonitorReply EhMonitor::sign_key(const EhSignKeyRequest& r, int64_t now_ms) {
  const char* event = "eherkenning.sign_key";
  const std::string person = granted_person(r.grant, now_ms);
  if (person.empty()) return person_refused(db_, event, std::nullopt, std::nullopt, r.source, "grant-unknown");
  // What a browser's textarea sends: the key file (CRLF or LF) or the bare
  // base64 line, perhaps with blank lines or spaces around it.
  std::string text = r.public_key;
  text.erase(0, std::min(text.size(), text.find_first_not_of(" \t\r\n")));
  text.erase(text.find_last_not_of(" \t\r\n") + 1);
  auto key = minisign::parse_public_key(text);
  if (text.empty() || !key.ok()) return person_refused(db_, event, person, std::nullopt, r.source, "sign-key-malformed");
  const std::string key_id = minisign::key_id_hex(key->key_id);
  std::string replaced;
  auto account = store::find_account(db_, person);
  if (!account.ok()) return person_refused(db_, event, person, std::nullopt, r.source, "store-failed");
  if (*account && (*account)->sign_key)
    if (auto old = minisign::parse_public_key(*(*account)->sign_key); old.ok()) replaced = minisign::key_id_hex(old->key_id);
  Status done = store::register_eh_sign_key(db_, person, minisign::format_public_key(*key), key_id, replaced, r.source);
  if (!done.ok()) {
    bool known = done.error().code == "eh-account-disabled";
    return person_refused(db_, event, person, std::nullopt, r.source, known ? done.error().code : "store-failed");
  }
  log::event(event, {{"outcome", "success"}, {"person", person}, {"key_id", key_id}});
  MonitorReply ok;
  ok.accepted = true;
  ok.key_id = key_id;
  return ok;
}

MonitorReply EhMonitor::system_key(const EhSystemKeyRequest& r, int64_t now_ms) {
  const char* event = "eherkenning.system_key";
  auto refused = system_key_refusal(db_, event, r.municipality, r.source);
  const std::string person = granted_person(r.grant, now_ms);
  if (person.empty()) return refused(std::nullopt, "grant-unknown");
  if (!policy::valid_municipality_code(r.municipality)) return refused(person, "municipality-code-invalid");
  auto mandate = store::latest_mandate(db_, person, r.municipality);
  if (!mandate.ok()) return refused(person, "store-failed");
  if (!*mandate) return refused(person, "mandate-missing");
  if (Status live = policy::check_mandate(**mandate, now_ms, std::nullopt); !live.ok())
    return refused(person, live.error().code);
  auto key = keys::parse_ed25519_line(r.public_key);
  if (!key.ok()) return refused(person, key.error().code);
  const std::string blob = key_blob(*key);
  store::SshKeyRecord record{"ssh-ed25519", base64_encode(reinterpret_cast<const uint8_t*>(blob.data()), blob.size()),
                             fingerprint(*key)};
  Status added = store::add_municipal_key(db_, person, r.municipality, (*mandate)->id, record, r.source, now_ms);
  if (!added.ok()) {
    const std::string& code = added.error().code;
    return refused(person, code == "key-in-use" || code == "already-exists" ? code : "store-failed");
  }
  log::event(event, {{"outcome", "success"}, {"person", person}, {"municipality", r.municipality}});
  MonitorReply ok;
  ok.accepted = true;
  ok.key_id = record.fingerprint;
  return ok;
}

MonitorReply EhMonitor::system_key_remove(const EhSystemKeyRemoveRequest& r, int64_t now_ms) {
  const char* event = "eherkenning.system_key_removed";
  auto refused = system_key_refusal(db_, event, r.municipality, r.source);
  const std::string person = granted_person(r.grant, now_ms);
  if (person.empty()) return refused(std::nullopt, "grant-unknown");
  if (!policy::valid_municipality_code(r.municipality)) return refused(person, "municipality-code-invalid");
  Status done = store::remove_municipal_key(db_, person, r.municipality, r.fingerprint, r.source);
  if (!done.ok()) {
    const bool known = done.error().code == "system-key-unknown";
    return refused(person, known ? done.error().code : "store-failed");
  }
  log::event(event, {{"outcome", "success"}, {"person", person}, {"municipality", r.municipality}});
  MonitorReply ok;
  ok.accepted = true;
  ok.key_id = r.fingerprint;
  return ok;
}

MonitorReply EhMonitor::contact(const EhContactRequest& r, int64_t now_ms) {
  const char* event = "eherkenning.contact";
  const std::string person = granted_person(r.grant, now_ms);
  if (person.empty()) return person_refused(db_, event, std::nullopt, std::nullopt, r.source, "grant-unknown");
  auto name = policy::check_contact_name(r.name);
  if (!name.ok()) return person_refused(db_, event, person, std::nullopt, r.source, name.error().code);
  auto email = policy::check_email_address(r.email);
  if (!email.ok()) return person_refused(db_, event, person, std::nullopt, r.source, email.error().code);
  auto mailed = store::set_contact(db_, store::ContactChange{person, *name, *email, r.source, now_ms});
  if (!mailed.ok()) {
    const std::string& code = mailed.error().code;
    bool known = code == "eh-account-disabled" || code == "contact-too-many";
    return person_refused(db_, event, person, std::nullopt, r.source, known ? code : "store-failed");
  }
  log::event(event, {{"outcome", "success"}, {"person", person}, {"mailed", *mailed ? "yes" : "no"}});
  MonitorReply ok;
  ok.accepted = true;
  ok.contact = *mailed ? "mailed" : "unchanged";
  return ok;
}

MonitorReply EhMonitor::confirm(const EhConfirmRequest& r, int64_t now_ms) {
  const char* event = "eherkenning.contact_confirmed";
  std::string token;
  if (r.token.size() != 64 || !from_hex(r.token, token))
    return person_refused(db_, event, std::nullopt, std::nullopt, r.source, "contact-token-unknown");
  auto done = store::confirm_contact(db_, sha256(token), r.source, now_ms);
  sodium_memzero(token.data(), token.size());
  if (!done.ok()) {
    const std::string& code = done.error().code;
    bool known = code.rfind("contact-token-", 0) == 0;
    return person_refused(db_, event, std::nullopt, std::nullopt, r.source, known ? code : "store-failed");
  }
  log::event(event, {{"outcome", "success"}, {"person", done->account}});
  MonitorReply ok;
  ok.accepted = true;
  ok.contact = done->email;
  return ok;
}

bool eh_refusal_allowed(std::string_view reason) {
  return std::find(std::begin(kHttpRefusals), std::end(kHttpRefusals), reason) != std::end(kHttpRefusals);
}

MonitorReply answer_eh_login(store::Db& db, const Settings& s, const EhLoginRequest& r, SamlRequests& pending,
                             int64_t now_ms) {
  const auto& f = r.facts;
  if (s.eherkenning_broker_metadata.empty()) return refuse(db, r.source, "eherkenning-off", f.assertion_id, {});
  auto minimum = policy::level_of_class_ref(std::string(policy::kLoaPrefix) + s.eherkenning_min_level);
  if (Status ok = policy::check_login_facts(f, minimum.value_or(policy::Level::EH4)); !ok.ok())
    return refuse(db, r.source, ok.error().code, f.assertion_id, {});
  // A replay is named as such (its request is used up too); then the
  // request this response answers, for this browser, once.
  auto seen = store::assertion_seen(db, f.assertion_id, now_ms);
  if (!seen.ok()) return refuse(db, r.source, "store-failed", f.assertion_id, {});
  if (*seen) return refuse(db, r.source, "eh-replayed", f.assertion_id, {});
  if (std::string unbound = pending.answer(f.in_response_to, r.browser, now_ms); !unbound.empty())
    return refuse(db, r.source, unbound, f.assertion_id, {});
  auto municipality = store::municipality_by_org(db, f.org_kind, f.org_number);
  if (!municipality.ok()) return refuse(db, r.source, "store-failed", f.assertion_id, {});
  if (!*municipality) return refuse(db, r.source, "eh-organisation-unknown", f.assertion_id, {});
  store::EhLogin login{f, **municipality, policy::level_name(*policy::level_of_class_ref(f.level)),
                       s.eherkenning_mandate_period_seconds * 1000, r.source};
  auto done = store::record_eh_login(db, login, now_ms);
  if (!done.ok()) {
    const std::string& code = done.error().code;
    bool known = code == "eh-replayed" || code == "eh-account-disabled" || code == "eh-mandate-revoked";
    return refuse(db, r.source, known ? code : "store-failed", f.assertion_id, **municipality);
  }
  log::event("eherkenning.login", {{"outcome", "success"}, {"person", done->person},
                                   {"municipality", **municipality}, {"source", r.source}});
  MonitorReply ok;
  ok.accepted = true;
  ok.person = done->person;
  ok.municipality = **municipality;
  ok.first_login = done->first_login;
  return ok;
}

MonitorReply answer_eh_refused(store::Db& db, const EhRefusedRequest& r, int64_t) {
  MonitorReply reply = refuse(db, r.source, r.reason, r.assertion_id, {});
  if (reply.reason == r.reason) {  // recorded
    reply.accepted = true;
    reply.reason.clear();
  }
  return reply;
}

}  // namespace kp::gateway
