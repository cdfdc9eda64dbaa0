// The HTTP monitor's eHerkenning decisions (http_monitor.h: eh_login,
// eh_refused). The sandboxed HTTP process verified the SAML response
// (saml_sp.h) and sends only the facts; here the monitor, which holds the
// read-write store, decides the rest and records every outcome as
// `eherkenning.login` (success or refused with its reason):
//
//   eh-level-too-low          below eherkenning_min_level (e.g. loa2)
//   eh-organisation-unknown   the KvK number / RSIN is no registered municipality's
//   eh-replayed               the assertion id was accepted before
//   eh-unsolicited, eh-request-unknown, eh-request-used,
//   eh-request-other-browser  the response answers no request we sent for
//                             this browser, or one answered before
//                             (saml_requests.h); checked after the replay
//                             cache, so a replayed assertion is named so
//   eh-account-disabled       the person's account is disabled at the hub
//   eh-mandate-revoked        the hub revoked the person's mandate for it
//   eh-organisation-invalid, eh-pseudonym-invalid, eh-intermediary-invalid,
//   eh-assertion-invalid      malformed facts (policy/eherkenning.h)
//   eherkenning-off           no broker configured
//
// Trust: a compromised HTTP process could send facts no broker signed; the
// monitor cannot tell (it never parses the XML, by design). What it bounds:
// every field is capped and checked, each assertion id counts once, and
// only registered municipalities can be reached.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/settings.h"
#include "gateway/http_monitor.h"
#include "store/db.h"

namespace kp::gateway {

// True for the refusal codes the HTTP process may report (saml_sp.h's list).
bool eh_refusal_allowed(std::string_view reason);

// `pending`: the AuthnRequests sent (the response must answer one of them).
MonitorReply answer_eh_login(store::Db& db, const Settings& s, const EhLoginRequest& r, SamlRequests& pending,
                             int64_t now_ms);
MonitorReply answer_eh_refused(store::Db& db, const EhRefusedRequest& r, int64_t now_ms);

// The monitor's eHerkenning state: the grants of accepted logins (one per
// web session, 15 minutes, at most kMaxSessions) and the user CA's secret.
//
// certificate() refusals (audited as `eherkenning.certificate` refused):
//   grant-unknown             no live grant (not logged in, or expired)
//   municipality-code-invalid not GM + 4 digits
//   mandate-missing           no mandate of the person for it; or the codes
//                             of policy::check_mandate (mandate-revoked,
//                             mandate-expired, ...)
//   key-type-unsupported, key-unreadable  (keys/ssh_cert.h)
//   user-ca-missing           no CA loaded
// A certificate is valid from a minute ago (clock skew) for
// eherkenning_certificate_validity, never beyond the mandate's end.
//
// sign_key() registers the person's minisign public key (one per person,
// store::register_eh_sign_key), audited as `eherkenning.sign_key`; refused:
//   grant-unknown             as above
//   sign-key-malformed        not a minisign public key (file or base64 line)
//   eh-account-disabled       the account was disabled since the login
//
// system_key() registers a long-lived ssh-ed25519 key of a municipal system
// for one municipality, bound to the person's live mandate there
// (store::add_municipal_key), audited as `eherkenning.system_key`; refused
// as certificate() is (grant-unknown, municipality-code-invalid,
// mandate-*, key-*), and key-in-use / already-exists.
//
// system_key_remove() removes a municipal system's key the grant's person
// registered (store::remove_municipal_key), audited as
// `eherkenning.system_key_removed`; refused (audited the same, refused):
//   grant-unknown, municipality-code-invalid, system-key-unknown (no such
//   key of this person there: another person's key is refused the same
//   way, never named).
//
// contact() checks a name and e-mail address (policy/contact.h) and stores
// them as the person's contact (store::set_contact: a new address is
// confirmed by a mailed link before notifications use it), audited as
// `eherkenning.contact`; refused as `eherkenning.contact` with
// grant-unknown, the codes of policy/contact.h, eh-account-disabled or
// contact-too-many.
//
// confirm() needs no grant (the link may be opened on another device): the
// token (64 hex digits) is hashed (SHA-256) and looked up
// (store::confirm_contact), audited as `eherkenning.contact_confirmed`;
// refused with contact-token-unknown (also for a token that is no 64 hex
// digits), -used, -superseded or -expired.
class EhMonitor {
 public:
  // `sp`: builds the AuthnRequests (null: eh_request is refused,
  // eherkenning-off).
  EhMonitor(store::Db& db, const Settings& s, std::optional<std::array<uint8_t, 64>> user_ca,
            std::unique_ptr<SamlSp> sp = nullptr);
  ~EhMonitor();
  // An AuthnRequest for `r.browser`, remembered in requests().
  MonitorReply request(const EhRequestRequest& r, int64_t now_ms);
  // The AES key of an encrypted assertion (SamlSp::unwrap); refused
  // eh-decryption-failed, or eherkenning-off without an SP.
  MonitorReply unwrap(const EhUnwrapRequest& r);
  MonitorReply login(const EhLoginRequest& r, int64_t now_ms);
  MonitorReply certificate(const EhCertRequest& r, int64_t now_ms);
  MonitorReply sign_key(const EhSignKeyRequest& r, int64_t now_ms);
  MonitorReply system_key(const EhSystemKeyRequest& r, int64_t now_ms);
  MonitorReply system_key_remove(const EhSystemKeyRemoveRequest& r, int64_t now_ms);
  MonitorReply contact(const EhContactRequest& r, int64_t now_ms);
  MonitorReply confirm(const EhConfirmRequest& r, int64_t now_ms);

 private:
  struct Entry {
    std::string person;
    int64_t expires_ms = 0;
  };
  // The person `grant` was given to, while it lives; "" when none.
  std::string granted_person(const Grant& grant, int64_t now_ms) const;
  store::Db& db_;
  const Settings& settings_;
  std::optional<std::array<uint8_t, 64>> ca_;
  std::map<std::string, Entry> grants_;  // keyed by a hash of the grant
  std::unique_ptr<SamlSp> sp_;
  SamlRequests requests_;

 public:
  SamlRequests& requests() { return requests_; }
};

}  // namespace kp::gateway
