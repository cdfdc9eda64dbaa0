// Unit tests for workers/notifier.h and workers/smtp.h, against a real SMTP
// server on loopback (tests/support/smtp_sink.py).
#include "workers/notifier.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/log.h"
#include "store/audit_events.h"
#include "tests/support/notify_world.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/spawn.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kPid = 4242;

struct World {
  testing::TempDir dir;
  std::optional<store::Db> db;
  store::OutboxItem item;

  // GM0363 with one contact person (j.jansen, download mandate), and one
  // SIP in the outbox whose notification is due at kNow.
  explicit World(const std::string& item_name = "KP-2026-000001-sip.age",
                 const std::string& email = "j.jansen@example.org") {
    auto opened = store::Db::open(dir.path() + "/k.db");
    REQUIRE(opened.ok());
    db.emplace(std::move(*opened));
    REQUIRE(store::add_municipality(*db, {"GM0363", "Amsterdam", {}}, 1).ok());
    REQUIRE(test::add_person(*db, "j.jansen", email));
    REQUIRE(test::grant(*db, "j.jansen", "GM0363"));
    item = test::publish(*db, "GM0363", item_name, "sip", kNow);
    REQUIRE(item.id > 0);
  }

  store::Notification row() { return store::notifications_of_item(*db, item.id)->at(0); }
  std::vector<store::AuditEvent> audit(const std::string& event) {
    return *store::list_audit(*db, event);
  }
};

workers::NotifyConfig config(int port, bool starttls = false) {
  workers::NotifyConfig c;
  c.server.host = "127.0.0.1";
  c.server.port = port;
  c.server.starttls = starttls;
  c.server.timeout_seconds = 5;
  c.sender = "knooppunt@hub.example";
  c.max_attempts = 4;
  c.retry_ms = 30000;
  c.retry_max_ms = 100000;
  return c;
}

// A port nobody listens on (bound once, then closed).
int closed_port(const std::string& dir) {
  test::SmtpSink sink(dir + "/probe");
  REQUIRE(sink.started());
  return sink.port();
}

// A self-signed certificate DIR/PREFIXcert.pem (key PREFIXkey.pem) for `name`.
void make_cert(const std::string& dir, const std::string& prefix = "",
               const std::string& name = "localhost") {
  auto r = test::spawn(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", dir + "/" + prefix + "key.pem", "-out", dir + "/" + prefix + "cert.pem", "-days",
       "2", "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name});
  REQUIRE(r.started);
  REQUIRE(r.exit_code == 0);
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("notifier: backoff doubles from the first wait up to the cap") {
  auto c = config(25);
  CHECK(workers::retry_delay_ms(c, 1) == 30000);
  CHECK(workers::retry_delay_ms(c, 2) == 60000);
  CHECK(workers::retry_delay_ms(c, 3) == 100000);
  CHECK(workers::retry_delay_ms(c, 60) == 100000);
}

TEST_CASE(
    "notifier: a due notification is mailed, names the item, holds no content or personal data") {
  World w;
  test::SmtpSink sink(w.dir.path() + "/mail");
  REQUIRE(sink.started());
  CHECK(*workers::send_due_notifications(*w.db, config(sink.port()), kPid, kNow) == 1);
  auto mails = sink.messages();
  REQUIRE(mails.size() == 1);
  const std::string& m = mails[0];
  CHECK(contains(m, "X-Sink-Mail-From: knooppunt@hub.example"));
  CHECK(contains(m, "X-Sink-Rcpt-To: j.jansen@example.org"));
  CHECK(contains(m, "X-Sink-TLS: no"));
  CHECK(contains(m, "Subject: [knooppunt] Nieuw in uw outbox / New in your outbox: GM0363"));
  CHECK(contains(m, "Auto-Submitted: auto-generated"));
  CHECK(contains(m, "KP-2026-000001-sip.age"));
  CHECK(contains(m, "Amsterdam"));
  CHECK(contains(m, "Samengesteld Informatie Product"));
  CHECK(contains(m, "compiled information product"));
  CHECK(w.row().state == "sent");
  CHECK(w.row().attempts == 1);
  auto attempts = w.audit("notify.attempt");
  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].outcome == "success");
  CHECK(attempts[0].actor == "notifier");
  CHECK(attempts[0].role == "system");
  CHECK(attempts[0].municipality == "GM0363");
  CHECK(attempts[0].object ==
        "outbox/" + std::to_string(w.item.id) + " KP-2026-000001-sip.age to j.jansen");
  auto all = store::list_audit(*w.db, std::nullopt);
  for (const auto& e : *all)  // the address is never logged
    CHECK_FALSE(contains(e.object.value_or("") + e.reason.value_or(""), "@example.org"));
  // Nothing more is due; a second pass mails nothing.
  CHECK(*workers::send_due_notifications(*w.db, config(sink.port()), kPid, kNow + 1000000) == 0);
  CHECK(sink.messages().size() == 1);
}

TEST_CASE("notifier: the mail never carries the item's content") {
  World w;
  store::OutboxItem notice;
  notice.municipality = "GM0363";
  notice.name = "KP-2026-000001-notice.json";
  notice.kind = "notice";
  notice.body = R"({"reason":"SECRET-DECLINE-REASON","case":"KP-2026-000001"})";
  notice.signature = "SECRET-SIGNATURE";
  notice.created_ms = kNow;
  {
    auto tx = store::Transaction::begin(*w.db);
    REQUIRE(tx.ok());
    notice.id = *store::insert_outbox_item(*w.db, notice);
    REQUIRE(*store::enqueue_notifications(*w.db, notice, kNow) == 1);
    REQUIRE(tx->commit().ok());
  }
  REQUIRE(store::mark_outbox_placed(*w.db, notice.id, kNow).ok());
  test::SmtpSink sink(w.dir.path() + "/mail");
  REQUIRE(sink.started());
  CHECK(*workers::send_due_notifications(*w.db, config(sink.port()), kPid, kNow) == 2);
  auto mails = sink.messages();
  REQUIRE(mails.size() == 2);
  CHECK(contains(mails[1], "KP-2026-000001-notice.json"));
  CHECK(contains(mails[1], "notice from the hub"));
  for (const auto& m : mails) {
    CHECK_FALSE(contains(m, "SECRET"));
    CHECK_FALSE(contains(m, "j.jansen\n"));  // the account id is not in the body either
  }
}

TEST_CASE(
    "notifier: a mail server that is down delays the mail; attempts are audited and retried") {
  World w;
  const int port = closed_port(w.dir.path());
  auto c = config(port);
  CHECK(*workers::send_due_notifications(*w.db, c, kPid, kNow) == 1);
  CHECK(w.row().state == "pending");
  CHECK(w.row().last_error == "smtp-connect-failed");
  CHECK(w.row().next_attempt_ms == kNow + 30000);
  CHECK(*workers::send_due_notifications(*w.db, c, kPid, kNow + 29999) == 0);  // not due yet

  // Up again, but busy once (451): the second attempt fails, the third goes through.
  test::SmtpSink sink(w.dir.path() + "/mail",
                      {"--port", std::to_string(port), "--fail-first", "1"});
  REQUIRE(sink.started());
  CHECK(*workers::send_due_notifications(*w.db, c, kPid, kNow + 30000) == 1);
  CHECK(w.row().state == "pending");
  CHECK(w.row().last_error == "smtp-temporary-failure");
  CHECK(w.row().next_attempt_ms == kNow + 30000 + 60000);
  CHECK(sink.messages().empty());
  CHECK(*workers::send_due_notifications(*w.db, c, kPid, kNow + 90000) == 1);
  CHECK(w.row().state == "sent");
  CHECK(w.row().attempts == 3);
  CHECK(sink.messages().size() == 1);
  auto attempts = w.audit("notify.attempt");
  REQUIRE(attempts.size() == 3);
  CHECK(attempts[0].outcome == "failed");
  CHECK(attempts[0].reason == "smtp-connect-failed");
  CHECK(attempts[1].outcome == "failed");
  CHECK(attempts[1].reason == "smtp-temporary-failure");
  CHECK(attempts[2].outcome == "success");
  CHECK(w.audit("notify.gave_up").empty());
}

TEST_CASE("notifier: gives up after the last attempt") {
  World w;
  auto c = config(closed_port(w.dir.path()));
  int64_t now = kNow;
  for (int i = 0; i < 4; ++i) {
    CHECK(*workers::send_due_notifications(*w.db, c, kPid, now) == 1);
    now += 1000000;
  }
  CHECK(w.row().state == "failed");
  CHECK(w.row().attempts == 4);
  CHECK(w.row().last_error == "smtp-connect-failed");
  CHECK(w.audit("notify.attempt").size() == 4);
  auto gave_up = w.audit("notify.gave_up");
  REQUIRE(gave_up.size() == 1);
  CHECK(gave_up[0].reason == "smtp-connect-failed");
  CHECK(*workers::send_due_notifications(*w.db, c, kPid, now) == 0);
}

TEST_CASE("notifier: a permanent refusal (5xx) is given up at once") {
  World w;
  test::SmtpSink sink(w.dir.path() + "/mail", {"--reject-rcpt", "j.jansen@example.org"});
  REQUIRE(sink.started());
  CHECK(*workers::send_due_notifications(*w.db, config(sink.port()), kPid, kNow) == 1);
  CHECK(w.row().state == "failed");
  CHECK(w.row().attempts == 1);
  CHECK(w.row().last_error == "smtp-rejected");
  CHECK(w.audit("notify.gave_up").size() == 1);
  CHECK(sink.messages().empty());
}

TEST_CASE("notifier: CR or LF in a value from the store is refused, nothing is sent") {
  SUBCASE("in the file name") {
    World w("evil.sip\r\nBcc: everyone@example.org");
    test::SmtpSink sink(w.dir.path() + "/mail");
    REQUIRE(sink.started());
    CHECK(*workers::send_due_notifications(*w.db, config(sink.port()), kPid, kNow) == 1);
    CHECK(w.row().state == "failed");
    CHECK(w.row().last_error == "notify-unsafe-value");
    CHECK(w.audit("notify.gave_up").size() == 1);
    CHECK(sink.messages().empty());
  }
  SUBCASE("in the address") {
    World w("ok.sip", "j@example.org\r\nBcc: everyone@example.org");
    test::SmtpSink sink(w.dir.path() + "/mail");
    REQUIRE(sink.started());
    CHECK(*workers::send_due_notifications(*w.db, config(sink.port()), kPid, kNow) == 1);
    CHECK(w.row().state == "failed");
    CHECK(w.row().last_error == "notify-unsafe-value");
    CHECK(sink.messages().empty());
    CHECK(sink.envelopes().empty());
  }
  SUBCASE("in the sender, checked by send_mail itself") {
    workers::Mail m{"a@b.example\nBcc: x@y.example", "c@d.example", "s", "b"};
    CHECK(workers::send_mail(config(1).server, m).error().code == "notify-unsafe-value");
    m = {"a@b.example", "c@d.example", "s\r", "b"};
    CHECK(workers::send_mail(config(1).server, m).error().code == "notify-unsafe-value");
  }
}

TEST_CASE("notifier: STARTTLS required is never plaintext") {
  World w;
  make_cert(w.dir.path());
  const std::string cert = w.dir.path() + "/cert.pem", key = w.dir.path() + "/key.pem";
  SUBCASE("a server without STARTTLS gets no MAIL command") {
    test::SmtpSink sink(w.dir.path() + "/mail");
    REQUIRE(sink.started());
    auto c = config(sink.port(), true);
    c.server.ca_file = cert;
    CHECK(*workers::send_due_notifications(*w.db, c, kPid, kNow) == 1);
    CHECK(w.row().state == "pending");
    CHECK(w.row().last_error == "smtp-starttls-unavailable");
    CHECK(sink.envelopes().empty());
    CHECK(sink.messages().empty());
  }
  SUBCASE("with the CA file the certificate verifies and the mail goes over TLS") {
    test::SmtpSink sink(w.dir.path() + "/mail", {"--starttls", cert, key});
    REQUIRE(sink.started());
    auto c = config(sink.port(), true);
    c.server.host = "localhost";
    c.server.ca_file = cert;
    CHECK(*workers::send_due_notifications(*w.db, c, kPid, kNow) == 1);
    CHECK(w.row().state == "sent");
    auto mails = sink.messages();
    REQUIRE(mails.size() == 1);
    CHECK(contains(mails[0], "X-Sink-TLS: yes"));
    CHECK(sink.envelopes() == "MAIL tls=yes\n");
  }
  SUBCASE("an untrusted certificate fails the handshake, nothing is sent") {
    test::SmtpSink sink(w.dir.path() + "/mail", {"--starttls", cert, key});
    REQUIRE(sink.started());
    auto c = config(sink.port(), true);
    c.server.host = "localhost";
    c.server.ca_file = "";  // the system CAs do not know our self-signed one
    CHECK(*workers::send_due_notifications(*w.db, c, kPid, kNow) == 1);
    CHECK(w.row().last_error == "smtp-tls-failed");
    CHECK(sink.envelopes().empty());
  }
  SUBCASE("a trusted certificate for another name fails, nothing is sent") {
    make_cert(w.dir.path(), "other-", "other.example");
    const std::string other = w.dir.path() + "/other-cert.pem";
    test::SmtpSink sink(w.dir.path() + "/mail",
                        {"--starttls", other, w.dir.path() + "/other-key.pem"});
    REQUIRE(sink.started());
    auto c = config(sink.port(), true);
    c.server.host = "localhost";
    c.server.ca_file = other;
    auto sent = workers::send_due_notifications(*w.db, c, kPid, kNow);
    CHECK(*sent == 1);
    CHECK(w.row().state == "pending");
    CHECK(w.row().last_error == "smtp-tls-failed");
    CHECK(sink.envelopes().empty());
  }
}

TEST_CASE("notifier: a notification no longer needed is cancelled, not sent") {
  World w;
  test::SmtpSink sink(w.dir.path() + "/mail");
  REQUIRE(sink.started());
  SUBCASE("the mandate was revoked after queuing") {
    REQUIRE(store::revoke_mandate(*w.db, "j.jansen", "GM0363", kNow - 1).ok());
    CHECK(*workers::send_due_notifications(*w.db, config(sink.port()), kPid, kNow) == 1);
    CHECK(w.row().state == "cancelled");
    CHECK(w.row().last_error == "recipient-not-mandated");
  }
  SUBCASE("the municipality already picked the item up") {
    REQUIRE(store::record_acknowledgement(*w.db, "GM0363", w.item.name, "archived", kNow).ok());
    CHECK(*workers::send_due_notifications(*w.db, config(sink.port()), kPid, kNow) == 1);
    CHECK(w.row().state == "cancelled");
    CHECK(w.row().last_error == "item-acknowledged");
  }
  CHECK(sink.messages().empty());
  auto cancelled = w.audit("notify.cancelled");
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0].outcome == "refused");
}

TEST_CASE("notifier: the worker's sender thread mails what is due, and is off without smtp_host") {
  testing::TempDir data_dir;
  DataDir data{data_dir.path()};
  test::SmtpSink sink(data_dir.path() + "/mail");
  REQUIRE(sink.started());
  {
    auto db = store::Db::open(data.db());
    REQUIRE(db.ok());
    REQUIRE(store::add_municipality(*db, {"GM0363", "Amsterdam", {}}, 1).ok());
    REQUIRE(test::add_person(*db, "j.jansen", "j.jansen@example.org"));
    REQUIRE(test::grant(*db, "j.jansen", "GM0363"));
    REQUIRE(test::publish(*db, "GM0363", "a.sip", "sip", log::now_ms()).id > 0);
  }
  auto alive = [](int64_t) { return true; };
  {
    std::ofstream(data.settings()) << "smtp_host =\n";
    workers::Notifier off(data, alive, 20);
    CHECK_FALSE(off.running());
  }
  std::ofstream(data.settings()) << "smtp_host = 127.0.0.1\nsmtp_port = " << sink.port()
                                 << "\nsmtp_starttls = no\n";
  {
    workers::Notifier on(data, alive, 20);
    CHECK(on.running());
    for (int i = 0; i < 250 && sink.messages().empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }  // stops and joins
  CHECK(sink.messages().size() == 1);
}
