// Unit tests for store/migrations.cpp: a database made at every earlier
// schema version N (the first N migrations, as a data directory of that
// release has it), holding the rows that release could hold, opens with the
// current code, migrates to the latest version and keeps every row. Where a
// migration derives data from older rows (3: the transfer log's leaves from
// the records; 9: the per-day upload counts; 10: the case-number counters)
// the derived rows are checked too. The rows are written with plain SQL for
// the columns that exist at N, never through the store's functions (which
// speak the latest schema). Afterwards the store's own functions read and
// extend the migrated database.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <string>

#include "store/audit_events.h"
#include "store/db.h"
#include "store/registry.h"
#include "store/uploads.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kDay1 = 20000 * kDay;  // 2024-10-04
constexpr int64_t kDay2 = kDay1 + kDay;

void exec(store::Db& db, const std::string& sql) {
  Status s = db.run_script(sql);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message()) << "\n" << sql);
}

int64_t count(store::Db& db, const std::string& table, const std::string& where = "1") {
  auto st = db.prepare("SELECT count(*) FROM " + table + " WHERE " + where);
  REQUIRE_MESSAGE(st.ok(), st.error().message());
  auto row = st->step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->col_int(0);
}

int64_t user_version(store::Db& db) {
  auto st = db.prepare("PRAGMA user_version");
  REQUIRE(st.ok());
  REQUIRE(*st->step());
  return st->col_int(0);
}

// The rows a release at schema version `n` could hold, one or two per table.
void fill(store::Db& db, std::size_t n) {
  // 1: registry, mandates, uploads (on two days), audit records.
  exec(db,
       "INSERT INTO municipalities(code, name, created_ms) VALUES ('GM0363', 'Amsterdam', 1), "
       "('GM0599', 'Rotterdam', 1);"
       "INSERT INTO municipality_recipients VALUES ('GM0363', 'age1recipient', 1);"
       "INSERT INTO accounts(id, role, email, sign_key, recipient, created_ms) VALUES "
       "('j.jansen', 'person', 'j@example.org', 'RWQsign', NULL, 1), "
       "('hub1', 'staff', NULL, 'RWQhub', 'age1staff', 1), ('aud1', 'auditor', NULL, NULL, NULL, 1);"
       "INSERT INTO ssh_keys VALUES ('j.jansen', 'ssh-ed25519', 'AAAAjj', 'SHA256:jj'), "
       "('hub1', 'ssh-ed25519', 'AAAAhub', 'SHA256:hub'), ('aud1', 'ssh-ed25519', 'AAAAaud', 'SHA256:aud');"
       "INSERT INTO mandates(person, municipality, scopes, level, valid_from_ms, valid_until_ms, granted_ms) "
       "VALUES ('j.jansen', 'GM0363', 'upload,download', 'EH3', 1, NULL, 1);");
  const std::string sha(64, 'a');
  exec(db,
       "INSERT INTO uploads(id, municipality, person, name, partial_name, size, sha256, received_ms) VALUES "
       "(1, 'GM0363', 'j.jansen', 'signal-1.age', 'p1', 1000, '" + sha + "', " + std::to_string(kDay1) + "), "
       "(2, 'GM0363', 'j.jansen', 'reply-2.age', 'p2', 500, '" + sha + "', " + std::to_string(kDay2) + "), "
       "(3, 'GM0363', 'j.jansen', 'signal-3.age', 'p3', 200, '" + sha + "', " + std::to_string(kDay2 + 5) + ");"
       "INSERT INTO audit_events(ts_ms, event, outcome, actor, role, municipality, object, size, sha256) VALUES "
       "(1, 'registry.municipality_added', 'success', 'operator', 'operator', 'GM0363', NULL, NULL, NULL), "
       "(" + std::to_string(kDay1) + ", 'sftp.upload', 'success', 'j.jansen', 'person', 'GM0363', "
       "'signal-1.age', 1000, '" + sha + "'), "
       "(" + std::to_string(kDay2) + ", 'sftp.upload', 'success', 'j.jansen', 'person', 'GM0363', "
       "'reply-2.age', 500, '" + sha + "');");
  // From 3 on the store keeps the tree's leaves beside the records.
  if (n >= 3) REQUIRE(store::rebuild_tree_leaves(db).ok());
  if (n >= 2)
    exec(db,
         "UPDATE uploads SET state = 'accepted', processed_ms = 5 WHERE id IN (1, 2);"
         "INSERT INTO cases(id, upload_id, municipality, kind, in_reply_to, provider_kvk, provider_name, domain, "
         "score, score_parts, queue_name, created_ms) VALUES ('KP-2026-000007', 1, 'GM0363', 'signal', NULL, "
         "'12345678', 'Zorg BV', 'wmo', 61.5, '{}', 'rank-061-GM0363-KP-2026-000007-20261001.age', 5);");
  if (n >= 3)
    exec(db, "INSERT INTO checkpoints(size, root, note, ts_ms) VALUES (3, zeroblob(32), 'note', 6);");
  if (n >= 4) exec(db, "INSERT INTO receipts(upload_id, json, signature, placed) VALUES (1, '{}', 'sig', 1);");
  if (n >= 5)
    exec(db,
         "UPDATE cases SET state = 'taken', state_ms = 7, state_by = 'hub1', taken_ms = 7;"
         "INSERT INTO submissions(id, submitter, name, partial_name, size, sha256, received_ms) VALUES "
         "(1, 'hub1', 'sip.age', 'sp1', 300, '" + sha + "', 8);"
         "INSERT INTO outbox_items(id, municipality, name, kind, case_id, upload_id, created_ms, placed_ms) "
         "VALUES (1, 'GM0363', 'signal-1.age.receipt.json', 'receipt', 'KP-2026-000007', 1, 5, 6);"
         "INSERT INTO replies(upload_id, request_id, case_id, queue_name, created_ms) VALUES "
         "(2, 'KP-2026-000007-R1', 'KP-2026-000007', 'rank-061-GM0363-KP-2026-000007-20261001.age.reply-1.age', 9);");
  if (n >= 6) exec(db, "INSERT INTO auditor_tokens(account, hash, set_ms) VALUES ('aud1', zeroblob(32), 10);");
  if (n >= 7)
    exec(db,
         "INSERT INTO notifications(outbox_item, municipality, account, next_attempt_ms, created_ms) "
         "VALUES (1, 'GM0363', 'j.jansen', 11, 11);");
  if (n >= 8)
    exec(db,
         "INSERT INTO retention_deletions(id, kind, ref, municipality, object, due_ms, purged_ms) VALUES "
         "(1, 'inbox', 'upload/3', 'GM0363', 'signal-3.age', 12, 12);"
         "INSERT INTO retention_files(deletion_id, seq, path) VALUES (1, 0, 'boxes/GM0363/inbox/signal-3.age');");
  if (n >= 13) exec(db, "UPDATE accounts SET disabled_ms = 13 WHERE id = 'aud1';");
  if (n >= 14) exec(db, "UPDATE municipalities SET kvk = '87654321' WHERE code = 'GM0599';");
  if (n >= 15)
    exec(db,
         "INSERT INTO penalties(block, failures, window_start_ms, last_ms, reason) VALUES "
         "('192.0.2.7', 3, 14, 14, 'auth');");
  if (n >= 16)
    exec(db,
         "INSERT INTO accepted_manifests(sha256, case_id, upload_id, accepted_ms) VALUES "
         "('" + sha + "', 'KP-2026-000007', 1, 15);");
  if (n >= 17)
    exec(db,
         "INSERT INTO checkpoint_cosignatures(size, witness, line) VALUES (3, 'w1', 'line');"
         "INSERT INTO witness_state(witness, size) VALUES ('w1', 3);");
  if (n >= 23)
    exec(db,
         "INSERT INTO contacts(account, name, email, set_ms) VALUES ('j.jansen', 'Jan', 'j@example.org', 16);"
         "INSERT INTO contact_confirmations(account, email, created_ms, next_attempt_ms) VALUES "
         "('j.jansen', 'j@example.org', 16, 16);");
}

// Every row fill(n) wrote is there after the migration, with what later
// migrations derive from it.
void check_survived(store::Db& db, std::size_t n) {
  CHECK(count(db, "municipalities") == 2);
  CHECK(count(db, "municipality_recipients", "recipient = 'age1recipient'") == 1);
  CHECK(count(db, "accounts") == 3);
  CHECK(count(db, "ssh_keys") == 3);
  CHECK(count(db, "mandates", "person = 'j.jansen' AND level = 'EH3' AND revoked_ms IS NULL") == 1);
  CHECK(count(db, "mandates", "granted_by = 'operator'") == 1);  // 14's default for older grants
  CHECK(count(db, "uploads") == 3);
  CHECK(count(db, "uploads", "name = 'signal-1.age' AND size = 1000 AND attempts = 0") == 1);
  CHECK(count(db, "audit_events") == 3);
  // 3: a leaf per record; 9: the day counts; 10: the case-number counter.
  CHECK(count(db, "merkle_nodes", "level = 0") == 3);
  CHECK(count(db, "upload_days", "day = " + std::to_string(kDay1 / kDay) + " AND files = 1 AND bytes = 1000") == 1);
  CHECK(count(db, "upload_days", "day = " + std::to_string(kDay2 / kDay) + " AND files = 2 AND bytes = 700") == 1);
  // 19: the upload-to-receipt latency of the two decided uploads.
  CHECK(count(db, "receipt_latency", "le_ms = 100 AND count = 2") == (n >= 2 ? 1 : 0));
  if (n >= 2) {
    CHECK(count(db, "cases", "id = 'KP-2026-000007' AND score = 61.5") == 1);
    // From 10 on the intake worker keeps the counter as it draws a number.
    if (n < 10) CHECK(count(db, "case_numbers", "year = 2026 AND last = 7") == 1);
  }
  if (n >= 3) CHECK(count(db, "checkpoints", "size = 3") == 1);
  if (n >= 4) CHECK(count(db, "receipts", "placed = 1") == 1);
  if (n >= 5) {
    CHECK(count(db, "cases", "state = 'taken' AND state_by = 'hub1'") == 1);
    CHECK(count(db, "submissions", "name = 'sip.age'") == 1);
    CHECK(count(db, "outbox_items", "kind = 'receipt' AND placed_ms = 6") == 1);
    CHECK(count(db, "replies") == 1);
  }
  if (n >= 6) CHECK(count(db, "auditor_tokens") == 1);
  if (n >= 7) CHECK(count(db, "notifications", "state = 'pending'") == 1);
  if (n >= 8) CHECK(count(db, "retention_files") == 1);
  if (n >= 13) CHECK(count(db, "accounts", "disabled_ms = 13") == 1);
  if (n >= 14) CHECK(count(db, "municipalities", "kvk = '87654321'") == 1);
  if (n >= 15) CHECK(count(db, "penalties") == 1);
  if (n >= 16) CHECK(count(db, "accepted_manifests") == 1);
  if (n >= 17) CHECK(count(db, "witness_state", "size = 3") == 1);
  if (n >= 23) CHECK(count(db, "contact_confirmations", "mail_state = 'pending'") == 1);
}

}  // namespace

TEST_CASE("migrations: a database from every earlier schema version migrates and keeps its rows") {
  const std::size_t latest = store::latest_schema_version();
  REQUIRE(latest >= 18);
  // In memory where the machine has /dev/shm: every migration commits with
  // an fsync, and this test makes a database per version.
  testing::TempDir dir;
  const std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : dir.path();
  for (std::size_t n = 0; n <= latest; ++n) {
    CAPTURE(n);
    const std::string path = base + "/kp-migrations-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".db";
    struct Remove {
      std::string p;
      ~Remove() {
        for (const char* s : {"", "-wal", "-shm", "-journal"}) ::unlink((p + s).c_str());
      }
    } remove{path};
    {
      auto old = store::Db::open(path, n);
      REQUIRE_MESSAGE(old.ok(), old.error().message());
      REQUIRE(user_version(*old) == static_cast<int64_t>(n));
      if (n >= 1) fill(*old, n);
    }
    auto db = store::Db::open(path);
    REQUIRE_MESSAGE(db.ok(), db.error().message());
    CHECK(user_version(*db) == static_cast<int64_t>(latest));
    if (n == 0) {
      CHECK(count(*db, "uploads") == 0);
      continue;
    }
    check_survived(*db, n);
    // The current code reads and extends what it migrated.
    auto up = store::find_upload(*db, 1);
    REQUIRE(up.ok());
    REQUIRE(up->has_value());
    CHECK((*up)->name == "signal-1.age");
    auto mandates = store::list_mandates(*db);
    REQUIRE(mandates.ok());
    CHECK(mandates->size() == 1);
    store::Upload u;
    u.municipality = "GM0363";
    u.person = "j.jansen";
    u.name = "after-migration.age";
    u.partial_name = "pa";
    u.size = 42;
    u.sha256 = std::string(64, 'b');
    u.received_ms = kDay2 + 10;
    store::AuditEvent e;
    e.ts_ms = kDay2 + 10;
    e.event = "sftp.upload";
    e.outcome = "success";
    auto id = store::record_upload(*db, u, e);
    REQUIRE_MESSAGE(id.ok(), id.error().message());
    CHECK(count(*db, "upload_days", "day = " + std::to_string(kDay2 / kDay) + " AND files = 3") == 1);
    CHECK(count(*db, "merkle_nodes", "level = 0") == 4);
  }
}

TEST_CASE("migrations: a database a newer knooppunt migrated is refused, every time") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/newer.db";
  const std::size_t newer = store::latest_schema_version() + 1;
  {
    auto db = store::Db::open(path);
    REQUIRE(db.ok());
    REQUIRE(db->run_script("PRAGMA user_version = " + std::to_string(newer)).ok());
  }
  auto reopened = store::Db::open(path);
  REQUIRE_FALSE(reopened.ok());
  CHECK(reopened.error().code == "store-schema-newer");
  CHECK(reopened.error().detail.find("schema version " + std::to_string(newer)) != std::string::npos);
  // Nothing was changed: it is refused again, the same way.
  auto again = store::Db::open(path);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == "store-schema-newer");
}
