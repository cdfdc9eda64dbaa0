// The HTTP process's monitor: privilege separation for the auditors' web
// page, after OpenSSH's monitor.c.
//
// `serve` forks a pair: the monitor (privileged, holds the read-write store)
// and its child, the sandboxed HTTP process (common/sandbox.h, Profile::http),
// which holds only a read-only store handle, the public log key, its
// listening socket and its end of a unix SOCK_SEQPACKET socketpair to the
// monitor. Everything the page writes goes through the monitor, which
// answers this fixed list of requests and nothing else:
//
//   login          source, auditor id, token: the monitor decides the login
//                  itself (ban, id, token against the stored hash, account),
//                  appends `web.login` (success or refused with the reason;
//                  a refusal counts as a failure of the source, see
//                  store/penalties.h; a banned source's logins are counted
//                  per minute, not recorded one by one, and never extend the
//                  ban) and, on success, returns a grant (32 random bytes)
//                  tied to the auditor and the token hash it matched.
//   session_ended  grant, source, reason (token-replaced | account-disabled):
//                  appended as `web.session_ended` only when the store agrees
//                  (no token any more, or a token other than the grant's).
//   logout         grant, source: `web.logout` for the grant's auditor.
//   verify_done    grant, source, result ("" = verified, or one of the
//                  audit-* codes of audit::verify_log, store-failed,
//                  store-busy, audit-verify-failed for any other):
//                  `web.verify` for the grant's auditor.
//   eh_request     source, browser tag (32 bytes: the SHA-256 of the login
//                  cookie the HTTP process sets): the monitor builds an
//                  AuthnRequest (saml_sp.h) and remembers its ID for that
//                  browser (saml_requests.h); accepted: the broker's URL
//                  with the request. Nothing is audited (no decision).
//   eh_login       source, the facts of an eHerkenning assertion the HTTP
//                  process verified (policy::LoginFacts, every field capped,
//                  with the InResponseTo) and the browser tag of the POST's
//                  login cookie (zero without one): the monitor checks them
//                  (level, replay, the request it answers and its browser,
//                  organisation -> a registered municipality) and records
//                  the login (gateway/eherkenning_monitor.h); accepted: the
//                  person's id, the municipality and whether this was the
//                  first login.
//   eh_unwrap      source, the CipherValue of an encrypted assertion's
//                  EncryptedKey (at most 512 bytes): the monitor decrypts it
//                  with the SP key (RSA-OAEP, keys/saml_sp_key.h) and returns
//                  the AES key (16, 24 or 32 bytes) the HTTP process then
//                  decrypts the assertion with; refused eh-decryption-failed.
//                  Nothing is audited here (the HTTP process reports the
//                  refusal with eh_refused).
//   eh_refused     source, a reason from saml_sp.h's fixed list, assertion
//                  id (may be empty): `eherkenning.login` refused.
//   eh_cert        grant (from an accepted eh_login), source, GM code, an
//                  OpenSSH ssh-ed25519 public key line: the monitor checks
//                  the person's live mandate for that municipality and signs
//                  a user certificate with the gateway's user CA
//                  (keys/ssh_cert.h), audited as `eherkenning.certificate`.
//   eh_sign_key    grant, source, a minisign public key (file text or the
//                  bare base64 line): the monitor registers it as the
//                  person's signing key (what intake checks manifests
//                  against), audited as `eherkenning.sign_key`; accepted:
//                  the key id.
//   eh_system_key  grant, source, GM code, an ssh-ed25519 public key line:
//                  the monitor registers it as a long-lived key of a
//                  municipal system, bound to that municipality and the
//                  person's live mandate there (store::add_municipal_key),
//                  audited as `eherkenning.system_key`.
//   eh_system_key_remove  grant, source, GM code, a key's SHA256 fingerprint
//                  (at most 64 bytes): the monitor removes that municipal
//                  system's key of the grant's person there
//                  (store::remove_municipal_key), audited as
//                  `eherkenning.system_key_removed`; refused
//                  system-key-unknown (also for another person's key).
//   eh_contact     grant, source, name, e-mail address (each at most
//                  kMaxContactField bytes): the monitor checks them
//                  (policy/contact.h) and stores the person's contact,
//                  queueing a confirmation mail when the address is new
//                  (store/contacts.h), audited as `eherkenning.contact`;
//                  accepted: "mailed" or "unchanged".
//   eh_confirm     source, a confirmation token (at most 128 bytes; no
//                  grant: the link works without a session): the monitor
//                  confirms the contact whose request has that token's
//                  hash, audited as `eherkenning.contact_confirmed`;
//                  accepted: the confirmed address.
//   status         no fields: what /healthz and /metrics need that only the
//                  monitor can see (HostStatus: its store answers, free space
//                  on the data directory's file system, the serve parent's
//                  counts from gateway/serve_status.h); fixed-size numbers,
//                  nothing written.
//
// So a compromised HTTP process cannot write a successful login record
// without the auditor's token, nor any record about an auditor who did not
// log in through the monitor (grants expire with the web session, 15
// minutes, at most kMaxSessions), nor sign anything with the SAML SP key
// but AuthnRequests the monitor builds itself (eh_request), nor decrypt
// with it anything but the AES key of an assertion encrypted to us
// (eh_unwrap: RSA-OAEP only, one reason for every failure), which the HTTP
// process sees decrypted anyway. What it can still do: claim any source
// address (the monitor never sees the client's socket), add refused logins
// (which count towards the ban), and state a verify result it did not get.
//
// The wire format: one request per SEQPACKET message of at most
// kMonitorMaxMessage bytes: a type byte, then exactly the type's fields,
// each a uint32 big-endian length and the bytes, each with a hard cap
// (source 64 and a numeric IPv4 or IPv6 address, auditor 256, token 1024,
// grant exactly 32, reason from the fixed set). A reply: a status byte (0
// accepted, 1 refused) and its fields (login accepted: grant and token hash;
// refused: the reason). A malformed or unknown request is a protocol
// violation: the monitor logs it, closes the channel and ends the pair.
#pragma once

#include <array>
#include <csignal>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/handles.h"
#include "common/result.h"
#include "common/settings.h"
#include "policy/eherkenning.h"
#include "gateway/refusal_tally.h"
#include "gateway/saml_requests.h"
#include "gateway/saml_sp.h"
#include "gateway/serve_status.h"
#include "store/auditor_tokens.h"
#include "store/db.h"

namespace kp::gateway {

inline constexpr std::size_t kMonitorMaxMessage = 4096;
inline constexpr std::size_t kMaxSourceBytes = 64;
inline constexpr std::size_t kMaxAuditorBytes = 256;
inline constexpr std::size_t kMaxLoginTokenBytes = 1024;

using Grant = std::array<uint8_t, 32>;

enum class MonitorOp : uint8_t {
  login = 1, session_ended = 2, logout = 3, verify_done = 4, eh_login = 5, eh_refused = 6, eh_cert = 7, status = 8,
  eh_sign_key = 9, eh_system_key = 10, eh_contact = 11, eh_confirm = 12, eh_request = 13,
  eh_unwrap = 14, eh_system_key_remove = 15
};
inline constexpr std::size_t kMaxPublicKeyLine = 1024;
// Longer than policy/contact.h's limits, so an overlong value reaches the
// monitor's check (and its reason) rather than being cut to fit.
inline constexpr std::size_t kMaxContactField = 512;
inline constexpr std::size_t kMaxConfirmToken = 128;
inline constexpr std::size_t kMaxRequestUrl = 3072;

struct LoginRequest {
  std::string source, auditor, token;
};
struct ClaimRequest {
  MonitorOp op = MonitorOp::logout;  // session_ended, logout or verify_done
  Grant grant{};
  std::string source;
  std::string reason;  // session_ended: why; verify_done: "" or the failure code; logout: ""
};
struct EhLoginRequest {
  std::string source;
  policy::LoginFacts facts;
  BrowserTag browser{};  // the login cookie's tag (saml_requests.h); zero: none
};
struct EhSystemKeyRemoveRequest {
  Grant grant{};
  std::string source, municipality, fingerprint;
};
struct EhUnwrapRequest {
  std::string source, wrapped;
};
struct EhRequestRequest {
  std::string source;
  BrowserTag browser{};
};
struct EhRefusedRequest {
  std::string source, reason, assertion_id;
};
struct EhCertRequest {
  Grant grant{};
  std::string source, municipality, public_key;
};
// The same fields as a certificate request; its own type for the variant.
struct EhSystemKeyRequest : EhCertRequest {};
struct StatusRequest {};
struct EhSignKeyRequest {
  Grant grant{};
  std::string source, public_key;
};
struct EhContactRequest {
  Grant grant{};
  std::string source, name, email;
};
struct EhConfirmRequest {
  std::string source, token;
};
using MonitorRequest = std::variant<LoginRequest, ClaimRequest, EhLoginRequest, EhRefusedRequest, EhCertRequest,
                                    StatusRequest, EhSignKeyRequest, EhSystemKeyRequest, EhContactRequest,
                                    EhConfirmRequest, EhRequestRequest, EhUnwrapRequest,
                                    EhSystemKeyRemoveRequest>;

// The status request's answer.
struct HostStatus {
  bool store_ok = false;         // the monitor's read-write store answers a read
  uint64_t disk_free_bytes = 0;  // available to unprivileged users on the data directory's file system
  uint64_t disk_size_bytes = 0;
  ServeCounts serve;
};

struct MonitorReply {
  bool accepted = false;
  std::string reason;                // when refused
  Grant grant{};                     // login accepted
  store::TokenHash token_hash{};     // login accepted: the stored hash it matched
  std::string person, municipality;  // eh_login accepted (with a grant)
  bool first_login = false;          // eh_login accepted
  std::string certificate;           // eh_cert accepted: the OpenSSH certificate line
  std::string key_id;                // eh_sign_key accepted: the minisign key id; eh_system_key: the fingerprint
  std::optional<HostStatus> host;    // status accepted
  std::string contact;               // eh_contact accepted: "mailed" | "unchanged"; eh_confirm: the address
  std::string url;                   // eh_request accepted: the broker's URL with the AuthnRequest
  std::string unwrapped;             // eh_unwrap accepted: the AES key
};

// The result code verify_done carries for a verify that failed with `code`:
// `code` when it is on the monitor's list, else "audit-verify-failed".
std::string verify_result_code(const std::string& code);

// The codec (pure; both sides and the tests use it). encode_* never produce
// a message parse_* refuses when the fields are within their caps.
std::string encode_request(const MonitorRequest& r);
// Error "monitor-protocol" naming what is wrong: unknown type, a missing,
// extra, oversized or invalid field, or more than kMonitorMaxMessage bytes.
Result<MonitorRequest> parse_request(std::string_view bytes);
std::string encode_reply(const MonitorReply& r);
Result<MonitorReply> parse_reply(std::string_view bytes, MonitorOp op);

// The sandboxed side's end of the channel; safe to share between Poco's
// threads (one exchange at a time). Errors: "monitor-gone" when the
// monitor closed the channel, "monitor-protocol" for a malformed reply.
class HttpMonitorClient {
 public:
  explicit HttpMonitorClient(Fd fd) : fd_(std::move(fd)) {}
  Result<MonitorReply> login(const std::string& source, const std::string& auditor,
                             const std::string& token);
  Result<MonitorReply> claim(MonitorOp op, const Grant& grant, const std::string& source,
                             const std::string& reason = {});
  Result<MonitorReply> eh_request(const std::string& source, const BrowserTag& browser);
  Result<MonitorReply> eh_unwrap(const std::string& source, const std::string& wrapped);
  Result<MonitorReply> eh_system_key_remove(const Grant& grant, const std::string& source,
                                            const std::string& municipality, const std::string& fingerprint);
  Result<MonitorReply> eh_login(const std::string& source, const policy::LoginFacts& facts,
                                const BrowserTag& browser = {});
  Result<MonitorReply> eh_refused(const std::string& source, const std::string& reason,
                                  const std::string& assertion_id);
  Result<MonitorReply> eh_cert(const Grant& grant, const std::string& source, const std::string& municipality,
                               const std::string& public_key);
  Result<MonitorReply> eh_sign_key(const Grant& grant, const std::string& source, const std::string& public_key);
  Result<MonitorReply> eh_system_key(const Grant& grant, const std::string& source, const std::string& municipality,
                                     const std::string& public_key);
  Result<MonitorReply> eh_contact(const Grant& grant, const std::string& source, const std::string& name,
                                  const std::string& email);
  Result<MonitorReply> eh_confirm(const std::string& source, const std::string& token);
  Result<HostStatus> status();
  // Sends `request` as it is and returns the raw reply (test hooks send
  // forged requests through this).
  Result<std::string> exchange(std::string_view request);
  int fd() const { return fd_.get(); }

 private:
  std::mutex mu_;
  Fd fd_;
};

// The privileged side's decisions, apart from the socket so the tests can
// drive them. Not thread-safe (the monitor is single-threaded).
class HttpMonitor {
 public:
  // `user_ca`: the secret of the gateway's user CA (keys/ssh_cert.h), when
  // certificates are to be issued; `sp`: the SAML SP that builds the
  // AuthnRequests (eh_request), when eHerkenning is on.
  HttpMonitor(store::Db& db, Settings settings, std::optional<std::array<uint8_t, 64>> user_ca = std::nullopt,
              std::unique_ptr<SamlSp> sp = nullptr);
  ~HttpMonitor();
  // Writes the counted refusals of banned sources whose minute is over.
  void flush(bool all = false) { tally_.flush(all); }
  // Answers one well-formed request. A refusal names its reason:
  // "grant-unknown" (no live grant), "claim-false" (the store disagrees),
  // "store-failed" (nothing could be recorded).
  MonitorReply answer(const MonitorRequest& r, int64_t now_ms);
  // What answers the status request (without one it is refused,
  // "status-unavailable").
  void set_status_source(std::function<HostStatus()> source) { status_ = std::move(source); }

 private:
  struct GrantEntry {
    std::string auditor;
    store::TokenHash token_hash{};
    int64_t expires_ms = 0;
  };
  MonitorReply login(const LoginRequest& r, int64_t now_ms);
  MonitorReply claim(const ClaimRequest& r, int64_t now_ms);
  std::string key_of(const Grant& g) const;

  store::Db& db_;
  Settings settings_;
  RefusalTally tally_;  // web logins from banned sources
  std::map<std::string, GrantEntry> grants_;  // keyed by a hash of the grant
  std::unique_ptr<class EhMonitor> eh_;       // eherkenning_monitor.h
  std::function<HostStatus()> status_;
};

// Serves `fd` until the peer closes it or `*stop` is set (returns true), or
// the peer breaks the protocol (logs `http.monitor_violation`, returns false).
bool run_monitor(int fd, HttpMonitor& monitor, const volatile std::sig_atomic_t* stop = nullptr);

}  // namespace kp::gateway
