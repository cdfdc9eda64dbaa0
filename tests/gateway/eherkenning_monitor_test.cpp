// Unit tests for the monitor's eHerkenning requests (http_monitor.h codec,
// eherkenning_monitor.h decisions): facts round-trip, oversized fields and
// reasons off the list are protocol violations, and every decision is
// audited with its reason.
#include "gateway/eherkenning_monitor.h"

#include <doctest/doctest.h>

#include "common/digest.h"
#include "keys/minisign.h"
#include "keys/saml_sp_key.h"
#include "store/audit_events.h"
#include "store/contacts.h"
#include "store/eherkenning.h"
#include "store/registry.h"
#include "tests/support/temp_dir.h"

using namespace kp;
using namespace kp::gateway;

namespace {

policy::LoginFacts facts(const std::string& id, const std::string& level = "loa3") {
  policy::LoginFacts f;
  f.assertion_id = id;
  f.expires_ms = 4'000'000'000'000;
  f.level = "urn:etoegang:core:assurance-class:" + level;
  f.org_kind = "kvk";
  f.org_number = "12345678";
  f.pseudonym = "pseudo";
  return f;
}

const BrowserTag kBrowser = [] {
  BrowserTag t{};
  t.fill(0x42);
  return t;
}();

// A login request answering an AuthnRequest issued (into `pending`) for
// kBrowser just before.
EhLoginRequest bound(SamlRequests& pending, policy::LoginFacts f, int64_t now_ms) {
  f.in_response_to = "_r" + f.assertion_id;
  pending.issue(f.in_response_to, kBrowser, now_ms);
  return EhLoginRequest{"127.0.0.1", f, kBrowser};
}

struct World {
  SamlRequests pending;
  testing::TempDir dir;
  store::Db db = store::Db::open(dir.path() + "/k.db").value();
  Settings settings;
  World() {
    settings.eherkenning_broker_metadata = "broker.xml";
    REQUIRE(store::add_municipality(db, {"GM0001", "A", {}}, 1).ok());
    REQUIRE(store::set_municipality_org(db, "GM0001", std::string("12345678"), std::nullopt).ok());
  }
  std::vector<std::pair<std::string, std::string>> outcomes() {
    std::vector<std::pair<std::string, std::string>> out;
    auto events = store::list_audit(db, std::string("eherkenning.login"));
    REQUIRE(events.ok());
    for (auto& e : *events) out.emplace_back(e.outcome, e.reason.value_or(""));
    return out;
  }
};

}  // namespace

TEST_CASE("eherkenning monitor: requests and replies round-trip; bad ones are violations") {
  auto f = facts("_a1");
  f.intermediary = "87654321";
  auto parsed = parse_request(encode_request(EhLoginRequest{"127.0.0.1", f}));
  REQUIRE(parsed.ok());
  const auto& e = std::get<EhLoginRequest>(*parsed);
  CHECK(e.facts.assertion_id == "_a1");
  CHECK(e.facts.expires_ms == f.expires_ms);
  CHECK(e.facts.intermediary == "87654321");
  CHECK(e.facts.pseudonym == "pseudo");
  auto big = f;
  big.pseudonym = std::string(policy::kMaxPseudonymBytes + 1, 'p');
  CHECK(parse_request(encode_request(EhLoginRequest{"127.0.0.1", big})).error().code == "monitor-protocol");
  CHECK(parse_request(encode_request(EhLoginRequest{"not-an-address", f})).error().code == "monitor-protocol");
  CHECK(parse_request(encode_request(EhRefusedRequest{"127.0.0.1", "eh-expired", ""})).ok());
  CHECK(parse_request(encode_request(EhRefusedRequest{"127.0.0.1", "eh-replayed", ""})).error().code ==
        "monitor-protocol");  // the monitor decides replays, the HTTP process cannot claim them
  MonitorReply r;
  r.accepted = true;
  r.person = "eh-abc";
  r.municipality = "GM0001";
  r.first_login = true;
  auto back = parse_reply(encode_reply(r), MonitorOp::eh_login);
  REQUIRE(back.ok());
  CHECK(back->person == "eh-abc");
  CHECK(back->municipality == "GM0001");
  CHECK(back->first_login);
}

TEST_CASE("eherkenning monitor: decisions, each audited") {
  World w;
  auto ok = answer_eh_login(w.db, w.settings, bound(w.pending, facts("_a1"), 1000), w.pending, 1000);
  CHECK(ok.accepted);
  CHECK(ok.municipality == "GM0001");
  CHECK(ok.first_login);
  CHECK(answer_eh_login(w.db, w.settings, bound(w.pending, facts("_a1"), 1001), w.pending, 1001).reason == "eh-replayed");
  CHECK(answer_eh_login(w.db, w.settings, bound(w.pending, facts("_a2", "loa2"), 1002), w.pending, 1002).reason == "eh-level-too-low");
  auto other = facts("_a3");
  other.org_number = "11112222";
  CHECK(answer_eh_login(w.db, w.settings, bound(w.pending, other, 1003), w.pending, 1003).reason == "eh-organisation-unknown");
  w.settings.eherkenning_min_level = "loa4";
  CHECK(answer_eh_login(w.db, w.settings, bound(w.pending, facts("_a4"), 1004), w.pending, 1004).reason == "eh-level-too-low");
  CHECK(answer_eh_refused(w.db, {"127.0.0.1", "eh-expired", "_a5"}, 1005).accepted);
  w.settings.eherkenning_broker_metadata.clear();
  CHECK(answer_eh_login(w.db, w.settings, bound(w.pending, facts("_a6"), 1006), w.pending, 1006).reason == "eherkenning-off");
  using P = std::pair<std::string, std::string>;
  CHECK(w.outcomes() == std::vector<P>{{"success", ""},
                                       {"refused", "eh-replayed"},
                                       {"refused", "eh-level-too-low"},
                                       {"refused", "eh-organisation-unknown"},
                                       {"refused", "eh-level-too-low"},
                                       {"refused", "eh-expired"},
                                       {"refused", "eherkenning-off"}});
}

TEST_CASE("eherkenning monitor: a signing key round-trips, is registered once logged in, and is checked") {
  Grant g{};
  g[0] = 7;
  auto parsed = parse_request(encode_request(EhSignKeyRequest{g, "127.0.0.1", "RWQ key"}));
  REQUIRE(parsed.ok());
  CHECK(std::get<EhSignKeyRequest>(*parsed).grant == g);
  CHECK(std::get<EhSignKeyRequest>(*parsed).public_key == "RWQ key");
  CHECK(parse_request(encode_request(EhSignKeyRequest{g, "127.0.0.1", std::string(kMaxPublicKeyLine + 1, 'k')}))
            .error().code == "monitor-protocol");
  MonitorReply r;
  r.accepted = true;
  r.key_id = "3AC59A8E13221989";
  auto back = parse_reply(encode_reply(r), MonitorOp::eh_sign_key);
  REQUIRE(back.ok());
  CHECK(back->key_id == "3AC59A8E13221989");

  World w;
  EhMonitor eh(w.db, w.settings, std::nullopt);
  auto key = minisign::generate();
  REQUIRE(key.ok());
  const std::string pub = minisign::format_public_key(key->public_key());
  CHECK(eh.sign_key({g, "127.0.0.1", pub}, 1000).reason == "grant-unknown");
  auto login = eh.login(bound(eh.requests(), facts("_k1"), 1000), 1000);
  REQUIRE(login.accepted);
  CHECK(eh.sign_key({login.grant, "127.0.0.1", "RWQ not a key"}, 1001).reason == "sign-key-malformed");
  auto ok = eh.sign_key({login.grant, "127.0.0.1", "\r\n" + minisign::public_key_base64(key->public_key()) + "\r\n"},
                        1002);
  REQUIRE(ok.accepted);
  CHECK(ok.key_id == minisign::key_id_hex(key->key_id));
  auto account = store::find_account(w.db, login.person);
  REQUIRE((account.ok() && *account && (*account)->sign_key));
  CHECK(*(*account)->sign_key == pub);
  auto events = store::list_audit(w.db, std::string("eherkenning.sign_key"));
  REQUIRE(events.ok());
  REQUIRE(events->size() == 3);
  CHECK((*events)[0].reason.value_or("") == "grant-unknown");
  CHECK((*events)[1].reason.value_or("") == "sign-key-malformed");
  CHECK((*events)[2].object.value_or("") == "minisign key " + ok.key_id);
}

TEST_CASE("eherkenning monitor: a municipal system's key is bound to the live mandate") {
  Grant g{};
  const std::string line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOenKjORcuBovlAJU1D+1n3mo+Pg3TJVE5yXnmJqYCcL x";
  auto parsed = parse_request(encode_request(EhSystemKeyRequest{{g, "127.0.0.1", "GM0001", line}}));
  REQUIRE(parsed.ok());
  REQUIRE(std::holds_alternative<EhSystemKeyRequest>(*parsed));  // not taken for a certificate request
  CHECK(std::get<EhSystemKeyRequest>(*parsed).municipality == "GM0001");
  CHECK(std::holds_alternative<EhCertRequest>(*parse_request(encode_request(EhCertRequest{g, "127.0.0.1", "GM0001", line}))));

  World w;
  REQUIRE(store::add_municipality(w.db, {"GM0002", "B", {}}, 1).ok());
  EhMonitor eh(w.db, w.settings, std::nullopt);
  auto login = eh.login(bound(eh.requests(), facts("_s1"), 1000), 1000);
  REQUIRE(login.accepted);
  CHECK(eh.system_key({{login.grant, "127.0.0.1", "GM0002", line}}, 1001).reason == "mandate-missing");
  CHECK(eh.system_key({{login.grant, "127.0.0.1", "GM0001", "ssh-rsa AAAA x"}}, 1001).reason == "key-type-unsupported");
  auto ok = eh.system_key({{login.grant, "127.0.0.1", "GM0001", line}}, 1002);
  REQUIRE(ok.accepted);
  CHECK(ok.key_id.rfind("SHA256:", 0) == 0);
  CHECK(eh.system_key({{login.grant, "127.0.0.1", "GM0001", line}}, 1003).reason == "already-exists");
  auto mandate = store::latest_mandate(w.db, login.person, "GM0001");
  REQUIRE((mandate.ok() && *mandate));
  auto bound = store::municipal_key_mandate(w.db, login.person, "GM0001",
                                            "AAAAC3NzaC1lZDI1NTE5AAAAIOenKjORcuBovlAJU1D+1n3mo+Pg3TJVE5yXnmJqYCcL");
  REQUIRE(bound.ok());
  CHECK(*bound == std::optional<int64_t>((*mandate)->id));
  CHECK_FALSE(*store::municipal_key_mandate(w.db, login.person, "GM0002",
                                            "AAAAC3NzaC1lZDI1NTE5AAAAIOenKjORcuBovlAJU1D+1n3mo+Pg3TJVE5yXnmJqYCcL"));
}

TEST_CASE("eherkenning monitor: contact details round-trip, are checked, and confirmed by token") {
  Grant g{};
  g[0] = 9;
  auto parsed = parse_request(encode_request(EhContactRequest{g, "127.0.0.1", "Anna", "anna@gemeente.test"}));
  REQUIRE(parsed.ok());
  CHECK(std::get<EhContactRequest>(*parsed).email == "anna@gemeente.test");
  CHECK(parse_request(encode_request(EhContactRequest{g, "127.0.0.1", std::string(kMaxContactField + 1, 'a'), "x"}))
            .error().code == "monitor-protocol");
  CHECK(std::get<EhConfirmRequest>(*parse_request(encode_request(EhConfirmRequest{"::1", "ab"}))).token == "ab");
  CHECK(parse_request(encode_request(EhConfirmRequest{"::1", std::string(kMaxConfirmToken + 1, 'a')}))
            .error().code == "monitor-protocol");
  MonitorReply r;
  r.accepted = true;
  r.contact = "anna@gemeente.test";
  CHECK(parse_reply(encode_reply(r), MonitorOp::eh_confirm)->contact == "anna@gemeente.test");
  CHECK(parse_reply(encode_reply(r), MonitorOp::eh_contact)->contact == "anna@gemeente.test");

  World w;
  EhMonitor eh(w.db, w.settings, std::nullopt);
  CHECK(eh.contact({g, "127.0.0.1", "Anna", "anna@gemeente.test"}, 1000).reason == "grant-unknown");
  auto login = eh.login(bound(eh.requests(), facts("_c1"), 1000), 1000);
  REQUIRE(login.accepted);
  // What the page sends before any check: an overlong name reaches the monitor whole.
  CHECK(eh.contact({login.grant, "127.0.0.1", std::string(200, 'a'), "anna@gemeente.test"}, 1001).reason ==
        "contact-name-too-long");
  CHECK(eh.contact({login.grant, "127.0.0.1", "Anna", "anna.gemeente.test"}, 1001).reason == "email-invalid");
  auto ok = eh.contact({login.grant, "127.0.0.1", " Anna ", "anna@gemeente.test"}, 1002);
  REQUIRE(ok.accepted);
  CHECK(ok.contact == "mailed");
  auto c = store::find_contact(w.db, login.person).value();
  REQUIRE(c);
  CHECK(c->name == "Anna");

  const std::string token(64, 'a');
  std::string raw;
  REQUIRE(from_hex(token, raw));
  auto job = store::claim_confirmation_mail(w.db, 1, 1003, sha256(raw), 5000).value();
  REQUIRE(job);
  CHECK(eh.confirm({"127.0.0.1", "not hex"}, 1004).reason == "contact-token-unknown");
  CHECK(eh.confirm({"127.0.0.1", std::string(64, 'b')}, 1004).reason == "contact-token-unknown");
  auto confirmed = eh.confirm({"127.0.0.1", token}, 1004);
  REQUIRE(confirmed.accepted);
  CHECK(confirmed.contact == "anna@gemeente.test");
  CHECK(eh.confirm({"127.0.0.1", token}, 1005).reason == "contact-token-used");
  auto refused = store::list_audit(w.db, std::string("eherkenning.contact_confirmed"));
  REQUIRE(refused.ok());
  REQUIRE(refused->size() == 4);
  CHECK((*refused)[2].outcome == "success");
  CHECK((*refused)[3].reason.value_or("") == "contact-token-used");
  auto set = store::list_audit(w.db, std::string("eherkenning.contact"));
  REQUIRE(set->size() == 4);
  CHECK((*set)[1].reason.value_or("") == "contact-name-too-long");
}

TEST_CASE("eherkenning monitor: a response must answer a request sent for this browser, once") {
  auto parsed = parse_request(encode_request(EhRequestRequest{"127.0.0.1", kBrowser}));
  REQUIRE(parsed.ok());
  CHECK(std::get<EhRequestRequest>(*parsed).browser == kBrowser);
  auto f = facts("_b0");
  f.in_response_to = "_req1";
  auto login = parse_request(encode_request(EhLoginRequest{"127.0.0.1", f, kBrowser}));
  REQUIRE(login.ok());
  CHECK(std::get<EhLoginRequest>(*login).facts.in_response_to == "_req1");
  CHECK(std::get<EhLoginRequest>(*login).browser == kBrowser);
  f.in_response_to = std::string(policy::kMaxAssertionIdBytes + 1, 'r');
  CHECK(parse_request(encode_request(EhLoginRequest{"127.0.0.1", f, kBrowser})).error().code == "monitor-protocol");
  for (const char* code : {"eh-unsolicited", "eh-request-unknown", "eh-request-used", "eh-request-other-browser"})
    CHECK(parse_request(encode_request(EhRefusedRequest{"127.0.0.1", code, ""})).error().code ==
          "monitor-protocol");  // the monitor decides these, the HTTP process cannot claim them
  MonitorReply r;
  r.accepted = true;
  r.url = "https://broker.test/sso?SAMLRequest=x";
  CHECK(parse_reply(encode_reply(r), MonitorOp::eh_request)->url == r.url);

  World w;
  EhMonitor off(w.db, w.settings, std::nullopt);  // no SP loaded: no request to send
  CHECK(off.request({"127.0.0.1", kBrowser}, 1000).reason == "eherkenning-off");
  auto answer = [&](const std::string& id, const std::string& to, const BrowserTag& browser, int64_t now) {
    auto g = facts(id);
    g.in_response_to = to;
    return answer_eh_login(w.db, w.settings, EhLoginRequest{"127.0.0.1", g, browser}, w.pending, now).reason;
  };
  BrowserTag other{};
  other.fill(0x17);
  w.pending.issue("_q1", kBrowser, 1000);
  CHECK(answer("_b1", "", kBrowser, 1001) == "eh-unsolicited");
  CHECK(answer("_b2", "_never-sent", kBrowser, 1002) == "eh-request-unknown");
  CHECK(answer("_b3", "_q1", other, 1003) == "eh-request-other-browser");
  CHECK(answer("_b4", "_q1", BrowserTag{}, 1004) == "eh-request-other-browser");  // no cookie
  CHECK(answer("_b5", "_q1", kBrowser, 1005).empty());                          // accepted
  CHECK(answer("_b6", "_q1", kBrowser, 1006) == "eh-request-used");
  CHECK(answer("_b5", "_q1", kBrowser, 1007) == "eh-replayed");  // the same assertion again
  w.pending.issue("_q2", kBrowser, 2000);
  CHECK(answer("_b7", "_q2", kBrowser, 2000 + kSamlRequestMs) == "eh-request-unknown");  // expired
  using P = std::pair<std::string, std::string>;
  CHECK(w.outcomes() == std::vector<P>{{"refused", "eh-unsolicited"},
                                       {"refused", "eh-request-unknown"},
                                       {"refused", "eh-request-other-browser"},
                                       {"refused", "eh-request-other-browser"},
                                       {"success", ""},
                                       {"refused", "eh-request-used"},
                                       {"refused", "eh-replayed"},
                                       {"refused", "eh-request-unknown"}});
}

TEST_CASE("eherkenning monitor: pending requests are bounded, the oldest go first") {
  SamlRequests p;
  for (std::size_t i = 0; i <= kMaxSamlRequests; ++i) p.issue("_r" + std::to_string(i), kBrowser, 1000 + int64_t(i));
  CHECK(p.size() == kMaxSamlRequests);
  CHECK(p.answer("_r0", kBrowser, 5000) == "eh-request-unknown");
  CHECK(p.answer("_r1", kBrowser, 5000).empty());
}

TEST_CASE("eherkenning monitor: an unwrap request round-trips; an oversized one is a violation; no SP, no key") {
  auto parsed = parse_request(encode_request(EhUnwrapRequest{"127.0.0.1", std::string(384, 'w')}));
  REQUIRE(parsed.ok());
  CHECK(std::get<EhUnwrapRequest>(*parsed).wrapped == std::string(384, 'w'));
  CHECK(parse_request(encode_request(EhUnwrapRequest{"127.0.0.1", std::string(keys::kMaxWrappedKey + 1, 'w')}))
            .error().code == "monitor-protocol");
  MonitorReply r;
  r.accepted = true;
  r.unwrapped = std::string(32, 'k');
  CHECK(parse_reply(encode_reply(r), MonitorOp::eh_unwrap)->unwrapped == r.unwrapped);
  CHECK(parse_request(encode_request(EhRefusedRequest{"127.0.0.1", "eh-decryption-failed", ""})).ok());
  World w;
  EhMonitor off(w.db, w.settings, std::nullopt);
  CHECK(off.unwrap({"127.0.0.1", std::string(384, 'w')}).reason == "eherkenning-off");
}

TEST_CASE("eherkenning monitor: a municipal system's key is listed and removed by its owner only") {
  Grant g{};
  auto parsed = parse_request(encode_request(EhSystemKeyRemoveRequest{g, "127.0.0.1", "GM0001", "SHA256:x"}));
  REQUIRE(parsed.ok());
  CHECK(std::get<EhSystemKeyRemoveRequest>(*parsed).fingerprint == "SHA256:x");
  CHECK(parse_request(encode_request(EhSystemKeyRemoveRequest{g, "127.0.0.1", "GM0001", std::string(65, 'f')}))
            .error().code == "monitor-protocol");
  MonitorReply r;
  r.accepted = true;
  r.key_id = "SHA256:x";
  CHECK(parse_reply(encode_reply(r), MonitorOp::eh_system_key_remove)->key_id == "SHA256:x");

  World w;
  EhMonitor eh(w.db, w.settings, std::nullopt);
  const std::string line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOenKjORcuBovlAJU1D+1n3mo+Pg3TJVE5yXnmJqYCcL x";
  auto anna = eh.login(bound(eh.requests(), facts("_m1"), 1000), 1000);
  auto f = facts("_m2");
  f.pseudonym = "pseudo-other";
  auto bert = eh.login(bound(eh.requests(), f, 1000), 1000);
  REQUIRE((anna.accepted && bert.accepted));
  auto added = eh.system_key({{anna.grant, "127.0.0.1", "GM0001", line}}, 1001);
  REQUIRE(added.accepted);
  auto listed = store::municipal_keys_of(w.db, anna.person);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].fingerprint == added.key_id);
  CHECK((*listed)[0].municipality == "GM0001");
  CHECK_FALSE((*listed)[0].mandate_revoked);
  CHECK(store::municipal_keys_of(w.db, bert.person)->empty());
  CHECK(eh.system_key_remove({g, "127.0.0.1", "GM0001", added.key_id}, 1002).reason == "grant-unknown");
  CHECK(eh.system_key_remove({bert.grant, "127.0.0.1", "GM0001", added.key_id}, 1002).reason == "system-key-unknown");
  CHECK(eh.system_key_remove({anna.grant, "127.0.0.1", "GM0001", "SHA256:nope"}, 1002).reason == "system-key-unknown");
  CHECK(eh.system_key_remove({anna.grant, "127.0.0.1", "GM01", added.key_id}, 1002).reason ==
        "municipality-code-invalid");
  CHECK(eh.system_key_remove({anna.grant, "127.0.0.1", "GM0001", added.key_id}, 1003).accepted);
  CHECK(store::municipal_keys_of(w.db, anna.person)->empty());
  CHECK_FALSE(*store::municipal_key_mandate(w.db, anna.person, "GM0001",
                                            "AAAAC3NzaC1lZDI1NTE5AAAAIOenKjORcuBovlAJU1D+1n3mo+Pg3TJVE5yXnmJqYCcL"));
  auto events = store::list_audit(w.db, std::string("eherkenning.system_key_removed"));
  REQUIRE(events.ok());
  std::vector<std::string> got;
  for (auto& e : *events) got.push_back(e.outcome + ":" + e.reason.value_or(""));
  CHECK(got == std::vector<std::string>{"refused:grant-unknown", "refused:system-key-unknown",
                                        "refused:system-key-unknown", "refused:municipality-code-invalid",
                                        "success:"});
}
