// The eHerkenning login pages; see eherkenning_web.h.
#include "gateway/eherkenning_web.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPCookie.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>

#include <sstream>

#include <sodium.h>

#include <algorithm>

#include "common/dates.h"
#include "common/digest.h"
#include "common/log.h"
#include "gateway/html.h"
#include "gateway/web_reply.h"
#include "keys/minisign.h"
#include "policy/mandate.h"
#include "store/contacts.h"
#include "store/eherkenning.h"
#include "store/registry.h"

namespace kp::gateway {

namespace {

using Poco::Net::HTTPResponse;

// A broker's Response with a few certificates and signatures stays well
// below this; anything longer is refused unread.
constexpr std::size_t kMaxResponseBody = 256 * 1024;
constexpr const char* kTitle = "knooppunt: log in with eHerkenning";
constexpr const char* kCookie = "kp_eh";
constexpr std::size_t kMaxForm = 8192;

std::string session_cookie(const std::string& id, int64_t max_age_s) {
  return std::string(kCookie) + "=" + id + "; Path=/eherkenning; Max-Age=" + std::to_string(max_age_s) +
         "; HttpOnly; SameSite=Strict";
}

std::string cookie_of(const Poco::Net::HTTPServerRequest& req, const char* name = kCookie) {
  Poco::Net::NameValueCollection cookies;
  req.getCookies(cookies);
  return cookies.get(name, "");
}

// The login cookie binds a broker's Response to the browser that asked for
// it (saml_requests.h): 32 random bytes (hex), of which the monitor keeps
// only the SHA-256. The broker's POST to our ACS is cross-site, so on https
// the cookie is SameSite=None; Secure (Strict or Lax would not be sent);
// plain http is for tests on loopback, where broker and ACS are one site.
constexpr const char* kLoginCookie = "kp_eh_login";

std::string login_cookie(const std::string& value, bool https) {
  return std::string(kLoginCookie) + "=" + value + "; Path=/eherkenning/acs; Max-Age=" +
         std::to_string(kSamlRequestMs / 1000) + "; HttpOnly; " + (https ? "SameSite=None; Secure" : "SameSite=Lax");
}

BrowserTag browser_tag(const std::string& cookie) {
  BrowserTag tag{};
  if (cookie.size() != 64 || cookie.find_first_not_of("0123456789abcdef") != std::string::npos) return tag;
  auto d = sha256(cookie);
  std::copy(d.begin(), d.end(), tag.begin());
  return tag;
}

bool read_form(Poco::Net::HTTPServerRequest& req, Poco::Net::HTMLForm& form) {
  if (req.getContentType().rfind("application/x-www-form-urlencoded", 0) != 0) return false;
  std::string body(kMaxForm + 1, '\0');
  req.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
  body.resize(static_cast<std::size_t>(req.stream().gcount()));
  if (body.size() > kMaxForm) return false;
  form.setFieldLimit(8);
  std::istringstream in(body);
  form.load(req, in);
  return true;
}

Reply page(HTTPResponse::HTTPStatus status, const std::string& body) {
  return Reply{status, html::page(kTitle, "<h1>Knooppunt Zorgfraude</h1>" + body), {}, {}};
}

Reply refusal_page(const std::string& code) {
  return page(code == "eh-response-missing" ? HTTPResponse::HTTP_BAD_REQUEST : HTTPResponse::HTTP_FORBIDDEN,
              "<p id=\"message\" class=\"error\">" + html::escape(eh_refusal_text(code)) +
                  "</p><p>Reason: <code id=\"reason\">" + html::escape(code) +
                  "</code> (quote it when you contact the hub).</p>"
                  "<p><a href=\"/eherkenning/\">Back to the login page</a></p>");
}

// The SAMLResponse field of a url-encoded POST body, or "" when absent.
std::string saml_response_of(Poco::Net::HTTPServerRequest& req) {
  if (req.getContentType().rfind("application/x-www-form-urlencoded", 0) != 0) return {};
  std::string body(kMaxResponseBody + 1, '\0');
  req.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
  body.resize(static_cast<std::size_t>(req.stream().gcount()));
  if (body.size() > kMaxResponseBody) return {};
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t end = body.find('&', pos);
    if (end == std::string::npos) end = body.size();
    std::string_view field(body.data() + pos, end - pos);
    if (field.rfind("SAMLResponse=", 0) == 0) {
      std::string value;
      std::string raw(field.substr(13));
      for (char& c : raw)
        if (c == '+') c = ' ';
      Poco::URI::decode(raw, value);
      return value;
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace

std::string eh_refusal_text(const std::string& code) {
  if (code == "eh-level-too-low")
    return "Your eHerkenning means is below level EH3 (substantial). Log in with an eHerkenning means of level "
           "EH3 or higher.";
  if (code == "eh-organisation-unknown")
    return "The organisation you logged in for is not a municipality registered at the hub. Choose the "
           "municipality you act for at your eHerkenning broker, or ask the hub to register it.";
  if (code == "eh-replayed")
    return "This login was already used. Log in again from the start.";
  if (code == "eh-unsolicited")
    return "This login was not started from this page. Log in from this page (the \"Log in with eHerkenning\" "
           "button), not from a link or bookmark at the broker.";
  if (code == "eh-request-unknown")
    return "This login was not started here, or it took longer than 15 minutes (or the hub restarted meanwhile). "
           "Log in again from this page.";
  if (code == "eh-request-used") return "This login was already completed. Log in again from the start.";
  if (code == "eh-request-other-browser")
    return "This login was started in another browser (or your browser does not keep our cookie). Log in from "
           "the start in the browser you want to use, with cookies allowed for this site.";
  if (code == "eh-expired" || code == "eh-not-yet-valid")
    return "This login is outside its validity period (it took too long, or a clock is wrong). Log in again.";
  if (code == "eh-audience-wrong")
    return "This login was issued for another service, not for the Knooppunt. Log in again from this page.";
  if (code == "eh-signature-invalid" || code == "eh-signature-key-unknown" || code == "eh-unsigned" ||
      code == "eh-issuer-unknown")
    return "This login could not be verified as coming from our eHerkenning broker. Log in again from this "
           "page; if it happens again, contact the hub.";
  if (code == "eh-decryption-failed")
    return "This login was encrypted for another service, not for the Knooppunt (or it was damaged). Log in again "
           "from this page; if it happens again, contact the hub.";
  if (code == "eh-broker-refused") return "The eHerkenning broker did not complete your login.";
  if (code == "eh-account-disabled") return "Your account at the hub is disabled. Contact the hub.";
  if (code == "eh-mandate-revoked")
    return "The hub revoked your mandate for this municipality. Contact the hub to have it restored.";
  if (code == "eherkenning-off") return "Logging in with eHerkenning is not enabled at this hub.";
  if (code == "eh-response-missing") return "No login response was received. Log in again from this page.";
  if (code == "session-missing" || code == "grant-unknown")
    return "You are not logged in (or your session of 15 minutes ended). Log in again.";
  if (code == "csrf-invalid" || code == "form-invalid") return "The form could not be accepted. Open the page again.";
  if (code == "key-type-unsupported")
    return "Only ssh-ed25519 keys get a certificate. Make one with: ssh-keygen -t ed25519";
  if (code == "key-unreadable") return "That is not an OpenSSH public key line (ssh-ed25519 AAAA...).";
  if (code == "key-in-use") return "That key is already registered as an account's own key at the hub.";
  if (code == "already-exists") return "That key is already registered for this municipality.";
  if (code == "system-key-unknown")
    return "You have no such municipal system's key for that municipality (it was removed already, or it is not "
           "yours). Open your page again for the keys you registered.";
  if (code == "sign-key-malformed")
    return "That is not a minisign public key. Paste the contents of your minisign.pub (two lines: "
           "\"untrusted comment: ...\" and the key starting with RW), or just the key line.";
  if (code == "contact-name-missing") return "Enter your name.";
  if (code == "contact-name-too-long") return "Your name is too long: at most 128 bytes.";
  if (code == "contact-name-invalid")
    return "Your name holds characters that are not allowed (control characters, or text that is not UTF-8).";
  if (code == "email-invalid" || code == "email-too-long")
    return "That is not an e-mail address the hub can use: it needs exactly one @, a name before it and a domain "
           "such as gemeente.nl after it, at most 254 characters.";
  if (code == "contact-too-many")
    return "Too many confirmation mails were asked for you in the last hour. Wait an hour, then try again.";
  if (code == "contact-token-unknown")
    return "This confirmation link is not valid. Use the link in the latest mail from the hub, or log in and "
           "enter your address again.";
  if (code == "contact-token-used") return "This confirmation link was used before: your address is confirmed.";
  if (code == "contact-token-superseded")
    return "This confirmation link was replaced by a newer one: use the link in the latest mail from the hub.";
  if (code == "contact-token-expired")
    return "This confirmation link has expired. Log in and enter your address again to get a new link.";
  if (code.rfind("mandate-", 0) == 0)
    return "You hold no live mandate for that municipality. Log in with eHerkenning for it first.";
  return "The login could not be accepted. Log in again; if it happens again, contact the hub.";
}

std::string EherkenningWeb::sign_key_form(const WebSession& s) {
  std::optional<std::string> current;
  {
    std::lock_guard<std::mutex> lock(store_.mu);
    auto account = store::find_account(store_.db, s.auditor);
    if (account.ok() && *account && (*account)->sign_key)
      if (auto k = minisign::parse_public_key(*(*account)->sign_key); k.ok()) current = minisign::key_id_hex(k->key_id);
  }
  std::string body = "<h2>Signing key</h2><p id=\"sign-key-status\">";
  body += current ? "Your packages' manifests are checked against minisign key <code id=\"sign-key-id\">" +
                        html::escape(*current) + "</code>. Registering another key replaces it."
                  : std::string("No signing key is registered: the hub refuses your packages until you register "
                                "the minisign public key you sign their manifests with.");
  body += "</p><form method=\"post\" action=\"/eherkenning/sign-key\"><input type=\"hidden\" name=\"csrf\" "
          "value=\"" + html::escape(s.csrf) + "\"><p><label>Your minisign public key (the contents of "
          "<code>minisign.pub</code>, made with <code>minisign -G</code>):<br><textarea id=\"sign-key\" "
          "name=\"sign_key\" rows=\"3\" cols=\"80\"></textarea></label></p><p><button id=\"register-sign-key\" "
          "type=\"submit\">Register signing key</button></p></form>";
  return body;
}

std::string EherkenningWeb::contact_form(const WebSession& s) {
  std::optional<store::Contact> contact;
  {
    std::lock_guard<std::mutex> lock(store_.mu);
    auto found = store::find_contact(store_.db, s.auditor);
    if (found.ok()) contact = *found;
  }
  std::string body = "<h2>Contact details</h2><p id=\"contact-status\">";
  if (!contact) {
    body += "The hub mails you when an enrichment request or a SIP for your municipality is in its outbox. Enter "
            "your name and e-mail address; the hub mails a link to that address, and notifications go to it once "
            "you open the link.";
  } else if (contact->confirmed_ms) {
    body += "Notifications go to <strong id=\"contact-name\">" + html::escape(contact->name) +
            "</strong>, <code id=\"contact-email\">" + html::escape(contact->email) +
            "</code> (<span id=\"contact-state\">confirmed</span>). A new address must be confirmed again.";
  } else {
    body += "<strong id=\"contact-name\">" + html::escape(contact->name) + "</strong>, <code id=\"contact-email\">" +
            html::escape(contact->email) + "</code> (<span id=\"contact-state\">not confirmed</span>): ";
    if (contact->mail_state == "failed")
      body += "the hub could not deliver the mail to this address (<code id=\"contact-mail-error\">" +
              html::escape(contact->mail_error.value_or("")) + "</code>). Check the address and save it again.";
    else
      body += std::string(contact->mail_state == "sent" ? "open the link the hub mailed to this address."
                                                        : "the hub is mailing a link to this address; open it.") +
              " Until then you get no notifications. Saving the form again sends a new link.";
  }
  body += "</p><form method=\"post\" action=\"/eherkenning/contact\"><input type=\"hidden\" name=\"csrf\" "
          "value=\"" + html::escape(s.csrf) + "\"><p><label>Your name: <input id=\"name\" name=\"name\" "
          "maxlength=\"128\" value=\"" + html::escape(contact ? contact->name : "") + "\"></label></p><p><label>"
          "Your e-mail address: <input id=\"email\" name=\"email\" type=\"email\" maxlength=\"254\" value=\"" +
          html::escape(contact ? contact->email : "") + "\"></label></p><p><button id=\"save-contact\" "
          "type=\"submit\">Save and send the confirmation link</button></p></form>";
  return body;
}

std::string EherkenningWeb::system_keys(const WebSession& s) {
  std::vector<store::MunicipalKey> keys;
  {
    std::lock_guard<std::mutex> lock(store_.mu);
    auto found = store::municipal_keys_of(store_.db, s.auditor);
    if (found.ok()) keys = std::move(*found);
  }
  std::string body = "<h2>Municipal systems' keys</h2>";
  if (keys.empty())
    return body + "<p id=\"system-keys-none\">You registered no key of a municipal system.</p>";
  body += "<table id=\"system-keys\"><tr><th>Municipality</th><th>Key</th><th>Registered</th><th>Logs in</th>"
          "<th></th></tr>";
  const int64_t now = log::now_ms();
  for (const auto& k : keys) {
    std::string state;
    if (k.mandate_revoked)
      state = "no more: the mandate was revoked";
    else if (k.mandate_until_ms && *k.mandate_until_ms <= now)
      state = "no more: the mandate expired";
    else
      state = k.mandate_until_ms ? "until " + format_utc(*k.mandate_until_ms, "%Y-%m-%d %H:%M UTC") : "while the mandate lasts";
    body += "<tr><td>" + html::escape(k.municipality) + "</td><td><code class=\"system-key\">" + html::escape(k.fingerprint) +
            "</code> (" + html::escape(k.key_type) + ")</td><td>" + format_utc(k.created_ms, "%Y-%m-%d %H:%M UTC") +
            "</td><td>" + html::escape(state) + "</td><td><form method=\"post\" action=\"/eherkenning/system-key/remove\">"
            "<input type=\"hidden\" name=\"csrf\" value=\"" + html::escape(s.csrf) + "\"><input type=\"hidden\" "
            "name=\"municipality\" value=\"" + html::escape(k.municipality) + "\"><input type=\"hidden\" "
            "name=\"fingerprint\" value=\"" + html::escape(k.fingerprint) + "\"><button class=\"remove-system-key\" "
            "type=\"submit\">Remove</button></form></td></tr>";
  }
  return body + "</table><p>A removed key logs in no more; register it again to use it.</p>";
}

std::string EherkenningWeb::home(const WebSession& s, const std::string& note) {
  std::vector<policy::Mandate> live;
  {
    std::lock_guard<std::mutex> lock(store_.mu);
    auto all = store::live_mandates_of(store_.db, s.auditor);
    if (all.ok())
      for (auto& m : *all)
        if (policy::check_mandate(m, log::now_ms(), std::nullopt).ok()) live.push_back(m);
  }
  std::string body = "<p id=\"message\">" + note + " You are <code id=\"person\">" + html::escape(s.auditor) +
                     "</code>.</p>";
  body += contact_form(s);
  if (live.empty()) return body + "<p>You hold no live mandate.</p>" + system_keys(s);
  body += "<form method=\"post\" action=\"/eherkenning/certificate\"><input type=\"hidden\" name=\"csrf\" value=\"" +
          html::escape(s.csrf) + "\"><p><label>Municipality you act for: <select id=\"municipality-choice\" name=\"municipality\">";
  for (const auto& m : live)
    body += "<option value=\"" + html::escape(m.municipality) + "\">" + html::escape(m.municipality) + "</option>";
  body += "</select></label></p><p><label>Your SSH public key (ssh-ed25519, the contents of "
          "<code>id_ed25519.pub</code>):<br><textarea id=\"public-key\" name=\"public_key\" rows=\"3\" "
          "cols=\"80\"></textarea></label></p><p><button id=\"get-certificate\" type=\"submit\">Get an SSH "
          "certificate</button> (for you, short-lived) or <button id=\"register-system-key\" type=\"submit\" "
          "formaction=\"/eherkenning/system-key\">Register as a municipal system's key</button> (long-lived, "
          "for this municipality only, as long as your mandate)</p></form>";
  return body + system_keys(s) + sign_key_form(s);
}

bool EherkenningWeb::owns(const std::string& uri) {
  std::string path = uri.substr(0, uri.find_first_of("?#"));
  return path == "/eherkenning" || path.rfind("/eherkenning/", 0) == 0;
}

void EherkenningWeb::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
  try {
    const std::string path = Poco::URI(req.getURI()).getPath();
    const std::string& method = req.getMethod();
    const std::string source = req.clientAddress().host().toString();
    if (!sp_) return send(resp, refusal_page("eherkenning-off"));
    if ((path == "/eherkenning" || path == "/eherkenning/") && method == "GET")
      return send(resp, page(HTTPResponse::HTTP_OK,
                             "<p>Contact persons of a municipality log in with eHerkenning (level EH3 or "
                             "higher), for the municipality that mandated them.</p>"
                             "<p><a id=\"login\" class=\"button\" href=\"/eherkenning/login\">Log in with "
                             "eHerkenning</a></p>"));
    if (path == "/eherkenning/login" && method == "GET") {
      std::array<uint8_t, 32> nonce{};
      randombytes_buf(nonce.data(), nonce.size());
      const std::string cookie = to_hex(nonce.data(), nonce.size());
      auto sent = monitor_.eh_request(source, browser_tag(cookie));
      if (!sent.ok()) return send(resp, refusal_page("store-failed"));
      if (!sent->accepted) return send(resp, refusal_page(sent->reason));
      return send(resp, redirect(sent->url, login_cookie(cookie, sp_->https())));
    }
    if (path == "/eherkenning/acs" && method == "POST") {
      auto facts = sp_->verify(saml_response_of(req), log::now_ms(), [&](const std::string& wrapped) -> Result<std::string> {
        auto r = monitor_.eh_unwrap(source, wrapped);
        if (!r.ok()) return r.error();
        KP_ENSURE(r->accepted, r->reason.empty() ? "eh-decryption-failed" : r->reason, "the monitor could not unwrap it");
        return r->unwrapped;
      });
      if (!facts.ok()) {
        const std::string code = facts.error().code;
        log::event("eherkenning.refused", {{"reason", code}, {"detail", facts.error().detail}});
        auto recorded = monitor_.eh_refused(source, code, {});
        if (!recorded.ok() || !recorded->accepted) return send(resp, refusal_page("store-failed"));
        return send(resp, refusal_page(code));
      }
      auto decided = monitor_.eh_login(source, *facts, browser_tag(cookie_of(req, kLoginCookie)));
      if (!decided.ok()) return send(resp, refusal_page("store-failed"));
      if (!decided->accepted) return send(resp, refusal_page(decided->reason));
      WebSession s = sessions_.create(decided->person, {}, log::now_ms(), decided->grant);
      Reply r = page(HTTPResponse::HTTP_OK,
                     home(s, std::string(decided->first_login ? "Your account is activated. " : "Welcome back. ") +
                                 "You logged in for <strong id=\"municipality\">" +
                                 html::escape(decided->municipality) + "</strong>."));
      r.cookie = session_cookie(s.id, kSessionMs / 1000);
      return send(resp, r);
    }
    auto session = sessions_.find(cookie_of(req), log::now_ms());
    if (path == "/eherkenning/home" && method == "GET") {
      if (!session) return send(resp, refusal_page("session-missing"));
      return send(resp, page(HTTPResponse::HTTP_OK, home(*session, "")));
    }
    if (path == "/eherkenning/certificate" && method == "POST") {
      Poco::Net::HTMLForm form;
      if (!read_form(req, form)) return send(resp, refusal_page("form-invalid"));
      if (!session) return send(resp, refusal_page("session-missing"));
      if (!csrf_matches(*session, form.get("csrf", ""))) return send(resp, refusal_page("csrf-invalid"));
      auto issued = monitor_.eh_cert(session->grant, source, form.get("municipality", ""), form.get("public_key", ""));
      if (!issued.ok()) return send(resp, refusal_page("store-failed"));
      if (!issued->accepted) return send(resp, refusal_page(issued->reason));
      const std::string principal = session->auditor + "@" + form.get("municipality", "");
      return send(resp, page(HTTPResponse::HTTP_OK,
                             "<p id=\"message\">Your certificate for <code id=\"principal\">" +
                                 html::escape(principal) +
                                 "</code>. Save it next to your private key as <code>id_ed25519-cert.pub</code> "
                                 "(OpenSSH finds it there) and log in with <code>sftp " +
                                 html::escape(principal) + "@HOST</code>.</p><pre id=\"certificate\">" +
                                 html::escape(issued->certificate) +
                                 "</pre><p><a href=\"/eherkenning/home\">Back</a></p>"));
    }
    if (path == "/eherkenning/system-key" && method == "POST") {
      Poco::Net::HTMLForm form;
      if (!read_form(req, form)) return send(resp, refusal_page("form-invalid"));
      if (!session) return send(resp, refusal_page("session-missing"));
      if (!csrf_matches(*session, form.get("csrf", ""))) return send(resp, refusal_page("csrf-invalid"));
      const std::string municipality = form.get("municipality", "");
      auto added = monitor_.eh_system_key(session->grant, source, municipality, form.get("public_key", ""));
      if (!added.ok()) return send(resp, refusal_page("store-failed"));
      if (!added->accepted) return send(resp, refusal_page(added->reason));
      const std::string principal = session->auditor + "@" + municipality;
      return send(resp, page(HTTPResponse::HTTP_OK,
                             "<p id=\"message\">The key <code id=\"system-key\">" + html::escape(added->key_id) +
                                 "</code> of your municipal system logs in as <code id=\"principal\">" +
                                 html::escape(principal) +
                                 "</code> as long as your mandate for this municipality is live: it expires "
                                 "with the mandate and ends when the hub revokes it.</p>"
                                 "<p><a href=\"/eherkenning/home\">Back</a></p>"));
    }
    if (path == "/eherkenning/system-key/remove" && method == "POST") {
      Poco::Net::HTMLForm form;
      if (!read_form(req, form)) return send(resp, refusal_page("form-invalid"));
      if (!session) return send(resp, refusal_page("session-missing"));
      if (!csrf_matches(*session, form.get("csrf", ""))) return send(resp, refusal_page("csrf-invalid"));
      const std::string municipality = form.get("municipality", "");
      auto removed =
          monitor_.eh_system_key_remove(session->grant, source, municipality, form.get("fingerprint", ""));
      if (!removed.ok()) return send(resp, refusal_page("store-failed"));
      if (!removed->accepted) return send(resp, refusal_page(removed->reason));
      return send(resp, page(HTTPResponse::HTTP_OK,
                             "<p id=\"message\">The key <code id=\"system-key\">" + html::escape(removed->key_id) +
                                 "</code> of your municipal system for <code id=\"municipality\">" +
                                 html::escape(municipality) + "</code> is removed: it logs in no more.</p>" +
                                 system_keys(*session) + "<p><a href=\"/eherkenning/home\">Back</a></p>"));
    }
    if (path == "/eherkenning/sign-key" && method == "POST") {
      Poco::Net::HTMLForm form;
      if (!read_form(req, form)) return send(resp, refusal_page("form-invalid"));
      if (!session) return send(resp, refusal_page("session-missing"));
      if (!csrf_matches(*session, form.get("csrf", ""))) return send(resp, refusal_page("csrf-invalid"));
      auto registered = monitor_.eh_sign_key(session->grant, source, form.get("sign_key", ""));
      if (!registered.ok()) return send(resp, refusal_page("store-failed"));
      if (!registered->accepted) return send(resp, refusal_page(registered->reason));
      return send(resp, page(HTTPResponse::HTTP_OK,
                             "<p id=\"message\">Your signing key <code id=\"sign-key-id\">" +
                                 html::escape(registered->key_id) +
                                 "</code> is registered. Sign each package's manifest with it (<code>knooppunt "
                                 "seal --sign-key minisign.key</code>); packages signed with another key are "
                                 "refused.</p><p><a href=\"/eherkenning/home\">Back</a></p>"));
    }
    if (path == "/eherkenning/contact" && method == "POST") {
      Poco::Net::HTMLForm form;
      if (!read_form(req, form)) return send(resp, refusal_page("form-invalid"));
      if (!session) return send(resp, refusal_page("session-missing"));
      if (!csrf_matches(*session, form.get("csrf", ""))) return send(resp, refusal_page("csrf-invalid"));
      auto set = monitor_.eh_contact(session->grant, source, form.get("name", ""), form.get("email", ""));
      if (!set.ok()) return send(resp, refusal_page("store-failed"));
      if (!set->accepted) return send(resp, refusal_page(set->reason));
      const std::string text = set->contact == "mailed"
                                   ? "Your contact details are saved. The hub is mailing a link to your address: "
                                     "open it before the time the mail names to confirm the address (on any "
                                     "device; you need not be logged in). Until then you get no notifications."
                                   : "Your name is updated; your confirmed address is unchanged.";
      return send(resp, page(HTTPResponse::HTTP_OK, "<p id=\"message\">" + html::escape(text) + "</p>" +
                                                        contact_form(*session) +
                                                        "<p><a href=\"/eherkenning/home\">Back</a></p>"));
    }
    if (path == "/eherkenning/confirm" && method == "GET") {
      Poco::URI uri(req.getURI());
      std::string token;
      for (const auto& [k, v] : uri.getQueryParameters())
        if (k == "token") token = v.substr(0, kMaxConfirmToken);
      return send(resp, page(HTTPResponse::HTTP_OK,
                             "<p id=\"message\">Confirm your e-mail address for notifications from the hub.</p>"
                             "<form method=\"post\" action=\"/eherkenning/confirm\"><input type=\"hidden\" "
                             "name=\"token\" value=\"" + html::escape(token) + "\"><p><button id=\"confirm\" "
                             "type=\"submit\">Confirm my address</button></p></form>"));
    }
    if (path == "/eherkenning/confirm" && method == "POST") {
      Poco::Net::HTMLForm form;
      if (!read_form(req, form)) return send(resp, refusal_page("form-invalid"));
      auto confirmed = monitor_.eh_confirm(source, form.get("token", ""));
      if (!confirmed.ok()) return send(resp, refusal_page("store-failed"));
      if (!confirmed->accepted) return send(resp, refusal_page(confirmed->reason));
      return send(resp, page(HTTPResponse::HTTP_OK,
                             "<p id=\"message\">Your address <code id=\"contact-email\">" +
                                 html::escape(confirmed->contact) +
                                 "</code> is <span id=\"contact-state\">confirmed</span>. The hub mails it when an "
                                 "enrichment request or a SIP for a municipality you act for is in its outbox.</p>"
                                 "<p><a href=\"/eherkenning/home\">To your page</a> (if you are still logged in)</p>"));
    }
    send(resp, page(HTTPResponse::HTTP_NOT_FOUND, "<p>Not found.</p>"));
  } catch (const Poco::Exception& e) {
    log::event("http.error", {{"error", e.displayText()}});
  }
}

}  // namespace kp::gateway
