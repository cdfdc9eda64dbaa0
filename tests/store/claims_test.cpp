// Unit tests for store/claims.h on a real SQLite file, for both tables it
// serves: the oldest received row is claimed once (also by several processes
// at once), the tables never mix, and only claims of dead pids go back.
#include "store/claims.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "store/submissions.h"
#include "tests/support/store_world.h"

using namespace kp;
using kp::testing::audit_event;
using kp::testing::StoreWorld;

namespace {

int64_t submission(store::Db& db, const std::string& name) {
  store::Upload s;
  s.person = "s.staff";
  s.name = name;
  s.partial_name = name + ".part";
  s.sha256 = std::string(64, 'a');
  auto id = store::record_submission(db, s, audit_event("sftp.submission"));
  REQUIRE(id.ok());
  return *id;
}

std::optional<int64_t> claim(store::Db& db, store::ClaimTable t, int64_t pid) {
  auto c = store::claim_oldest(db, t, pid, 500);
  REQUIRE_MESSAGE(c.ok(), c.error().message());
  if (!c->has_value()) return std::nullopt;
  CHECK((*c)->state == "processing");
  return (*c)->id;
}

// PRAGMA synchronous of the connection: 2 is FULL.
int64_t synchronous(store::Db& db) {
  auto st = db.prepare("PRAGMA synchronous");
  REQUIRE(st.ok());
  auto row = st->step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->col_int(0);
}

}  // namespace

TEST_CASE("claims: a claim commits without fsync but leaves the connection at synchronous=FULL") {
  StoreWorld w;
  REQUIRE(synchronous(w.db()) == 2);
  w.upload("GM0363", "a.age");
  CHECK(claim(w.db(), store::ClaimTable::uploads, 1));
  CHECK(synchronous(w.db()) == 2);
  CHECK_FALSE(claim(w.db(), store::ClaimTable::uploads, 1));  // idle
  CHECK(synchronous(w.db()) == 2);
  CHECK_FALSE(claim(w.db(), store::ClaimTable::submissions, 1));
  CHECK(synchronous(w.db()) == 2);
}

TEST_CASE("claims: uploads are claimed once, oldest first, and never mixed with submissions") {
  StoreWorld w;
  const int64_t u1 = w.upload("GM0363", "a.age");
  const int64_t u2 = w.upload("GM0599", "a.age");
  const int64_t s1 = submission(w.db(), "a.age");
  CHECK(claim(w.db(), store::ClaimTable::uploads, 1) == u1);
  CHECK(claim(w.db(), store::ClaimTable::uploads, 2) == u2);
  CHECK_FALSE(claim(w.db(), store::ClaimTable::uploads, 3));
  CHECK(claim(w.db(), store::ClaimTable::submissions, 3) == s1);
  CHECK_FALSE(claim(w.db(), store::ClaimTable::submissions, 4));
  // The claimed row comes back whole.
  const int64_t u3 = w.upload("GM0363", "b.age", 777);
  auto c = store::claim_oldest(w.db(), store::ClaimTable::uploads, 5, 800);
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  CHECK((*c)->id == u3);
  CHECK((*c)->municipality == "GM0363");
  CHECK((*c)->person == "p");
  CHECK((*c)->name == "b.age");
  CHECK((*c)->received_ms == 777);
}

TEST_CASE("claims: an empty table claims nothing and releases nothing") {
  StoreWorld w;
  for (auto t : {store::ClaimTable::uploads, store::ClaimTable::submissions}) {
    CHECK_FALSE(claim(w.db(), t, 1));
    bool asked = false;
    auto r = store::release_dead(w.db(), t, [&](int64_t) {
      asked = true;
      return false;
    });
    REQUIRE(r.ok());
    CHECK(*r == 0);
    CHECK_FALSE(asked);
  }
}

TEST_CASE("claims: only claims of dead pids are released, in their own table") {
  StoreWorld w;
  const int64_t u1 = w.upload("GM0363", "a.age");
  const int64_t u2 = w.upload("GM0363", "b.age");
  const int64_t s1 = submission(w.db(), "s.age");
  REQUIRE(claim(w.db(), store::ClaimTable::uploads, 100) == u1);
  REQUIRE(claim(w.db(), store::ClaimTable::uploads, 200) == u2);
  REQUIRE(claim(w.db(), store::ClaimTable::submissions, 100) == s1);
  // pid 100 died: its upload goes back; its submission waits for the
  // submissions' own release.
  auto r = store::release_dead(w.db(), store::ClaimTable::uploads,
                               [](int64_t pid) { return pid != 100; });
  REQUIRE(r.ok());
  CHECK(*r == 1);
  CHECK(claim(w.db(), store::ClaimTable::uploads, 300) == u1);
  CHECK_FALSE(claim(w.db(), store::ClaimTable::uploads, 300));
  CHECK_FALSE(claim(w.db(), store::ClaimTable::submissions, 300));
  r = store::release_dead(w.db(), store::ClaimTable::submissions,
                          [](int64_t pid) { return pid != 100; });
  REQUIRE(r.ok());
  CHECK(*r == 1);
  CHECK(claim(w.db(), store::ClaimTable::submissions, 300) == s1);
  // pid 300 now holds both; it is alive, so nothing is released.
  CHECK(*store::release_dead(w.db(), store::ClaimTable::uploads,
                             [](int64_t pid) { return pid == 300 || pid == 200; }) == 0);
  // A decided row is not released even when its worker is gone.
  store::Verdict v;
  v.upload_id = u2;
  v.pid = 200;
  v.reason_code = "manifest-field-invalid";
  REQUIRE(store::record_verdict(w.db(), v, {audit_event("intake.rejected")}, [](int64_t) {
            return ok_status();
          }).ok());
  CHECK(*store::release_dead(w.db(), store::ClaimTable::uploads,
                             [](int64_t pid) { return pid == 300; }) == 0);
  CHECK_FALSE(claim(w.db(), store::ClaimTable::uploads, 400));
}

TEST_CASE("claims: worker processes racing on one database claim each row exactly once") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/k.db";
  constexpr int kRows = 60;
  constexpr int kWorkers = 4;
  std::set<int64_t> ids;
  {
    // Closed before fork(): SQLite connections must not cross it.
    auto db = store::Db::open(path);
    REQUIRE(db.ok());
    for (int i = 0; i < kRows; ++i) ids.insert(submission(*db, "s" + std::to_string(i) + ".age"));
  }
  std::vector<pid_t> children;
  for (int k = 0; k < kWorkers; ++k) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The child: its own connection, claiming until nothing is left;
      // the ids it got go to its own file. No doctest macros here.
      int code = 0;
      {
        auto db = store::Db::open(path);
        std::ofstream out(dir.path() + "/claimed-" + std::to_string(k));
        if (!db.ok()) code = 2;
        while (code == 0) {
          auto c = store::claim_oldest(*db, store::ClaimTable::submissions, ::getpid(), 1);
          if (!c.ok())
            code = 3;
          else if (!c->has_value())
            break;
          else
            out << (*c)->id << "\n";
        }
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::multiset<int64_t> claimed;
  for (int k = 0; k < kWorkers; ++k) {
    std::ifstream in(dir.path() + "/claimed-" + std::to_string(k));
    for (int64_t id = 0; in >> id;) claimed.insert(id);
  }
  CHECK(claimed.size() == static_cast<std::size_t>(kRows));
  CHECK(std::set<int64_t>(claimed.begin(), claimed.end()) == ids);
  auto db = store::Db::open(path);
  REQUIRE(db.ok());
  CHECK_FALSE(claim(*db, store::ClaimTable::submissions, 1));
}

TEST_CASE("claims: a deferred row waits for its retry time while the rows behind it go first") {
  StoreWorld w;
  for (auto t : {store::ClaimTable::uploads, store::ClaimTable::submissions}) {
    const bool up = t == store::ClaimTable::uploads;
    const int64_t first = up ? w.upload("GM0363", "p.age") : submission(w.db(), "p.age");
    const int64_t second = up ? w.upload("GM0363", "q.age") : submission(w.db(), "q.age");
    CHECK(claim(w.db(), t, 7) == first);  // claimed at 500
    CHECK(*store::attempts_of(w.db(), t, first) == 1);
    REQUIRE(store::defer_claim(w.db(), t, first, 7, 2000, true, "io-failed: x").ok());
    // Only the claim's holder may defer it.
    CHECK(store::defer_claim(w.db(), t, first, 7, 2000, true, "again").error().code == "claim-lost");
    CHECK(claim(w.db(), t, 7) == second);  // the failed one waits (now = 500 < 2000)
    CHECK_FALSE(claim(w.db(), t, 7));
    auto later = store::claim_oldest(w.db(), t, 7, 2000);
    REQUIRE(later.ok());
    REQUIRE(later->has_value());
    CHECK((*later)->id == first);
    CHECK(*store::attempts_of(w.db(), t, first) == 2);
    // A failure that is not the row's (a full disk) takes its attempt back.
    REQUIRE(store::defer_claim(w.db(), t, first, 7, 0, false, "no-space").ok());
    CHECK(*store::attempts_of(w.db(), t, first) == 1);
    auto rows = w.db().prepare(std::string("SELECT last_error FROM ") + (up ? "uploads" : "submissions") +
                               " WHERE id = ?");
    REQUIRE(rows.ok());
    rows->bind(1, first);
    REQUIRE(*rows->step());
    CHECK(rows->col_text(0) == "no-space");
  }
}
