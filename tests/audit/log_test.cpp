// Unit tests for audit/log.h and audit/record.h on a real SQLite store:
// append, checkpoints, proofs, and the tamper cases auditors care about.
#include "audit/log.h"

#include <doctest/doctest.h>

#include <cstdint>

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

namespace {

// The serialisation written out plainly (as record.h documents it), to hold
// the buffer-writing canonical_record_into to the same bytes.
std::string reference_record(const store::AuditEvent& e, uint64_t index) {
  std::string out = "knooppunt-audit/1\n";
  auto field = [&](const char* name, const std::string& v) {
    out += name;
    out += ": ";
    for (char c : v)
      out += c == '\\' ? std::string("\\\\") : c == '\n' ? std::string("\\n") : std::string(1, c);
    out += "\n";
  };
  auto opt = [](const std::optional<std::string>& v) { return v.value_or(""); };
  field("index", std::to_string(index));
  field("time", std::to_string(e.ts_ms));
  field("event", e.event);
  field("outcome", e.outcome);
  field("actor", opt(e.actor));
  field("role", opt(e.role));
  field("municipality", opt(e.municipality));
  field("object", opt(e.object));
  field("size", e.size ? std::to_string(*e.size) : "");
  field("sha256", opt(e.sha256));
  field("source", opt(e.source));
  field("channel", opt(e.channel));
  field("reason", opt(e.reason));
  return out;
}

}  // namespace

TEST_CASE("audit log: canonical_record_into gives the documented bytes") {
  store::AuditEvent e;
  e.ts_ms = INT64_MIN;
  e.event = "\\\\\n\n";  // nothing but escapes: the worst case for the buffer
  e.outcome = "";
  e.actor = std::string(3000, '\\');
  e.role = "";  // empty and absent serialise alike
  e.object = "a\nb\\c";
  e.size = INT64_MIN;
  e.reason = std::string(1000, '\n');
  CHECK(audit::canonical_record(e, UINT64_C(9223372036854775807)) ==
        reference_record(e, UINT64_C(9223372036854775807)));
  store::AuditEvent plain;
  plain.ts_ms = 1;
  plain.event = "x";
  plain.outcome = "success";
  plain.size = 0;
  std::string buf(10000, 'z');  // reused buffers are replaced, not appended to
  audit::RecordView v;
  v.ts_ms = 1;
  v.event = "x";
  v.outcome = "success";
  v.size = 0;
  audit::canonical_record_into(buf, v, 0);
  CHECK(buf == reference_record(plain, 0));
  CHECK(audit::canonical_record(plain, 0) == buf);
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
  // Verify maps the file for its scan and leaves the connection as it was.
  auto mmap = f.db.prepare("PRAGMA mmap_size");
  REQUIRE(mmap.ok());
  REQUIRE(*mmap->step());
  CHECK(mmap->col_int(0) == 0);
  // An empty log verifies too.
  Fixture empty;
  auto none = empty.verify();
  REQUIRE(none.ok());
  CHECK(none->records == 0);

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
    f.sql(
        "UPDATE audit_events SET actor = CASE id WHEN 2 THEN 'p2' WHEN 3 THEN 'p1' END WHERE id IN "
        "(2, 3)");
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
  SUBCASE("an altered interior node, found after the records") {
    Fixture f;
    f.append(8);
    REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
    f.sql("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 2");
    auto r = f.verify();
    CHECK(r.error().code == "audit-tree-damaged");
    CHECK(r.error().detail.find("node 1/2") != std::string::npos);
  }
  SUBCASE("an altered interior node on a checkpoint's frontier") {
    Fixture f;
    f.append(6);
    REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
    f.append(2);
    f.sql("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 0");
    auto r = f.verify();
    CHECK(r.error().code == "audit-tree-damaged");
    CHECK(r.error().detail.find("checkpoint of size 6") != std::string::npos);
  }
  SUBCASE("a missing interior node") {
    Fixture f;
    f.append(8);
    f.sql("DELETE FROM merkle_nodes WHERE level = 3");
    auto r = f.verify();
    CHECK(r.error().code == "audit-tree-damaged");
    CHECK(r.error().detail.find("node 3/0") != std::string::npos);
  }
  SUBCASE("a missing leaf") {
    Fixture f;
    f.append(8);
    f.sql("DELETE FROM merkle_nodes WHERE level = 0 AND idx = 5");
    auto r = f.verify();
    CHECK(r.error().code == "audit-record-altered");
    CHECK(r.error().detail.find("record 5") != std::string::npos);
  }
  SUBCASE("the last record removed, its leaf left in the tree") {
    Fixture f;
    f.append(8);
    f.sql("DELETE FROM audit_events WHERE id = 8");
    auto r = f.verify();
    CHECK(r.error().code == "audit-record-missing");
    CHECK(r.error().detail.find("record 7") != std::string::npos);
  }
  SUBCASE("a stored node beyond the tree") {
    Fixture f;
    f.append(5);
    f.sql("INSERT INTO merkle_nodes(level, idx, hash) VALUES (2, 1, zeroblob(32))");
    auto r = f.verify();
    CHECK(r.error().code == "audit-tree-damaged");
    CHECK(r.error().detail.find("node 2/1") != std::string::npos);
  }
  SUBCASE("a bad signature on one of many checkpoints") {
    Fixture f;
    for (int i = 0; i < 6; ++i) {
      f.append(3);
      REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
    }
    REQUIRE(f.verify().ok());
    CHECK(f.verify()->checkpoints == 6);
    auto other = note::generate(f.origin);
    REQUIRE(other.ok());
    auto root = audit::root_at(f.db, 9);
    auto body = merkle::format_checkpoint(merkle::Checkpoint{f.origin, 9, *root, {}});
    auto forged = note::sign(*body, *other);
    auto st = f.db.prepare("UPDATE checkpoints SET note = ? WHERE size = 9");
    st->bind(1, *forged);
    REQUIRE(st->run().ok());
    auto r = f.verify();
    CHECK(r.error().code == "audit-checkpoint-signature");
    CHECK(r.error().detail.find("size 9") != std::string::npos);
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

TEST_CASE("audit log: receipt checkpoints are stored only when due, and still prove") {
  Fixture f;
  f.append(3);
  auto first = audit::sign_checkpoint(f.db, f.key, f.origin, audit::Persist::when_due);
  REQUIRE(first.ok());  // the first one is always due
  CHECK(store::latest_checkpoint(f.db)->value().size == 3);
  f.append(2);
  auto receipt_cp = audit::sign_checkpoint(f.db, f.key, f.origin, audit::Persist::when_due);
  REQUIRE(receipt_cp.ok());
  CHECK(receipt_cp->size == 5);
  CHECK(store::latest_checkpoint(f.db)->value().size == 3);  // signed, not stored: not due yet
  auto proof = audit::proof_against(f.db, 4, *receipt_cp);
  REQUIRE(proof.ok());
  CHECK(proof->find(receipt_cp->note) != std::string::npos);
  CHECK(audit::proof_against(f.db, 5, *receipt_cp).error().code == "audit-no-checkpoint");
  // An auditor holding the receipt's checkpoint sees that the log only grew.
  f.append(1);
  REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin).ok());
  CHECK(store::latest_checkpoint(f.db)->value().size == 6);
  CHECK(f.verify(receipt_cp->note).ok());
  // Many records later it is due again and stored.
  f.append(static_cast<int>(audit::kCheckpointEveryRecords));
  REQUIRE(audit::sign_checkpoint(f.db, f.key, f.origin, audit::Persist::when_due).ok());
  CHECK(store::latest_checkpoint(f.db)->value().size == 6 + audit::kCheckpointEveryRecords);
}

TEST_CASE("audit log: verify across a log key rotation checks each checkpoint with the key of its era") {
  Fixture f;
  f.append(5);
  auto before = audit::sign_checkpoint(f.db, f.key, f.origin);
  REQUIRE(before.ok());
  // The rotation: from size 6 on the new key signs, the old one cosigns.
  auto fresh = note::generate(f.origin);
  REQUIRE(fresh.ok());
  f.append(1);
  auto first_new = audit::sign_checkpoint(f.db, *fresh, f.origin, audit::Persist::always, &f.key);
  REQUIRE(first_new.ok());
  CHECK(note::open(first_new->note, f.key.verifier()).ok());  // the cosignature
  CHECK(note::open(first_new->note, fresh->verifier()).ok());
  f.append(4);
  REQUIRE(audit::sign_checkpoint(f.db, *fresh, f.origin).ok());  // after the grace period: new key alone
  const keys::LogKeyHistory history{{f.key.verifier(), 0}, {fresh->verifier(), 6}};
  auto report = audit::verify_log(f.db, history, f.origin, before->note);
  REQUIRE(report.ok());
  CHECK(report->checkpoints == 3);
  // One key alone does not do: the old key has not signed the last one,
  // the new key had not signed the first.
  CHECK(audit::verify_log(f.db, f.key.verifier(), f.origin, std::nullopt).error().code ==
        "audit-checkpoint-signature");
  CHECK(audit::verify_log(f.db, fresh->verifier(), f.origin, std::nullopt).error().code ==
        "audit-checkpoint-signature");
  // An era that starts too early: the old key's checkpoint of size 5 is
  // then held against the new key.
  const keys::LogKeyHistory early{{f.key.verifier(), 0}, {fresh->verifier(), 5}};
  CHECK(audit::verify_log(f.db, early, f.origin, std::nullopt).error().code == "audit-checkpoint-signature");
  // A trusted checkpoint is checked with the key of its size too.
  CHECK(audit::verify_log(f.db, history, f.origin, first_new->note).ok());
}
