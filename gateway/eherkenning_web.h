// The eHerkenning login pages on the HTTP endpoint, under /eherkenning/:
//
//   GET  /eherkenning/        a page with the "log in with eHerkenning" button
//   GET  /eherkenning/login   303 to the broker with an AuthnRequest the monitor
//                             built and remembers (eh_request, saml_requests.h)
//                             for this browser's login cookie (kp_eh_login)
//   POST /eherkenning/acs     the broker's Response (HTTP-POST binding):
//                             verified here (sandboxed, saml_sp.h), decided and
//                             recorded by the monitor (eherkenning_monitor.h);
//                             accepted: a session (cookie kp_eh, HttpOnly,
//                             SameSite=Strict, Path=/eherkenning, 15 minutes)
//                             and the home page
//   GET  /eherkenning/home    the person's live mandates and the certificate form
//   POST /eherkenning/certificate  municipality + ssh-ed25519 public key (+ CSRF
//                             token): the monitor signs an OpenSSH user
//                             certificate for PERSON@GMxxxx (eh_cert)
//   POST /eherkenning/system-key  municipality + ssh-ed25519 public key (+ CSRF):
//                             a long-lived key of a municipal system, bound
//                             to that municipality and mandate (eh_system_key)
//   POST /eherkenning/system-key/remove  municipality + fingerprint (+ CSRF):
//                             the home page lists the person's municipal
//                             systems' keys, each with this form; the monitor
//                             removes the key (eh_system_key_remove)
//   POST /eherkenning/sign-key  a minisign public key (+ CSRF token): the
//                             monitor registers it as the person's signing
//                             key, which intake checks manifests against
//                             (eh_sign_key; one key per person)
//   POST /eherkenning/contact  name + e-mail address (+ CSRF token): the
//                             monitor stores the person's contact and queues
//                             a confirmation mail (eh_contact)
//   GET  /eherkenning/confirm?token=...  the link in that mail: a page with a
//                             button (no session needed; a mail scanner that
//                             fetches the link does not use it up)
//   POST /eherkenning/confirm the button: the monitor confirms the address
//                             (eh_confirm)
//
// Every refusal is a page that names its reason code and says in plain
// words what to do, with HTTP 403 (400 for a missing response).
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <memory>
#include <string>

#include "gateway/auditor_web.h"
#include "gateway/http_monitor.h"
#include "gateway/saml_sp.h"

namespace kp::gateway {

class EherkenningWeb {
 public:
  // `sp` null: eHerkenning is off (every page says so).
  EherkenningWeb(std::unique_ptr<SamlSp> sp, HttpMonitorClient& monitor, ReadOnlyStore& store)
      : sp_(std::move(sp)), monitor_(monitor), store_(store) {}
  static bool owns(const std::string& uri);
  void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp);

 private:
  std::string home(const WebSession& s, const std::string& note);
  std::string sign_key_form(const WebSession& s);
  std::string contact_form(const WebSession& s);
  std::string system_keys(const WebSession& s);
  std::unique_ptr<SamlSp> sp_;
  HttpMonitorClient& monitor_;
  ReadOnlyStore& store_;
  WebSessions sessions_;  // WebSession::auditor holds the person's id here
};

// The sentence a person reads for refusal `code`.
std::string eh_refusal_text(const std::string& code);

}  // namespace kp::gateway
