// Unit tests for audit/log.h and audit/record.h on a real SQLite store:
// append, checkpoints, proofs, and the tamper cases auditors care about.
#include "audit/log.h"

#include <doctest/doctest.h>

#include "audit/record.h"
#include "store/audit_events.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

struct Fixture {
  testing::TempDir dir;
  store::Db db = std::move(store::Db::open(dir.path() + "/k.db").value());
  note::SignerKey key = std::move(note::generate("example.org/log").value());
  const std::string origin = "example.org/log";

  void append(int n) {
    for (int i = 0; i < n; ++i) {
      store::AuditEvent e;
      e.event = "sftp.upload";
      e.outcome = "success";
      e.actor = "p" + std::to_string(i);
      e.municipality = "GM0363";
      e.object = "line one\nline two\\";
      REQUIRE(store::append_audit(db, e).ok());
    }
  }
  Result<audit::VerifyReport> verify(const std::optional<std::string>& trusted = std::nullopt) {
    return audit::verify_log(db, key.verifier(), origin, trusted);
  }
  void sql(const char* text) { REQUIRE(db.run_script(text).ok()); }
};

}  // namespace

TEST_CASE("audit log: canonical records are one field a line") {
  store::AuditEvent e;
  e.ts_ms = 5;
  e.event = "x";
  e.outcome = "success";
  e.object = "a\nb\\c";
  std::string r = audit::canonical_record(e, 7);
  CHECK(r.rfind("knooppunt-audit/1\nindex: 7\ntime: 5\nevent: x\n", 0) == 0);
  CHECK(r.find("object: a\\nb\\\\c\n") != std::string::npos);
  CHECK(std::count(r.begin(), r.end(), '\n') == 14);
}

TEST_CASE("audit log: stored roots match an independent in-memory tree") {
  Fixture f;
  f.append(37);
  auto events = store::list_audit(f.db, std::nullopt);
  REQUIRE(events.ok());
  merkle::MemoryTree mem;
  for (const auto& e : *events) {
    mem.append_data(audit::canonical_record(e, static_cast<uint64_t>(e.id - 1)));
    auto root = audit::root_at(f.db, mem.size());
    REQUIRE(root.ok());
    CHECK(*root == mem.root());
  }
}

TEST_CASE("audit log: checkpoints, proofs and a clean verify") {
  Fixture f;
  f.append(5);
  auto cp1 = audit::sign_checkpoint(f.db, f.key, f.origin);
  REQUIRE(cp1.ok());
  CHECK(cp1->size == 5);
  // The same size is never signed twice.
  CHECK(audit::sign_checkpoint(f.db, f.key, f.origin)->note == cp1->note);
  f.append(6);
  REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
  auto report = f.verify(cp1->note);
  REQUIRE(report.ok());
  CHECK(report->records == 11);
  CHECK(report->checkpoints == 2);

  auto proof_text = audit::proof_for(f.db, 3);
  REQUIRE(proof_text.ok());
  auto proof = merkle::parse_tlog_proof(*proof_text);
  REQUIRE(proof.ok());
  auto events = store::list_audit(f.db, std::nullopt);
  auto leaf = merkle::leaf_hash(audit::canonical_record((*events)[3], 3));
  CHECK(merkle::verify_tlog_proof(*proof, leaf, f.key.verifier(), f.origin).ok());
  auto wrong_leaf = merkle::leaf_hash(audit::canonical_record((*events)[4], 4));
  CHECK_FALSE(merkle::verify_tlog_proof(*proof, wrong_leaf, f.key.verifier(), f.origin).ok());
  f.append(1);
  CHECK(audit::proof_for(f.db, 11).error().code == "audit-no-checkpoint");
}

TEST_CASE("audit log: tampering is found and named") {
  SUBCASE("an edited field") {
    Fixture f;
    f.append(8);
    REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
    f.sql("UPDATE audit_events SET actor = 'mallory' WHERE id = 4");
    auto r = f.verify();
    CHECK(r.error().code == "audit-record-altered");
    CHECK(r.error().detail.find("record 3") != std::string::npos);
  }
  SUBCASE("an edited field with its leaf recomputed: the checkpoint disagrees") {
    Fixture f;
    f.append(8);
    REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
    auto events = store::list_audit(f.db, std::nullopt);
    store::AuditEvent e = (*events)[3];
    e.actor = "mallory";
    auto leaf = merkle::leaf_hash(audit::canonical_record(e, 3));
    f.sql("UPDATE audit_events SET actor = 'mallory' WHERE id = 4");
    auto st = f.db.prepare("UPDATE merkle_nodes SET hash = ? WHERE level = 0 AND idx = 3");
    REQUIRE(st.ok());
    st->bind_blob(1, leaf.data(), leaf.size());
    REQUIRE(st->run().ok());
    CHECK(f.verify().error().code == "audit-checkpoint-mismatch");
  }
  SUBCASE("a deleted record") {
    Fixture f;
    f.append(8);
    f.sql("DELETE FROM audit_events WHERE id = 5");
    auto r = f.verify();
    CHECK(r.error().code == "audit-record-missing");
    CHECK(r.error().detail.find("record 4") != std::string::npos);
  }
  SUBCASE("two records swapped") {
    Fixture f;
    f.append(8);
    f.sql("UPDATE audit_events SET actor = CASE id WHEN 2 THEN 'p2' WHEN 3 THEN 'p1' END WHERE id IN (2, 3)");
    CHECK(f.verify().error().code == "audit-record-altered");
  }
  SUBCASE("a truncated log") {
    Fixture f;
    f.append(8);
    REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
    f.sql("DELETE FROM audit_events WHERE id > 6");
    CHECK(f.verify().error().code == "audit-record-missing");
  }
  SUBCASE("a replaced checkpoint") {
    Fixture f;
    f.append(8);
    REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
    auto other = note::generate("example.org/log");
    REQUIRE(other.ok());
    auto root = audit::root_at(f.db, 8);
    auto body = merkle::format_checkpoint(merkle::Checkpoint{f.origin, 8, *root, {}});
    auto forged = note::sign(*body, *other);
    auto st = f.db.prepare("UPDATE checkpoints SET note = ? WHERE size = 8");
    st->bind(1, *forged);
    REQUIRE(st->run().ok());
    CHECK(f.verify().error().code == "audit-checkpoint-signature");
  }
  SUBCASE("a log that did not grow from the auditor's checkpoint") {
    Fixture f;
    f.append(8);
    auto cp = audit::sign_checkpoint(f.db, f.key, f.origin);
    REQUIRE(cp.ok());
    f.sql("DELETE FROM checkpoints; DELETE FROM merkle_nodes; DELETE FROM audit_events;");
    f.append(3);
    CHECK(f.verify(cp->note).error().code == "audit-not-grown");
  }
}
