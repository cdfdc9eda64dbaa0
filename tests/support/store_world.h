// A small world in a real SQLite file for the store's unit tests: rows that
// cases, outbox items and replies reference (municipalities, a person, an
// upload) made through the store's own functions, the way the gateway and
// the intake worker make them. Shared so each store test need not repeat it.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "store/audit_events.h"
#include "store/db.h"
#include "store/intake.h"
#include "store/registry.h"
#include "store/uploads.h"
#include "tests/support/temp_dir.h"

namespace kp::testing {

// An audit record as the callers write them.
inline store::AuditEvent audit_event(const std::string& event, int64_t ts_ms = 1000) {
  store::AuditEvent e;
  e.ts_ms = ts_ms;
  e.event = event;
  e.outcome = "success";
  return e;
}

class StoreWorld {
 public:
  // Opens DIR/k.db with municipalities GM0363 and GM0599 and person "p".
  StoreWorld() : db_(open(dir_)) {
    REQUIRE(store::add_municipality(db(), {"GM0363", "Amsterdam", {}}, 1).ok());
    REQUIRE(store::add_municipality(db(), {"GM0599", "Rotterdam", {}}, 1).ok());
    REQUIRE(
        store::add_account(db(), {"p", "person", {}, {}, {}}, {"ssh-ed25519", "K", "SHA256:K"}, 1)
            .ok());
  }

  store::Db& db() { return *db_; }
  const std::string& dir() const { return dir_.path(); }

  // A received upload of person "p"; returns its id.
  int64_t upload(const std::string& municipality, const std::string& name,
                 int64_t received_ms = 100) {
    store::Upload u;
    u.municipality = municipality;
    u.person = "p";
    u.name = name;
    u.partial_name = name + ".part";
    u.size = 10;
    u.sha256 = std::string(64, '0');
    u.received_ms = received_ms;
    auto id = store::record_upload(db(), u, audit_event("sftp.upload"));
    REQUIRE(id.ok());
    return *id;
  }

  // An accepted signal with case `case_id` (state queued), the way the
  // intake worker records it: upload, claim, verdict with the new case.
  int64_t accepted_case(const std::string& case_id, const std::string& municipality,
                        double score = 1.0, int64_t created_ms = 200) {
    const int64_t upload_id = upload(municipality, case_id + ".age");
    auto claimed = store::claim_upload(db(), kPid, created_ms);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->has_value());
    REQUIRE((*claimed)->id == upload_id);
    store::Verdict v;
    v.upload_id = upload_id;
    v.pid = kPid;
    v.accepted = true;
    v.reason_code = "accepted";
    store::Case c;
    c.id = case_id;
    c.upload_id = upload_id;
    c.municipality = municipality;
    c.kind = "signal";
    c.provider_kvk = "12345678";
    c.provider_name = "Zorg BV";
    c.domain = "Wmo";
    c.score = score;
    c.score_parts = "{}";
    c.queue_name = case_id + ".age";
    c.created_ms = created_ms;
    v.new_case = c;
    REQUIRE(
        store::record_verdict(db(), v, {audit_event("intake.accepted", created_ms)}, [](int64_t) {
          return ok_status();
        }).ok());
    return upload_id;
  }

  static constexpr int64_t kPid = 4242;

 private:
  static store::Db open(const TempDir& dir) {
    auto db = store::Db::open(dir.path() + "/k.db");
    REQUIRE(db.ok());
    return std::move(*db);
  }

  TempDir dir_;
  std::optional<store::Db> db_;
};

}  // namespace kp::testing
