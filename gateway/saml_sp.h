// The eHerkenning SAML 2.0 service provider, on Lasso (the library behind
// mod_auth_mellon): our metadata, the AuthnRequest, and the verification
// of the broker's Response.
//
// Where it runs: verify() parses a hostile XML document, so it runs only in
// the sandboxed HTTP process (http_endpoint.h: seccomp, Landlock, no
// private key, read-only store). SamlSp is built before that process enters
// its sandbox from public inputs only: our metadata (entity id, ACS URL,
// public/saml-sp.crt) and the broker's metadata file. The SP private key
// (keys/saml-sp.key) never reaches this process. What verify() finds is
// handed to the monitor as bounded facts (policy::LoginFacts), which
// decides everything that needs the store (replay, organisation, level,
// person, mandate) and writes the audit record.
//
// Refusal codes of verify() (each also audited through the monitor):
//   eh-response-missing     no SAMLResponse, or not base64/XML Lasso reads
//   eh-response-invalid     not a SAML Response Lasso accepts (no assertion, ...)
//   eh-issuer-unknown       not issued by the configured broker
//   eh-broker-refused       the broker's status is not Success
//   eh-signature-key-unknown  signed, but by a key that is not the broker's
//   eh-signature-invalid    the broker's signature does not verify (altered)
//   eh-unsigned             the Response or its Assertion carries no signature
//   eh-audience-wrong       the assertion is not for our entity id
//   eh-expired              NotOnOrAfter has passed (beyond the clock skew)
//   eh-not-yet-valid        NotBefore is still ahead (beyond the clock skew)
//   eh-attribute-missing    no AuthnContextClassRef, LegalSubjectID or ActingSubjectID
//   eh-decryption-failed    an encrypted assertion that is not encrypted to
//                           our key (or damaged), or in an algorithm we do
//                           not take (key transport other than RSA-OAEP,
//                           data other than AES)
//   eh-response-invalid     also: the Response's InResponseTo and its
//                           SubjectConfirmationData's differ
// Which request a Response answers (InResponseTo) is a fact for the
// monitor, which issued the request and decides (saml_requests.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/datadir.h"
#include "common/result.h"
#include "common/settings.h"
#include "policy/eherkenning.h"

namespace kp::gateway {

struct SamlSpConfig {
  std::string entity_id;         // ours
  std::string acs_url;           // base URL + /eherkenning/acs
  std::string cert_pem;          // public/saml-sp.crt
  std::string key_pem;           // keys/saml-sp.key: only in the monitor, which signs AuthnRequests
  std::string broker_metadata;   // the broker's metadata (XML text)
  std::string service_id;        // eHerkenning ServiceID (urn:etoegang:DV:...:services:...)
  std::string service_uuid;      // eHerkenning ServiceUUID
  std::string min_class_ref;     // urn:etoegang:core:assurance-class:loa3
  int64_t clock_skew_seconds = 120;
};

// The configuration from the settings and DATA/public/saml-sp.crt; the
// broker's metadata file is read when the setting names one. Errors:
// "saml-sp-key-missing", "eh-config-invalid" (no entity id or base URL,
// unreadable broker metadata).
Result<SamlSpConfig> saml_sp_config(const DataDir& data, const Settings& s);

// Our SP metadata for registration with the broker. Errors: "crypto-failed"
// (the certificate does not read).
Result<std::string> sp_metadata(const SamlSpConfig& c);

class SamlSp {
 public:
  // Loads Lasso with our metadata and the broker's. Errors:
  // "eh-config-invalid" naming what Lasso refused.
  static Result<std::unique_ptr<SamlSp>> load(const SamlSpConfig& c);
  ~SamlSp();
  SamlSp(const SamlSp&) = delete;
  SamlSp& operator=(const SamlSp&) = delete;

  // The broker's single sign-on URL with an AuthnRequest (HTTP-Redirect
  // binding) asking for at least the minimum level, answered by HTTP-POST
  // to our ACS, signed with our key (SigAlg RSA-SHA256, Signature in the
  // query), and the request's ID. Runs in the monitor, which holds the key
  // and remembers the ID (saml_requests.h). Errors: "eh-config-invalid"
  // (also: loaded without the key).
  struct AuthnRequest {
    std::string url, id;
  };
  Result<AuthnRequest> authn_request();

  // True when our ACS is https (the login cookie is then SameSite=None;
  // Secure, so that the broker's cross-site POST carries it).
  bool https() const { return config_.acs_url.rfind("https://", 0) == 0; }

  // Verifies a SAMLResponse (the POST parameter, base64) at `now_ms`;
  // refusal codes above. An EncryptedAssertion (AES-CBC or AES-GCM, its key
  // wrapped with RSA-OAEP to our certificate) is decrypted here with the AES
  // key `unwrap` returns for the EncryptedKey's CipherValue (the monitor's
  // eh_unwrap): eh-decryption-failed when it cannot.
  using Unwrap = std::function<Result<std::string>(const std::string& wrapped)>;
  Result<policy::LoginFacts> verify(const std::string& saml_response, int64_t now_ms, const Unwrap& unwrap = {});

  const std::string& broker() const { return broker_id_; }

  // The AES key wrapped in an encrypted assertion's EncryptedKey
  // (keys::saml_sp_unwrap); the monitor's SP only (it has the key).
  Result<std::string> unwrap(std::string_view wrapped) const;

 private:
  SamlSp() = default;
  std::mutex mu_;  // Lasso's server object is not shared between threads
  SamlSpConfig config_;
  void* server_ = nullptr;  // LassoServer*
  std::string broker_id_;
  std::string broker_cert_;  // base64 DER of the broker's signing certificate(s), concatenated
  std::string own_cert_;     // base64 DER of our certificate (public/saml-sp.crt)
};

}  // namespace kp::gateway
