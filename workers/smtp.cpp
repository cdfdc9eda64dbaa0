// One mail over SMTP; see smtp.h.
#include "workers/smtp.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <mutex>

namespace kp::workers {

namespace {

// Poco's SecureSMTPClientSession, built on a socket we connected ourselves
// (to bound the connect), would verify the certificate against no host
// name; this does its STARTTLS step with the configured one.
class Session : public Poco::Net::SMTPClientSession {
 public:
  using Poco::Net::SMTPClientSession::SMTPClientSession;

  // Sends STARTTLS and, when the server agrees, runs the TLS handshake over
  // the connection (verifying the certificate for `host`). False when the
  // server refused the command; throws when the handshake fails.
  bool start_tls(const Poco::Net::Context::Ptr& ctx, const std::string& host,
                 const Poco::Timespan& timeout) {
    std::string response;
    int status = sendCommand("STARTTLS", response);
    if (!isPositiveCompletion(status)) return false;
    Poco::Net::SecureStreamSocket tls(Poco::Net::SecureStreamSocket::attach(socket(), host, ctx));
    tls.setSendTimeout(timeout);
    socket() = tls;
    setTimeout(timeout);
    return true;
  }
};

Poco::Net::Context::Ptr client_context(const SmtpServer& s) {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
  Poco::Net::Context::Params p;
  p.caLocation = s.ca_file;
  p.loadDefaultCAs = s.ca_file.empty();
  p.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, p);
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  return ctx;
}

Error smtp_reply_error(const Poco::Net::SMTPException& e) {
  // Poco puts the reply's status code in the exception's code.
  int status = e.code();
  if (status >= 500 && status < 600) return make_error("smtp-rejected", e.displayText());
  if (status >= 400 && status < 500) return make_error("smtp-temporary-failure", e.displayText());
  return make_error("smtp-failed", e.displayText());
}

}  // namespace

Status check_mail_value(std::string_view what, std::string_view value) {
  for (unsigned char c : value)
    KP_ENSURE(
        c >= 0x20 && c != 0x7f, "notify-unsafe-value",
        std::string(what) + " holds a control character (CR, LF or other); the mail is not sent");
  return ok_status();
}

bool retryable(const Error& e) {
  return e.code != "notify-unsafe-value" && e.code != "smtp-rejected";
}

Status send_mail(const SmtpServer& server, const Mail& m) {
  KP_GUARD(check_mail_value("the sender address", m.from));
  KP_GUARD(check_mail_value("the recipient address", m.to));
  KP_GUARD(check_mail_value("the subject", m.subject));
  const Poco::Timespan timeout(server.timeout_seconds, 0);
  bool connected = false;
  try {
    Poco::Net::SocketAddress address(server.host, static_cast<Poco::UInt16>(server.port));
    Poco::Net::StreamSocket socket;
    socket.connect(address, timeout);
    connected = true;
    socket.setSendTimeout(timeout);
    Session session(socket);
    session.setTimeout(timeout);
    session.login();  // greeting, EHLO
    if (server.starttls) {
      KP_ENSURE(session.start_tls(client_context(server), server.host, timeout),
                "smtp-starttls-unavailable",
                server.host + " does not offer STARTTLS; nothing was sent (smtp_starttls = yes)");
      session.login();  // EHLO again, now over TLS
    }
    Poco::Net::MailMessage msg;
    msg.setSender(m.from);
    msg.addRecipient(Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, m.to));
    msg.setSubject(m.subject);
    msg.set("Auto-Submitted", "auto-generated");  // RFC 3834: no auto-replies, please
    msg.setContentType("text/plain; charset=UTF-8");
    msg.setContent(m.body, Poco::Net::MailMessage::ENCODING_QUOTED_PRINTABLE);
    session.sendMessage(msg);
    try {
      session.close();  // QUIT; the mail is accepted already
    } catch (const Poco::Exception&) {
    }
    return ok_status();
  } catch (const Poco::Net::SMTPException& e) {
    return smtp_reply_error(e);
  } catch (const Poco::TimeoutException& e) {
    return make_error("smtp-timeout", server.host + ": " + e.displayText());
  } catch (const Poco::Net::SSLException& e) {
    return make_error("smtp-tls-failed", server.host + ": " + e.displayText());
  } catch (const Poco::Exception& e) {
    return make_error(connected ? "smtp-failed" : "smtp-connect-failed",
                      server.host + ": " + e.displayText());
  } catch (const std::exception& e) {
    return make_error("smtp-failed", server.host + ": " + e.what());
  }
}

}  // namespace kp::workers
