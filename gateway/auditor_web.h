// The auditors' web page on the gateway's HTTP endpoint (Poco), under
// /auditor/: log in with auditor id + token (set by `knooppunt auditor add
// ... --token-file` or `auditor token`), then a filtered, paged table of
// the audit records, a chart of transfers per day per municipality, the
// current signed checkpoint and a "verify" action that runs the same check
// as `knooppunt audit verify`. Metadata only, never package content.
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

#include <string>

#include "common/datadir.h"
#include "common/settings.h"
#include "gateway/web_sessions.h"

namespace kp::gateway {

class AuditorWeb {
 public:
  AuditorWeb(DataDir data, Settings settings)
      : data_(std::move(data)), settings_(std::move(settings)) {}

  // True when the request URI's path is one this page serves ("/",
  // "/auditor" and below).
  static bool owns(const std::string& uri);

  // Answers one request; never throws (Poco errors are caught and logged).
  void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp);

 private:
  DataDir data_;
  Settings settings_;
  WebSessions sessions_;
};

}  // namespace kp::gateway
