// Unit tests for store/contacts.h on a real SQLite file: setting a contact
// queues a confirmation mail and clears the notified address; confirming
// refuses unknown, used, superseded and expired tokens, each by its code;
// notifications reach a person only once the address is confirmed.
#include "store/contacts.h"

#include <doctest/doctest.h>

#include "store/notifications.h"
#include "tests/support/notify_world.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;

Sha256Digest hash_of(char c) {
  return sha256(std::string(32, c));
}

struct World {
  testing::TempDir dir;
  store::Db db = store::Db::open(dir.path() + "/k.db").value();
  World() {
    REQUIRE(store::add_municipality(db, {"GM0363", "Amsterdam", {}}, 1).ok());
    REQUIRE(test::add_person(db, "eh-1", std::nullopt));
    REQUIRE(test::grant(db, "eh-1", "GM0363"));
  }
  Result<bool> set(const std::string& email, const std::string& name = "Anna", int64_t now = kNow) {
    return store::set_contact(db, {"eh-1", name, email, "127.0.0.1", now});
  }
  // Claims the due mail as the notifier would, with token `c`.
  std::optional<store::ConfirmationJob> mail(char c, int64_t now = kNow, int64_t validity = 1000) {
    auto job = store::claim_confirmation_mail(db, 7, now, hash_of(c), now + validity);
    REQUIRE(job.ok());
    if (*job) {
      store::NotificationUpdate u{(*job)->id, 7, "sent", std::nullopt, 0, now};
      REQUIRE(store::mark_confirmation_mail(db, u, {}).ok());
    }
    return *job;
  }
  std::optional<std::string> email() { return store::find_account(db, "eh-1").value()->email; }
  int count(const std::string& sql) {
    auto st = db.prepare(sql).value();
    REQUIRE(st.step().value());
    return static_cast<int>(st.col_int(0));
  }
};

}  // namespace

TEST_CASE("contacts: set, mailed, confirmed; the account's address is the confirmed one") {
  World w;
  CHECK(!store::find_contact(w.db, "eh-1").value());
  REQUIRE(w.set("anna@gemeente.test").value() == true);
  CHECK(!w.email());
  auto c = store::find_contact(w.db, "eh-1").value();
  REQUIRE(c);
  CHECK(c->name == "Anna");
  CHECK(c->email == "anna@gemeente.test");
  CHECK(!c->confirmed_ms);
  CHECK(w.count("SELECT count(*) FROM audit_events WHERE event = 'eherkenning.contact' AND actor = "
                "'eh-1' "
                "AND object NOT LIKE '%@%'") == 1);

  CHECK(store::find_contact(w.db, "eh-1").value()->mail_state == "pending");
  auto job = w.mail('a');
  REQUIRE(job);
  CHECK(store::find_contact(w.db, "eh-1").value()->mail_state == "sent");
  CHECK(job->name == "Anna");
  CHECK(job->email == "anna@gemeente.test");
  CHECK(job->attempts == 1);
  CHECK(!w.mail('x'));  // nothing else due

  CHECK(store::confirm_contact(w.db, hash_of('z'), "127.0.0.1", kNow + 1).error().code ==
        "contact-token-unknown");
  auto done = store::confirm_contact(w.db, hash_of('a'), "127.0.0.1", kNow + 1);
  REQUIRE_MESSAGE(done.ok(), done.error().message());
  CHECK(done->account == "eh-1");
  CHECK(done->email == "anna@gemeente.test");
  CHECK(w.email() == std::optional<std::string>("anna@gemeente.test"));
  CHECK(store::find_contact(w.db, "eh-1").value()->confirmed_ms ==
        std::optional<int64_t>(kNow + 1));
  CHECK(store::confirm_contact(w.db, hash_of('a'), "127.0.0.1", kNow + 2).error().code ==
        "contact-token-used");
  CHECK(
      w.count("SELECT count(*) FROM audit_events WHERE event = 'eherkenning.contact_confirmed'") ==
      1);

  SUBCASE("a new name for the confirmed address: no mail, still confirmed") {
    CHECK(w.set("anna@gemeente.test", "Anna de Vries").value() == false);
    CHECK(!w.mail('b'));
    CHECK(w.email() == std::optional<std::string>("anna@gemeente.test"));
    CHECK(store::find_contact(w.db, "eh-1").value()->name == "Anna de Vries");
  }
  SUBCASE("a new address replaces the old one and needs its own confirmation") {
    CHECK(w.set("anna@elders.test").value() == true);
    CHECK(!w.email());
    REQUIRE(w.mail('b'));
    CHECK(store::confirm_contact(w.db, hash_of('b'), "", kNow + 3).value().email ==
          "anna@elders.test");
    CHECK(w.email() == std::optional<std::string>("anna@elders.test"));
  }
}

TEST_CASE("contacts: superseded and expired tokens are refused with their own reason") {
  World w;
  REQUIRE(w.set("anna@gemeente.test").ok());
  REQUIRE(w.mail('a'));
  REQUIRE(w.set("anna@elders.test").ok());  // supersedes the first request
  REQUIRE(w.mail('b', kNow, 1000));
  CHECK(store::confirm_contact(w.db, hash_of('a'), "", kNow + 1).error().code ==
        "contact-token-superseded");
  CHECK(store::confirm_contact(w.db, hash_of('b'), "", kNow + 1000).error().code ==
        "contact-token-expired");
  CHECK(!w.email());
  SUBCASE("a request superseded before its mail went out is never mailed") {
    REQUIRE(w.set("x@gemeente.test", "Anna", kNow + 10).ok());
    REQUIRE(w.set("y@gemeente.test", "Anna", kNow + 11).ok());
    auto job = w.mail('c', kNow + 20);
    REQUIRE(job);
    CHECK(job->email == "y@gemeente.test");
    CHECK(!w.mail('d', kNow + 20));
    CHECK(w.count("SELECT count(*) FROM contact_confirmations WHERE email = 'x@gemeente.test' AND "
                  "mail_state = 'cancelled'") == 1);
  }
}

TEST_CASE("contacts: at most a few mails an hour; a disabled account is refused") {
  World w;
  for (int i = 0; i < store::kMaxContactRequestsPerHour; ++i)
    REQUIRE(w.set("a" + std::to_string(i) + "@gemeente.test", "Anna", kNow + i).ok());
  CHECK(w.set("late@gemeente.test", "Anna", kNow + 10).error().code == "contact-too-many");
  CHECK(w.set("late@gemeente.test", "Anna", kNow + 3'600'000 + 10).ok());
  REQUIRE(w.db.prepare("UPDATE accounts SET disabled_ms = 1").value().run().ok());
  CHECK(w.set("b@gemeente.test", "Anna", kNow + 7'200'000).error().code == "eh-account-disabled");
  CHECK(store::set_contact(w.db, {"nobody", "N", "n@gemeente.test", "", kNow}).error().code ==
        "eh-account-disabled");
}

TEST_CASE("contacts: notifications reach an eHerkenning person only at a confirmed address") {
  World w;
  REQUIRE(test::add_person(w.db, "op", "op@gemeente.test"));  // operator-registered, as today
  REQUIRE(test::grant(w.db, "op", "GM0363"));
  REQUIRE(w.set("anna@gemeente.test").ok());
  int queued = -1;
  auto item = test::publish(w.db, "GM0363", "a.request.age", "request", kNow, true, &queued);
  CHECK(queued == 1);
  CHECK(store::notifications_of_item(w.db, item.id).value()[0].account == "op");
  REQUIRE(w.mail('a'));
  REQUIRE(store::confirm_contact(w.db, hash_of('a'), "", kNow + 1).ok());
  item = test::publish(w.db, "GM0363", "b.sip.age", "sip", kNow + 2, true, &queued);
  CHECK(queued == 2);
}

TEST_CASE("contacts: a claim of a dead notifier is released; a lost claim is refused") {
  World w;
  REQUIRE(w.set("anna@gemeente.test").ok());
  auto job = store::claim_confirmation_mail(w.db, 7, kNow, hash_of('a'), kNow + 1000).value();
  REQUIRE(job);
  CHECK(store::release_dead_confirmation_claims(w.db, [](int64_t) { return true; }).value() == 0);
  CHECK(store::release_dead_confirmation_claims(w.db, [](int64_t pid) {
          return pid != 7;
        }).value() == 1);
  store::NotificationUpdate u{job->id, 7, "sent", std::nullopt, 0, kNow};
  CHECK(store::mark_confirmation_mail(w.db, u, {}).error().code == "claim-lost");
  auto again = store::claim_confirmation_mail(w.db, 8, kNow, hash_of('b'), kNow + 1000).value();
  REQUIRE(again);
  CHECK(again->attempts == 2);
  // The retry's token replaced the first: only the newest link works.
  CHECK(store::confirm_contact(w.db, hash_of('a'), "", kNow + 1).error().code ==
        "contact-token-unknown");
  CHECK(store::confirm_contact(w.db, hash_of('b'), "", kNow + 1).ok());
}
