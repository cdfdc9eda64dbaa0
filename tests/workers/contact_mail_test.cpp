// Unit tests for workers/contact_mail.h against a real SMTP server on
// loopback (tests/support/smtp_sink.py): the confirmation mail carries a
// link whose token confirms the contact, the store keeps only its hash, and
// the audit records never name the address.
#include "workers/contact_mail.h"

#include <doctest/doctest.h>

#include <cctype>

#include "common/digest.h"
#include "store/audit_events.h"
#include "tests/support/notify_world.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kPid = 4243;

struct World {
  testing::TempDir dir;
  store::Db db = store::Db::open(dir.path() + "/k.db").value();
  World() {
    REQUIRE(store::add_municipality(db, {"GM0363", "Amsterdam", {}}, 1).ok());
    REQUIRE(test::add_person(db, "eh-1", std::nullopt));
    REQUIRE(
        store::set_contact(db, {"eh-1", "Anna de Vries", "anna@gemeente.test", "127.0.0.1", kNow})
            .ok());
  }
  std::string state() {
    auto st =
        db.prepare(
              "SELECT mail_state || ' ' || coalesce(last_error, '') FROM contact_confirmations")
            .value();
    REQUIRE(st.step().value());
    return st.col_text(0);
  }
};

workers::NotifyConfig config(int port, const std::string& base = "https://hub.example/") {
  workers::NotifyConfig c;
  c.server.host = "127.0.0.1";
  c.server.port = port;
  c.server.starttls = false;
  c.server.timeout_seconds = 5;
  c.sender = "knooppunt@hub.example";
  c.confirm_base_url = base;
  c.confirm_validity_ms = 3600 * 1000;
  return c;
}

bool always(int64_t) {
  return true;
}

// The body as a mail reader shows it: quoted-printable soft breaks joined,
// "=3D" back to "=" (all the link needs).
std::string unquote(std::string m) {
  for (const char* soft : {"=\r\n", "=\n"})
    for (auto at = m.find(soft); at != std::string::npos; at = m.find(soft))
      m.erase(at, std::string(soft).size());
  for (auto at = m.find("=3D"); at != std::string::npos; at = m.find("=3D")) m.replace(at, 3, "=");
  return m;
}

}  // namespace

TEST_CASE("contact mail: the link's token confirms the address; only its hash is stored") {
  World w;
  test::SmtpSink sink(w.dir.path() + "/mail");
  REQUIRE(sink.started());
  CHECK(*workers::send_due_confirmations(w.db, config(sink.port()), kPid, kNow, always) == 1);
  auto mails = sink.messages();
  REQUIRE(mails.size() == 1);
  const std::string m = unquote(mails[0]);
  CHECK(m.find("X-Sink-Rcpt-To: anna@gemeente.test") != std::string::npos);
  CHECK(m.find("Subject: [knooppunt] Bevestig uw e-mailadres / Confirm your e-mail address") !=
        std::string::npos);
  CHECK(m.find("Dear Anna de Vries") != std::string::npos);
  const std::string prefix = "https://hub.example/eherkenning/confirm?token=";
  auto at = m.find(prefix);
  REQUIRE(at != std::string::npos);
  const std::string token = m.substr(at + prefix.size(), 64);
  std::string raw;
  REQUIRE(from_hex(token, raw));
  CHECK(w.state() == "sent ");
  // The store has the hash, never the token.
  auto st = w.db.prepare("SELECT hex(token_hash), expires_ms FROM contact_confirmations").value();
  REQUIRE(st.step().value());
  std::string upper = to_hex(sha256(raw));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(st.col_text(0) == upper);
  CHECK(st.col_int(1) == kNow + 3600 * 1000);
  CHECK(store::confirm_contact(w.db, sha256(raw), "127.0.0.1", kNow + 1).ok());
  auto attempts = store::list_audit(w.db, std::string("notify.attempt")).value();
  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].object.value_or("") == "contact-confirmation/1 to eh-1");
  auto all = store::list_audit(w.db, std::nullopt).value();
  for (const auto& e : all) CHECK(e.object.value_or("").find('@') == std::string::npos);
  CHECK(*workers::send_due_confirmations(w.db, config(sink.port()), kPid, kNow + 10, always) == 0);
}

TEST_CASE("contact mail: no base URL or a 5xx refusal gives up at once") {
  World w;
  test::SmtpSink sink(w.dir.path() + "/mail", {"--reject-rcpt", "anna@gemeente.test"});
  REQUIRE(sink.started());
  SUBCASE("no base URL: nothing is sent") {
    CHECK(*workers::send_due_confirmations(w.db, config(sink.port(), ""), kPid, kNow, always) == 1);
    CHECK(w.state() == "failed confirm-base-url-missing");
  }
  SUBCASE("rejected recipient") {
    CHECK(*workers::send_due_confirmations(w.db, config(sink.port()), kPid, kNow, always) == 1);
    CHECK(w.state() == "failed smtp-rejected");
    auto c = store::find_contact(w.db, "eh-1").value();  // what the page shows
    CHECK(c->mail_state == "failed");
    CHECK(c->mail_error == std::optional<std::string>("smtp-rejected"));
  }
  CHECK(store::list_audit(w.db, std::string("notify.gave_up")).value().size() == 1);
  CHECK(sink.messages().empty());
}
