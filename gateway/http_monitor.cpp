// The HTTP process's monitor: the codec, the sandboxed side's client and the
// privileged side's decisions; see http_monitor.h.
#include "gateway/http_monitor.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/address.h"
#include "common/bytes.h"
#include "common/log.h"
#include "gateway/eherkenning_monitor.h"
#include "gateway/web_sessions.h"
#include "gateway/web_token.h"
#include "keys/saml_sp_key.h"
#include "policy/identifiers.h"
#include "store/audit_events.h"
#include "store/penalties.h"
#include "store/registry.h"

namespace kp::gateway {

namespace {

constexpr const char* kVerifyCodes[] = {
    "audit-record-altered",      "audit-record-missing", "audit-checkpoint-mismatch",
    "audit-checkpoint-signature", "audit-tree-damaged",   "audit-not-grown",
    "audit-fork-refused",        "audit-no-checkpoint",  "store-failed",
    "store-busy",                "audit-verify-failed"};

bool numeric_address(std::string_view s) {
  if (s.empty() || s.size() > kMaxSourceBytes) return false;
  std::string text(s);
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, text.c_str(), buf) == 1 || ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

bool allowed_reason(MonitorOp op, std::string_view reason) {
  switch (op) {
    case MonitorOp::session_ended:
      return reason == "token-replaced" || reason == "account-disabled";
    case MonitorOp::logout:
      return reason.empty();
    case MonitorOp::verify_done:
      return reason.empty() || std::find(std::begin(kVerifyCodes), std::end(kVerifyCodes), reason) !=
                                   std::end(kVerifyCodes);
    case MonitorOp::login:
    case MonitorOp::eh_login:
    case MonitorOp::eh_refused:
    case MonitorOp::eh_cert:
    case MonitorOp::eh_sign_key:
    case MonitorOp::eh_system_key:
    case MonitorOp::eh_contact:
    case MonitorOp::eh_confirm:
    case MonitorOp::eh_request:
    case MonitorOp::eh_unwrap:
    case MonitorOp::eh_system_key_remove:
    case MonitorOp::status:
      return false;
  }
  return false;
}

Error protocol(const std::string& what) { return make_error("monitor-protocol", what); }

Status audit_web(store::Db& db, const std::string& event, const std::string& outcome,
                 const std::optional<std::string>& actor, const std::string& source,
                 const std::optional<std::string>& reason) {
  store::AuditEvent e;
  e.event = event;
  e.outcome = outcome;
  e.actor = actor;
  e.role = "auditor";
  e.source = source;
  e.channel = "http";
  e.reason = reason;
  auto id = store::append_audit(db, e);
  return id.ok() ? ok_status() : Status(id.error());
}

// Why a login is refused (for the audit record; the client sees less), or
// nothing when id and token are right; then `matched` is the stored hash the
// session will be tied to.
Result<std::optional<std::string>> login_refusal(store::Db& db, const std::string& id,
                                                 const std::string& token, store::TokenHash& matched) {
  using R = std::optional<std::string>;
  if (!policy::valid_account_id(id)) return R("id-invalid");
  if (token.empty()) return R("token-missing");
  KP_TRY(auto stored, store::auditor_token(db, id));
  if (stored) {
    if (!token_matches(token, *stored)) return R("token-wrong");
    matched = *stored;
    return R();
  }
  KP_TRY(auto account, store::find_account(db, id));
  if (!account) return R("auditor-unknown");
  return R(account->role == "auditor" ? "token-not-set" : "not-auditor");
}

MonitorReply refusal(std::string reason) {
  MonitorReply r;
  r.reason = std::move(reason);
  return r;
}

}  // namespace

std::string verify_result_code(const std::string& code) {
  return allowed_reason(MonitorOp::verify_done, code) && !code.empty() ? code : "audit-verify-failed";
}

// ---------------------------------------------------------------- codec

std::string encode_request(const MonitorRequest& r) {
  std::vector<uint8_t> out;
  Writer w(out);
  if (const auto* l = std::get_if<LoginRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::login));
    w.str(l->source);
    w.str(l->auditor);
    w.str(l->token);
  } else if (const auto* e = std::get_if<EhLoginRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::eh_login));
    w.str(e->source);
    w.str(e->facts.assertion_id);
    w.u64(static_cast<uint64_t>(e->facts.expires_ms));
    w.str(e->facts.level);
    w.str(e->facts.org_kind);
    w.str(e->facts.org_number);
    w.str(e->facts.pseudonym);
    w.str(e->facts.intermediary);
    w.str(e->facts.in_response_to);
    w.str(std::string_view(reinterpret_cast<const char*>(e->browser.data()), e->browser.size()));
  } else if (const auto* k = std::get_if<EhSystemKeyRemoveRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::eh_system_key_remove));
    w.str(std::string_view(reinterpret_cast<const char*>(k->grant.data()), k->grant.size()));
    w.str(k->source);
    w.str(k->municipality);
    w.str(k->fingerprint);
  } else if (const auto* u = std::get_if<EhUnwrapRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::eh_unwrap));
    w.str(u->source);
    w.str(u->wrapped);
  } else if (const auto* q = std::get_if<EhRequestRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::eh_request));
    w.str(q->source);
    w.str(std::string_view(reinterpret_cast<const char*>(q->browser.data()), q->browser.size()));
  } else if (const auto* f = std::get_if<EhRefusedRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::eh_refused));
    w.str(f->source);
    w.str(f->reason);
    w.str(f->assertion_id);
  } else if (std::holds_alternative<EhCertRequest>(r) || std::holds_alternative<EhSystemKeyRequest>(r)) {
    const bool system = std::holds_alternative<EhSystemKeyRequest>(r);
    const EhCertRequest* k = system ? &std::get<EhSystemKeyRequest>(r) : &std::get<EhCertRequest>(r);
    w.u8(static_cast<uint8_t>(system ? MonitorOp::eh_system_key : MonitorOp::eh_cert));
    w.str(std::string_view(reinterpret_cast<const char*>(k->grant.data()), k->grant.size()));
    w.str(k->source);
    w.str(k->municipality);
    w.str(k->public_key);
  } else if (const auto* g = std::get_if<EhSignKeyRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::eh_sign_key));
    w.str(std::string_view(reinterpret_cast<const char*>(g->grant.data()), g->grant.size()));
    w.str(g->source);
    w.str(g->public_key);
  } else if (const auto* c = std::get_if<EhContactRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::eh_contact));
    w.str(std::string_view(reinterpret_cast<const char*>(c->grant.data()), c->grant.size()));
    w.str(c->source);
    w.str(c->name);
    w.str(c->email);
  } else if (const auto* t = std::get_if<EhConfirmRequest>(&r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::eh_confirm));
    w.str(t->source);
    w.str(t->token);
  } else if (std::holds_alternative<StatusRequest>(r)) {
    w.u8(static_cast<uint8_t>(MonitorOp::status));
  } else {
    const auto& c = std::get<ClaimRequest>(r);
    w.u8(static_cast<uint8_t>(c.op));
    w.str(std::string_view(reinterpret_cast<const char*>(c.grant.data()), c.grant.size()));
    w.str(c.source);
    if (c.op != MonitorOp::logout) w.str(c.reason);
  }
  return std::string(out.begin(), out.end());
}

Result<MonitorRequest> parse_request(std::string_view bytes) {
  KP_ENSURE(bytes.size() <= kMonitorMaxMessage, "monitor-protocol", "request too long");
  Reader in(bytes);
  const uint8_t type = in.u8();
  KP_ENSURE(in.ok(), "monitor-protocol", "empty request");
  if (type == static_cast<uint8_t>(MonitorOp::login)) {
    LoginRequest l;
    l.source = in.str(kMaxSourceBytes);
    l.auditor = in.str(kMaxAuditorBytes);
    l.token = in.str(kMaxLoginTokenBytes);
    if (!in.at_end()) return protocol("login: missing, oversized or extra fields");
    if (!numeric_address(l.source)) return protocol("login: source is not an address");
    return MonitorRequest(std::move(l));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_login)) {
    EhLoginRequest e;
    e.source = in.str(kMaxSourceBytes);
    e.facts.assertion_id = in.str(policy::kMaxAssertionIdBytes);
    e.facts.expires_ms = static_cast<int64_t>(in.u64());
    e.facts.level = in.str(128);
    e.facts.org_kind = in.str(8);
    e.facts.org_number = in.str(16);
    e.facts.pseudonym = in.str(policy::kMaxPseudonymBytes);
    e.facts.intermediary = in.str(16);
    e.facts.in_response_to = in.str(policy::kMaxAssertionIdBytes);
    std::string_view browser = in.str(32);
    if (in.ok() && browser.size() != 32) in.fail();
    if (in.ok()) std::memcpy(e.browser.data(), browser.data(), 32);
    if (!in.at_end()) return protocol("eh_login: missing, oversized or extra fields");
    if (!numeric_address(e.source)) return protocol("eh_login: source is not an address");
    return MonitorRequest(std::move(e));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_system_key_remove)) {
    EhSystemKeyRemoveRequest k;
    std::string_view grant = in.str(32);
    if (in.ok() && grant.size() != 32) in.fail();
    if (in.ok()) std::memcpy(k.grant.data(), grant.data(), 32);
    k.source = in.str(kMaxSourceBytes);
    k.municipality = in.str(6);
    k.fingerprint = in.str(64);
    if (!in.at_end()) return protocol("eh_system_key_remove: missing, oversized or extra fields");
    if (!numeric_address(k.source)) return protocol("eh_system_key_remove: source is not an address");
    return MonitorRequest(std::move(k));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_unwrap)) {
    EhUnwrapRequest u;
    u.source = in.str(kMaxSourceBytes);
    u.wrapped = in.str(keys::kMaxWrappedKey);
    if (!in.at_end()) return protocol("eh_unwrap: missing, oversized or extra fields");
    if (!numeric_address(u.source)) return protocol("eh_unwrap: source is not an address");
    return MonitorRequest(std::move(u));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_request)) {
    EhRequestRequest q;
    q.source = in.str(kMaxSourceBytes);
    std::string_view browser = in.str(32);
    if (in.ok() && browser.size() != 32) in.fail();
    if (in.ok()) std::memcpy(q.browser.data(), browser.data(), 32);
    if (!in.at_end()) return protocol("eh_request: missing, oversized or extra fields");
    if (!numeric_address(q.source)) return protocol("eh_request: source is not an address");
    return MonitorRequest(std::move(q));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_refused)) {
    EhRefusedRequest f;
    f.source = in.str(kMaxSourceBytes);
    f.reason = in.str(64);
    f.assertion_id = in.str(policy::kMaxAssertionIdBytes);
    if (!in.at_end()) return protocol("eh_refused: missing, oversized or extra fields");
    if (!numeric_address(f.source)) return protocol("eh_refused: source is not an address");
    if (!eh_refusal_allowed(f.reason)) return protocol("eh_refused: reason not allowed: " + f.reason);
    return MonitorRequest(std::move(f));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_cert) || type == static_cast<uint8_t>(MonitorOp::eh_system_key)) {
    EhCertRequest c;
    std::string_view grant = in.str(32);
    if (in.ok() && grant.size() != 32) in.fail();
    if (in.ok()) std::memcpy(c.grant.data(), grant.data(), 32);
    c.source = in.str(kMaxSourceBytes);
    c.municipality = in.str(6);
    c.public_key = in.str(kMaxPublicKeyLine);
    if (!in.at_end()) return protocol("eh_cert: missing, oversized or extra fields");
    if (!numeric_address(c.source)) return protocol("eh_cert: source is not an address");
    if (type == static_cast<uint8_t>(MonitorOp::eh_system_key)) return MonitorRequest(EhSystemKeyRequest{std::move(c)});
    return MonitorRequest(std::move(c));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_sign_key)) {
    EhSignKeyRequest k;
    std::string_view grant = in.str(32);
    if (in.ok() && grant.size() != 32) in.fail();
    if (in.ok()) std::memcpy(k.grant.data(), grant.data(), 32);
    k.source = in.str(kMaxSourceBytes);
    k.public_key = in.str(kMaxPublicKeyLine);
    if (!in.at_end()) return protocol("eh_sign_key: missing, oversized or extra fields");
    if (!numeric_address(k.source)) return protocol("eh_sign_key: source is not an address");
    return MonitorRequest(std::move(k));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_contact)) {
    EhContactRequest c;
    std::string_view grant = in.str(32);
    if (in.ok() && grant.size() != 32) in.fail();
    if (in.ok()) std::memcpy(c.grant.data(), grant.data(), 32);
    c.source = in.str(kMaxSourceBytes);
    c.name = in.str(kMaxContactField);
    c.email = in.str(kMaxContactField);
    if (!in.at_end()) return protocol("eh_contact: missing, oversized or extra fields");
    if (!numeric_address(c.source)) return protocol("eh_contact: source is not an address");
    return MonitorRequest(std::move(c));
  }
  if (type == static_cast<uint8_t>(MonitorOp::eh_confirm)) {
    EhConfirmRequest t;
    t.source = in.str(kMaxSourceBytes);
    t.token = in.str(kMaxConfirmToken);
    if (!in.at_end()) return protocol("eh_confirm: missing, oversized or extra fields");
    if (!numeric_address(t.source)) return protocol("eh_confirm: source is not an address");
    return MonitorRequest(std::move(t));
  }
  if (type == static_cast<uint8_t>(MonitorOp::status)) {
    if (!in.at_end()) return protocol("status: extra bytes");
    return MonitorRequest(StatusRequest{});
  }
  KP_ENSURE(type == static_cast<uint8_t>(MonitorOp::session_ended) ||
                type == static_cast<uint8_t>(MonitorOp::logout) ||
                type == static_cast<uint8_t>(MonitorOp::verify_done),
            "monitor-protocol", "unknown request type " + std::to_string(type));
  ClaimRequest c;
  c.op = static_cast<MonitorOp>(type);
  std::string_view grant = in.str(32);
  if (in.ok() && grant.size() != 32) in.fail();
  if (in.ok()) std::memcpy(c.grant.data(), grant.data(), 32);
  c.source = in.str(kMaxSourceBytes);
  if (c.op != MonitorOp::logout) c.reason = in.str(64);
  if (!in.at_end()) return protocol("claim: missing, oversized or extra fields");
  if (!numeric_address(c.source)) return protocol("claim: source is not an address");
  if (!allowed_reason(c.op, c.reason)) return protocol("claim: reason not allowed: " + c.reason);
  return MonitorRequest(std::move(c));
}

std::string encode_reply(const MonitorReply& r) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.u8(r.accepted ? 0 : 1);
  if (!r.accepted) {
    w.str(r.reason);
  } else if (!r.person.empty()) {
    w.str(r.person);
    w.str(r.municipality);
    w.u8(r.first_login ? 1 : 0);
    w.raw(r.grant.data(), r.grant.size());
  } else if (!r.url.empty()) {
    w.str(r.url);
  } else if (!r.unwrapped.empty()) {
    w.str(r.unwrapped);
  } else if (!r.certificate.empty()) {
    w.str(r.certificate);
  } else if (!r.contact.empty()) {
    w.str(r.contact);
  } else if (!r.key_id.empty()) {
    w.str(r.key_id);
  } else if (r.host) {
    const HostStatus& h = *r.host;
    w.u8(h.store_ok ? 1 : 0);
    w.u64(h.disk_free_bytes);
    w.u64(h.disk_size_bytes);
    for (int64_t v : {h.serve.workers_expected, h.serve.workers_running, h.serve.worker_restarts,
                      h.serve.worker_restarts_recent, h.serve.connections, h.serve.sessions})
      w.u64(static_cast<uint64_t>(v));
  } else if (r.grant != Grant{}) {
    w.raw(r.grant.data(), r.grant.size());
    w.raw(r.token_hash.data(), r.token_hash.size());
  }
  return std::string(out.begin(), out.end());
}

Result<MonitorReply> parse_reply(std::string_view bytes, MonitorOp op) {
  Reader in(bytes);
  MonitorReply r;
  const uint8_t status = in.u8();
  KP_ENSURE(in.ok() && status <= 1, "monitor-protocol", "bad reply status");
  r.accepted = status == 0;
  if (!r.accepted) {
    r.reason = std::string(in.str(64));
  } else if (op == MonitorOp::eh_login) {
    r.person = std::string(in.str(kMaxAuditorBytes));
    r.municipality = std::string(in.str(16));
    r.first_login = in.u8() == 1;
    std::string_view g = in.raw(32);
    if (in.ok()) std::memcpy(r.grant.data(), g.data(), 32);
  } else if (op == MonitorOp::eh_request) {
    r.url = std::string(in.str(kMaxRequestUrl));
  } else if (op == MonitorOp::eh_unwrap) {
    r.unwrapped = std::string(in.str(32));
  } else if (op == MonitorOp::eh_cert) {
    r.certificate = std::string(in.str(2048));
  } else if (op == MonitorOp::eh_sign_key) {
    r.key_id = std::string(in.str(16));
  } else if (op == MonitorOp::eh_contact || op == MonitorOp::eh_confirm) {
    r.contact = std::string(in.str(kMaxContactField));
  } else if (op == MonitorOp::eh_system_key || op == MonitorOp::eh_system_key_remove) {
    r.key_id = std::string(in.str(64));  // the key's SHA256 fingerprint
  } else if (op == MonitorOp::status) {
    HostStatus h;
    const uint8_t store_ok = in.u8();
    if (in.ok() && store_ok > 1) in.fail();
    h.store_ok = store_ok == 1;
    h.disk_free_bytes = in.u64();
    h.disk_size_bytes = in.u64();
    for (int64_t* v : {&h.serve.workers_expected, &h.serve.workers_running, &h.serve.worker_restarts,
                       &h.serve.worker_restarts_recent, &h.serve.connections, &h.serve.sessions}) {
      const uint64_t n = in.u64();
      // Counts of processes: anything past 2^31 is not a count.
      if (in.ok() && n > (uint64_t(1) << 31)) in.fail();
      *v = static_cast<int64_t>(n);
    }
    r.host = h;
  } else if (op == MonitorOp::login) {
    std::string_view g = in.raw(32);
    std::string_view h = in.raw(32);
    if (in.ok()) {
      std::memcpy(r.grant.data(), g.data(), 32);
      std::memcpy(r.token_hash.data(), h.data(), 32);
    }
  }
  KP_ENSURE(in.at_end(), "monitor-protocol", "malformed reply");
  return r;
}

// ---------------------------------------------------------------- client

Result<std::string> HttpMonitorClient::exchange(std::string_view request) {
  std::lock_guard<std::mutex> lock(mu_);
  for (;;) {
    ssize_t n = ::send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    KP_ENSURE(n == static_cast<ssize_t>(request.size()), "monitor-gone",
              std::string("cannot reach the monitor: ") + std::strerror(errno));
    break;
  }
  std::string reply(kMonitorMaxMessage, '\0');
  for (;;) {
    ssize_t n = ::recv(fd_.get(), reply.data(), reply.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    KP_ENSURE(n > 0, "monitor-gone", "the monitor closed the channel");
    KP_ENSURE(static_cast<std::size_t>(n) <= reply.size(), "monitor-protocol", "reply too long");
    reply.resize(static_cast<std::size_t>(n));
    return reply;
  }
}

Result<MonitorReply> HttpMonitorClient::login(const std::string& source, const std::string& auditor,
                                          const std::string& token) {
  // Longer values are refused by the monitor's checks anyway (an id or a
  // token that long is never valid): cut them to the caps, keep the audit.
  LoginRequest l{source, auditor.substr(0, kMaxAuditorBytes), token.substr(0, kMaxLoginTokenBytes)};
  KP_TRY(std::string raw, exchange(encode_request(l)));
  return parse_reply(raw, MonitorOp::login);
}

Result<MonitorReply> HttpMonitorClient::claim(MonitorOp op, const Grant& grant, const std::string& source,
                                          const std::string& reason) {
  ClaimRequest c{op, grant, source, reason};
  KP_TRY(std::string raw, exchange(encode_request(c)));
  return parse_reply(raw, op);
}

Result<MonitorReply> HttpMonitorClient::eh_request(const std::string& source, const BrowserTag& browser) {
  KP_TRY(std::string raw, exchange(encode_request(EhRequestRequest{source, browser})));
  return parse_reply(raw, MonitorOp::eh_request);
}

Result<MonitorReply> HttpMonitorClient::eh_system_key_remove(const Grant& grant, const std::string& source,
                                                             const std::string& municipality,
                                                             const std::string& fingerprint) {
  EhSystemKeyRemoveRequest k{grant, source, municipality.substr(0, 6), fingerprint.substr(0, 64)};
  KP_TRY(std::string raw, exchange(encode_request(k)));
  return parse_reply(raw, MonitorOp::eh_system_key_remove);
}

Result<MonitorReply> HttpMonitorClient::eh_unwrap(const std::string& source, const std::string& wrapped) {
  KP_TRY(std::string raw, exchange(encode_request(EhUnwrapRequest{source, wrapped.substr(0, keys::kMaxWrappedKey)})));
  return parse_reply(raw, MonitorOp::eh_unwrap);
}

Result<MonitorReply> HttpMonitorClient::eh_login(const std::string& source, const policy::LoginFacts& facts,
                                                 const BrowserTag& browser) {
  KP_TRY(std::string raw, exchange(encode_request(EhLoginRequest{source, facts, browser})));
  return parse_reply(raw, MonitorOp::eh_login);
}

Result<MonitorReply> HttpMonitorClient::eh_refused(const std::string& source, const std::string& reason,
                                                   const std::string& assertion_id) {
  EhRefusedRequest f{source, reason, assertion_id.substr(0, policy::kMaxAssertionIdBytes)};
  KP_TRY(std::string raw, exchange(encode_request(f)));
  return parse_reply(raw, MonitorOp::eh_refused);
}

Result<HostStatus> HttpMonitorClient::status() {
  KP_TRY(std::string raw, exchange(encode_request(StatusRequest{})));
  KP_TRY(MonitorReply r, parse_reply(raw, MonitorOp::status));
  KP_ENSURE(r.accepted && r.host, "monitor-refused", "the monitor refused the status request: " + r.reason);
  return *r.host;
}

Result<MonitorReply> HttpMonitorClient::eh_cert(const Grant& grant, const std::string& source,
                                                const std::string& municipality, const std::string& public_key) {
  EhCertRequest c{grant, source, municipality.substr(0, 6), public_key.substr(0, kMaxPublicKeyLine)};
  KP_TRY(std::string raw, exchange(encode_request(c)));
  return parse_reply(raw, MonitorOp::eh_cert);
}

Result<MonitorReply> HttpMonitorClient::eh_sign_key(const Grant& grant, const std::string& source,
                                                    const std::string& public_key) {
  EhSignKeyRequest k{grant, source, public_key.substr(0, kMaxPublicKeyLine)};
  KP_TRY(std::string raw, exchange(encode_request(k)));
  return parse_reply(raw, MonitorOp::eh_sign_key);
}

Result<MonitorReply> HttpMonitorClient::eh_system_key(const Grant& grant, const std::string& source,
                                                      const std::string& municipality, const std::string& public_key) {
  EhSystemKeyRequest k{{grant, source, municipality.substr(0, 6), public_key.substr(0, kMaxPublicKeyLine)}};
  KP_TRY(std::string raw, exchange(encode_request(k)));
  return parse_reply(raw, MonitorOp::eh_system_key);
}

Result<MonitorReply> HttpMonitorClient::eh_contact(const Grant& grant, const std::string& source,
                                                   const std::string& name, const std::string& email) {
  EhContactRequest c{grant, source, name.substr(0, kMaxContactField), email.substr(0, kMaxContactField)};
  KP_TRY(std::string raw, exchange(encode_request(c)));
  return parse_reply(raw, MonitorOp::eh_contact);
}

Result<MonitorReply> HttpMonitorClient::eh_confirm(const std::string& source, const std::string& token) {
  EhConfirmRequest t{source, token.substr(0, kMaxConfirmToken)};
  KP_TRY(std::string raw, exchange(encode_request(t)));
  return parse_reply(raw, MonitorOp::eh_confirm);
}

// ---------------------------------------------------------------- monitor

HttpMonitor::HttpMonitor(store::Db& db, Settings settings, std::optional<std::array<uint8_t, 64>> user_ca,
                         std::unique_ptr<SamlSp> sp)
    : db_(db),
      settings_(std::move(settings)),
      tally_(db, "web.login", "http", "web logins"),
      eh_(std::make_unique<EhMonitor>(db, settings_, user_ca, std::move(sp))) {}

HttpMonitor::~HttpMonitor() = default;

std::string HttpMonitor::key_of(const Grant& g) const {
  std::array<uint8_t, 32> h{};
  crypto_generichash(h.data(), h.size(), g.data(), g.size(), nullptr, 0);
  return std::string(h.begin(), h.end());
}

MonitorReply HttpMonitor::answer(const MonitorRequest& r, int64_t now_ms) {
  for (auto it = grants_.begin(); it != grants_.end();)
    it = it->second.expires_ms <= now_ms ? grants_.erase(it) : std::next(it);
  if (const auto* l = std::get_if<LoginRequest>(&r)) return login(*l, now_ms);
  if (const auto* e = std::get_if<EhLoginRequest>(&r)) return eh_->login(*e, now_ms);
  if (const auto* q = std::get_if<EhRequestRequest>(&r)) return eh_->request(*q, now_ms);
  if (const auto* u = std::get_if<EhUnwrapRequest>(&r)) return eh_->unwrap(*u);
  if (const auto* k = std::get_if<EhSystemKeyRemoveRequest>(&r)) return eh_->system_key_remove(*k, now_ms);
  if (const auto* f = std::get_if<EhRefusedRequest>(&r)) return answer_eh_refused(db_, *f, now_ms);
  if (const auto* c = std::get_if<EhCertRequest>(&r)) return eh_->certificate(*c, now_ms);
  if (const auto* k = std::get_if<EhSignKeyRequest>(&r)) return eh_->sign_key(*k, now_ms);
  if (const auto* k = std::get_if<EhSystemKeyRequest>(&r)) return eh_->system_key(*k, now_ms);
  if (const auto* c = std::get_if<EhContactRequest>(&r)) return eh_->contact(*c, now_ms);
  if (const auto* t = std::get_if<EhConfirmRequest>(&r)) return eh_->confirm(*t, now_ms);
  if (std::holds_alternative<StatusRequest>(r)) {
    if (!status_) return refusal("status-unavailable");
    MonitorReply ok;
    ok.accepted = true;
    ok.host = status_();
    return ok;
  }
  return claim(std::get<ClaimRequest>(r), now_ms);
}

MonitorReply HttpMonitor::login(const LoginRequest& r, int64_t now_ms) {
  // A banned source is refused before anything else, neither recorded one
  // by one (counted: gateway/refusal_tally.h) nor counted as a failure, so
  // a ban never extends itself.
  std::string block = source_block(r.source).value_or(r.source);
  bool safe = block_listed(settings_.ban_safelist, r.source);
  if (!safe) {
    auto until = store::banned_until(db_, block, now_ms);
    if (!until.ok()) return refusal("store-failed");
    if (*until) {
      tally_.add(r.source, "source-banned");
      return refusal("source-banned");
    }
  }
  store::TokenHash matched{};
  auto refused = login_refusal(db_, r.auditor, r.token, matched);
  if (!refused.ok()) return refusal("store-failed");
  std::optional<std::string> actor =
      policy::valid_account_id(r.auditor) ? std::optional<std::string>(r.auditor) : std::nullopt;
  Status recorded = audit_web(db_, "web.login", *refused ? "refused" : "success", actor, r.source, *refused);
  log::event("web.login", {{"auditor", actor.value_or("")},
                           {"source", r.source},
                           {"outcome", *refused ? "refused" : "success"},
                           {"reason", refused->value_or("")}});
  if (!recorded.ok()) return refusal("store-failed");
  if (*refused) {
    if (!safe) {
      auto banned = store::add_failure(db_, block, **refused, "http", store::penalty_rules(settings_), now_ms);
      if (banned.ok() && *banned)
        log::event("source.banned", {{"source", block}, {"until", log::format_iso8601(**banned)}, {"reason", **refused}});
    }
    return refusal(**refused);
  }
  if (grants_.size() >= kMaxSessions) {  // the oldest goes first, as in web_sessions
    auto oldest = std::min_element(grants_.begin(), grants_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_ms < b.second.expires_ms;
    });
    grants_.erase(oldest);
  }
  MonitorReply ok;
  ok.accepted = true;
  randombytes_buf(ok.grant.data(), ok.grant.size());
  ok.token_hash = matched;
  grants_[key_of(ok.grant)] = GrantEntry{r.auditor, matched, now_ms + kSessionMs};
  return ok;
}

MonitorReply HttpMonitor::claim(const ClaimRequest& r, int64_t) {
  auto it = grants_.find(key_of(r.grant));
  if (it == grants_.end()) {
    log::event("http.monitor_refused", {{"request", std::to_string(static_cast<int>(r.op))},
                                        {"reason", "grant-unknown"}});
    return refusal("grant-unknown");
  }
  const GrantEntry g = it->second;
  std::string event = "web.logout", outcome = "success";
  std::optional<std::string> reason;
  if (r.op == MonitorOp::session_ended) {
    auto stored = store::auditor_token(db_, g.auditor);
    if (!stored.ok()) return refusal("store-failed");
    bool holds = r.reason == "account-disabled" ? !*stored : (*stored && **stored != g.token_hash);
    if (!holds) {
      log::event("http.monitor_refused", {{"request", "session_ended"}, {"reason", "claim-false"}});
      return refusal("claim-false");
    }
    event = "web.session_ended";
    outcome = "refused";
    reason = r.reason;
  } else if (r.op == MonitorOp::verify_done) {
    event = "web.verify";
    outcome = r.reason.empty() ? "success" : "failed";
    if (!r.reason.empty()) reason = r.reason;
  }
  if (!audit_web(db_, event, outcome, g.auditor, r.source, reason).ok()) return refusal("store-failed");
  if (r.op != MonitorOp::verify_done) grants_.erase(key_of(r.grant));
  MonitorReply ok;
  ok.accepted = true;
  return ok;
}

bool run_monitor(int fd, HttpMonitor& monitor, const volatile std::sig_atomic_t* stop) {
  std::string buf(kMonitorMaxMessage + 1, '\0');
  for (;;) {
    if (stop && *stop) return true;
    monitor.flush();
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 1000) <= 0) continue;
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;  // the HTTP process is gone
    if (static_cast<std::size_t>(n) > kMonitorMaxMessage) {
      log::event("http.monitor_violation", {{"error", "request longer than " + std::to_string(kMonitorMaxMessage)}});
      return false;
    }
    auto request = parse_request(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    if (!request.ok()) {
      log::event("http.monitor_violation", {{"error", request.error().message()}});
      return false;
    }
    std::string reply = encode_reply(monitor.answer(*request, log::now_ms()));
    if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(reply.size()))
      return true;
  }
}

}  // namespace kp::gateway
