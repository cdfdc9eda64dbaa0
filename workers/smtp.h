// Sending one plain-text mail over SMTP (Poco's client), the edge where
// Poco's exceptions become Errors.
//
// One connection per mail: notifications are few, and a fresh connection
// never inherits a half-broken dialogue. The connect and every reply are
// bounded by the timeout. With STARTTLS required, the server's certificate
// must verify (system CAs, or the configured CA file) and match the host
// name, and nothing of the message (not even MAIL FROM) is sent before TLS
// is up: a server without STARTTLS gets no plaintext fallback.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace kp::workers {

struct SmtpServer {
  std::string host;
  int port = 25;
  bool starttls = true;
  int timeout_seconds = 10;
  std::string ca_file;  // empty = the system's CA certificates
};

struct Mail {
  std::string from;     // one address
  std::string to;       // one address
  std::string subject;  // ASCII
  std::string body;     // plain text, UTF-8, lines separated by "\n"
};

// Refuses ("notify-unsafe-value", naming `what`) a value with a CR, LF or
// any other control character: one in a header would start a header of its
// own (injection), one in the body could forge lines.
Status check_mail_value(std::string_view what, std::string_view value);

// Sends `m`. Every header value is checked first (check_mail_value).
// Errors, with whether a retry may help:
//   notify-unsafe-value        a header value was refused (no)
//   smtp-connect-failed        host unknown, refused, unreachable (yes)
//   smtp-timeout               no connection or no reply in time (yes)
//   smtp-starttls-unavailable  STARTTLS required, the server refused it (yes)
//   smtp-tls-failed            handshake or certificate verification failed (yes)
//   smtp-temporary-failure     a 4xx reply (yes)
//   smtp-rejected              a 5xx reply (no)
//   smtp-failed                anything else, e.g. the connection dropped (yes)
Status send_mail(const SmtpServer& server, const Mail& m);

// True for the codes above after which another attempt may succeed.
bool retryable(const Error& e);

}  // namespace kp::workers
