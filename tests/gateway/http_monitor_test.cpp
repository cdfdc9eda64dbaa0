// Unit tests for gateway/http_monitor.h: the codec refuses every malformed,
// oversized, unknown or disallowed request; the monitor decides logins
// itself and writes no record about an auditor it gave no grant, nor a
// session-ended claim the store contradicts.
#include "gateway/http_monitor.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/bytes.h"
#include "gateway/web_sessions.h"
#include "gateway/web_token.h"
#include "store/audit_events.h"
#include "store/penalties.h"
#include "store/registry.h"
#include "tests/support/temp_dir.h"

using namespace kp;
using namespace kp::gateway;

namespace {

const std::string kToken(64, 'a');

std::string field(std::string_view s) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.str(s);
  return std::string(out.begin(), out.end());
}

std::string grant_field(const Grant& g) {
  return field(std::string_view(reinterpret_cast<const char*>(g.data()), g.size()));
}

struct World {
  testing::TempDir dir;
  store::Db db = store::Db::open(dir.path() + "/k.db").value();
  Settings settings;
  World() {
    store::SshKeyRecord k1{"ssh-ed25519", "A", "SHA256:A"}, k2{"ssh-ed25519", "B", "SHA256:B"};
    REQUIRE(store::add_account(db, {"a.audit", "auditor", {}, {}, {}}, k1, 1).ok());
    REQUIRE(store::add_account(db, {"j.jansen", "person", {}, {}, {}}, k2, 1).ok());
    REQUIRE(store::set_auditor_token(db, "a.audit", hash_token(kToken), 1).ok());
  }
  std::vector<store::AuditEvent> web_events() {
    std::vector<store::AuditEvent> out;
    auto all = store::list_audit(db, std::nullopt);
    REQUIRE(all.ok());
    for (auto& e : *all)
      if (e.event.rfind("web.", 0) == 0) out.push_back(e);
    return out;
  }
};

}  // namespace

TEST_CASE("http monitor: requests round-trip through the codec") {
  LoginRequest l{"127.0.0.1", "a.audit", kToken};
  auto parsed = parse_request(encode_request(l));
  REQUIRE(parsed.ok());
  CHECK(std::get<LoginRequest>(*parsed).token == kToken);
  Grant g{};
  g[3] = 7;
  for (auto [op, reason] : {std::pair{MonitorOp::logout, ""}, std::pair{MonitorOp::verify_done, ""},
                            std::pair{MonitorOp::verify_done, "audit-record-altered"},
                            std::pair{MonitorOp::session_ended, "token-replaced"}}) {
    auto c = parse_request(encode_request(ClaimRequest{op, g, "::1", reason}));
    REQUIRE(c.ok());
    CHECK(std::get<ClaimRequest>(*c).grant == g);
    CHECK(std::get<ClaimRequest>(*c).reason == reason);
  }
  MonitorReply r;
  r.accepted = true;
  r.grant = g;
  r.token_hash[0] = 9;
  auto back = parse_reply(encode_reply(r), MonitorOp::login);
  REQUIRE(back.ok());
  CHECK(back->grant == g);
  CHECK(back->token_hash == r.token_hash);
  CHECK(parse_reply(encode_reply(MonitorReply{false, "grant-unknown", {}, {}}), MonitorOp::logout)->reason ==
        "grant-unknown");
}

TEST_CASE("http monitor: malformed, oversized, unknown and disallowed requests are violations") {
  Grant g{};
  const std::string login = std::string(1, '\x01') + field("127.0.0.1") + field("a.audit") + field(kToken);
  CHECK(parse_request(login).ok());
  std::vector<std::string> bad = {
      "",                                                   // empty
      std::string(1, '\x7f'),                               // unknown type
      std::string(1, '\x00'),                               // unknown type 0
      login.substr(0, login.size() - 1),                    // truncated
      login + "x",                                          // trailing byte
      std::string(1, '\x01') + field("127.0.0.1") + field("a.audit"),  // a field missing
      std::string(1, '\x01') + field("not-an-address") + field("a.audit") + field(kToken),
      std::string(1, '\x01') + field(std::string(65, '1')) + field("a.audit") + field(kToken),
      std::string(1, '\x01') + field("127.0.0.1") + field(std::string(257, 'a')) + field(kToken),
      std::string(1, '\x01') + field("127.0.0.1") + field("a.audit") + field(std::string(1025, 'a')),
      std::string(1, '\x03') + field("short") + field("127.0.0.1"),                        // grant not 32 bytes
      std::string(1, '\x03') + grant_field(g) + field("127.0.0.1") + field(""),             // logout has no reason
      std::string(1, '\x02') + grant_field(g) + field("127.0.0.1") + field("because"),      // reason not allowed
      std::string(1, '\x04') + grant_field(g) + field("127.0.0.1") + field("web-login-ok"),  // not a verify code
      std::string(1, '\x04') + grant_field(g) + field("127.0.0.1"),                         // result missing
      std::string(kMonitorMaxMessage + 1, '\x01'),                                          // too long
  };
  for (const auto& b : bad) CHECK(parse_request(b).error().code == "monitor-protocol");
  CHECK(verify_result_code("audit-tree-damaged") == "audit-tree-damaged");
  CHECK(verify_result_code("something-else") == "audit-verify-failed");
  CHECK(parse_reply("\x02", MonitorOp::logout).error().code == "monitor-protocol");
  CHECK(parse_reply("", MonitorOp::logout).error().code == "monitor-protocol");
  CHECK(parse_reply(std::string(1, '\0') + "extra", MonitorOp::logout).error().code == "monitor-protocol");
}

TEST_CASE("http monitor: the monitor decides logins and records them") {
  World w;
  HttpMonitor m(w.db, w.settings);
  auto refused = m.answer(LoginRequest{"127.0.0.1", "a.audit", std::string(64, 'b')}, 1000);
  CHECK_FALSE(refused.accepted);
  CHECK(refused.reason == "token-wrong");
  CHECK(m.answer(LoginRequest{"127.0.0.1", "j.jansen", kToken}, 1000).reason == "not-auditor");
  CHECK(m.answer(LoginRequest{"127.0.0.1", "../x", kToken}, 1000).reason == "id-invalid");
  auto ok = m.answer(LoginRequest{"127.0.0.1", "a.audit", kToken}, 1000);
  REQUIRE(ok.accepted);
  CHECK(ok.token_hash == hash_token(kToken));
  auto events = w.web_events();
  REQUIRE(events.size() == 4);
  CHECK(events[0].outcome == "refused");
  CHECK(events[0].reason == "token-wrong");
  CHECK(events[2].actor == std::nullopt);  // an invalid id is not an actor
  CHECK(events[3].outcome == "success");
  CHECK(events[3].actor == "a.audit");

  // Claims need the grant; a forged one writes nothing.
  Grant forged{};
  forged[0] = 1;
  CHECK(m.answer(ClaimRequest{MonitorOp::verify_done, forged, "127.0.0.1", ""}, 2000).reason == "grant-unknown");
  CHECK(m.answer(ClaimRequest{MonitorOp::logout, forged, "127.0.0.1", ""}, 2000).reason == "grant-unknown");
  CHECK(w.web_events().size() == 4);
  // The token was not replaced: a session-ended claim is false.
  CHECK(m.answer(ClaimRequest{MonitorOp::session_ended, ok.grant, "127.0.0.1", "token-replaced"}, 2000).reason ==
        "claim-false");
  CHECK(m.answer(ClaimRequest{MonitorOp::session_ended, ok.grant, "127.0.0.1", "account-disabled"}, 2000).reason ==
        "claim-false");
  CHECK(m.answer(ClaimRequest{MonitorOp::verify_done, ok.grant, "127.0.0.1", "audit-record-altered"}, 2000).accepted);
  CHECK(m.answer(ClaimRequest{MonitorOp::logout, ok.grant, "127.0.0.1", ""}, 3000).accepted);
  events = w.web_events();
  REQUIRE(events.size() == 6);
  CHECK(events[4].event == "web.verify");
  CHECK(events[4].outcome == "failed");
  CHECK(events[4].reason == "audit-record-altered");
  CHECK(events[5].event == "web.logout");
  // Logged out: the grant is gone.
  CHECK(m.answer(ClaimRequest{MonitorOp::verify_done, ok.grant, "127.0.0.1", ""}, 4000).reason == "grant-unknown");
}

TEST_CASE("http monitor: session ended only when the store agrees; grants expire") {
  World w;
  HttpMonitor m(w.db, w.settings);
  auto ok = m.answer(LoginRequest{"127.0.0.1", "a.audit", kToken}, 1000);
  REQUIRE(ok.accepted);
  REQUIRE(store::set_auditor_token(w.db, "a.audit", hash_token(std::string(64, 'c')), 2).ok());
  CHECK(m.answer(ClaimRequest{MonitorOp::session_ended, ok.grant, "127.0.0.1", "account-disabled"}, 2000).reason ==
        "claim-false");
  CHECK(m.answer(ClaimRequest{MonitorOp::session_ended, ok.grant, "127.0.0.1", "token-replaced"}, 2000).accepted);
  auto events = w.web_events();
  REQUIRE(events.size() == 2);
  CHECK(events[1].event == "web.session_ended");
  CHECK(events[1].reason == "token-replaced");
  auto again = m.answer(LoginRequest{"127.0.0.1", "a.audit", std::string(64, 'c')}, 3000);
  REQUIRE(again.accepted);
  CHECK(m.answer(ClaimRequest{MonitorOp::logout, again.grant, "127.0.0.1", ""}, 3000 + kSessionMs).reason ==
        "grant-unknown");
}

TEST_CASE("http monitor: over a socketpair, a violation ends the channel") {
  World w;
  HttpMonitor m(w.db, w.settings);
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
  HttpMonitorClient client{Fd(pair[0])};
  bool clean = true;
  std::thread monitor([&] {
    clean = run_monitor(pair[1], m);
    ::close(pair[1]);
  });
  auto login = client.login("127.0.0.1", "a.audit", kToken);
  REQUIRE(login.ok());
  CHECK(login->accepted);
  auto logout = client.claim(MonitorOp::logout, login->grant, "127.0.0.1");
  REQUIRE(logout.ok());
  CHECK(logout->accepted);
  CHECK(client.exchange(std::string(1, '\x7f')).error().code == "monitor-gone");
  monitor.join();
  CHECK_FALSE(clean);
  CHECK(client.login("127.0.0.1", "a.audit", kToken).error().code == "monitor-gone");
}

TEST_CASE("http monitor: refused logins ban the source; a banned source is counted, never extended") {
  World w;
  w.settings.ban_after_failures = 2;
  HttpMonitor m(w.db, w.settings);
  CHECK(m.answer(LoginRequest{"127.0.0.9", "a.audit", std::string(64, 'b')}, 1000).reason == "token-wrong");
  CHECK(m.answer(LoginRequest{"127.0.0.9", "a.audit", std::string(64, 'b')}, 1000).reason == "token-wrong");
  auto until = store::banned_until(w.db, "127.0.0.9", 2000);
  REQUIRE(until.ok());
  REQUIRE(*until);
  for (int i = 0; i < 5; ++i)  // the right token too
    CHECK(m.answer(LoginRequest{"127.0.0.9", "a.audit", i ? std::string(64, 'b') : kToken}, 2000).reason ==
          "source-banned");
  CHECK(*store::banned_until(w.db, "127.0.0.9", 2000) == *until);
  auto events = w.web_events();
  REQUIRE(events.size() == 3);  // two refusals, then the first banned login of the minute
  CHECK(events[2].reason == "source-banned");
  m.flush(true);
  events = w.web_events();
  REQUIRE(events.size() == 4);
  CHECK(events[3].size == 4);
  // Another source is not banned.
  CHECK(m.answer(LoginRequest{"127.0.0.1", "a.audit", kToken}, 2000).accepted);
}
