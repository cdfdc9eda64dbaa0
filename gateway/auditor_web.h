// The auditors' web page on the gateway's HTTP endpoint (Poco), under
// /auditor/: log in with auditor id + token (set by `knooppunt auditor add
// ... --token-file` or `auditor token`), then a filtered, paged table of
// the audit records, a chart of transfers per day per municipality, the
// current signed checkpoint and a "verify" action that runs the same check
// as `knooppunt audit verify`. Metadata only, never package content.
// Dutch by default, English with ?lang=en (auditor_texts.h); filters live
// in the URL's query; Verify answers 303 to the page that shows its
// outcome (POST-redirect-GET); /auditor/style.css is the stylesheet of
// every page (html.h), served without a login.
//
// It runs in the sandboxed HTTP process (http_endpoint.h): it reads through
// one read-only store handle opened before the sandbox, verifies with the
// public log key, and writes nothing itself: logins and every audit record
// go through the monitor (http_monitor.h), which decides logins on its own.
//
// Sessions live in this process's memory (web_sessions.h): cookie
// `kp_session` (HttpOnly, SameSite=Strict, Path=/auditor, 15 minutes);
// state-changing requests (verify, logout) are POSTs that must carry the
// session's CSRF token. Every login attempt is audited as `web.login`
// (success, or refused with a reason) and refused logins count towards the
// same ban as failed SSH logins (ban_after_failures, ban_window_seconds).
// Every response carries a strict Content-Security-Policy, X-Frame-Options
// DENY, nosniff and no-store.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <optional>
#include <string>

#include <mutex>

#include "gateway/http_monitor.h"
#include "gateway/web_sessions.h"
#include "keys/announcement.h"
#include "keys/signed_note.h"
#include "store/db.h"

namespace kp::gateway {

// The HTTP process's one store handle (read-only), shared by Poco's threads
// one at a time.
struct ReadOnlyStore {
  std::mutex mu;
  store::Db db;
};

// What verify needs: the public log key and the checkpoints' origin.
struct LogKey {
  note::VerifierKey key;
  std::string origin;
  int64_t witness_quorum = 0;  // /log/ serves only checkpoints this many witnesses cosigned
  keys::LogKeyHistory history;  // every log key so far (keys/announcement.h); verify checks each era
};

class AuditorWeb {
 public:
  AuditorWeb(ReadOnlyStore& store, HttpMonitorClient& monitor, LogKey log_key)
      : store_(store), monitor_(monitor), log_key_(std::move(log_key)) {}

  // True when the request URI's path is one this page serves ("/",
  // "/auditor" and below).
  static bool owns(const std::string& uri);

  // Answers one request; never throws (Poco errors are caught and logged).
  void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp);

  // True when the URI's path is under /log/ (the tiles, log_web.cpp).
  static bool owns_log(const std::string& uri);
  // Serves the transfer log as C2SP tlog-tiles under /log/ to an auditor
  // who logged in on the page (session cookie) or sends
  // "Authorization: Bearer <auditor id>:<token>" (log_web.cpp).
  void handle_log(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp);

 private:
  ReadOnlyStore& store_;
  HttpMonitorClient& monitor_;
  LogKey log_key_;
  WebSessions sessions_;

  // The auditor a /log/ request is made by: a live session whose token is
  // still the auditor's, or a valid bearer token; nullopt otherwise (a
  // wrong bearer token is recorded through the monitor as a refused login).
  std::optional<std::string> log_reader(Poco::Net::HTTPServerRequest& req, const std::string& source);
};

}  // namespace kp::gateway
