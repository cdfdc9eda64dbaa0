// Store rows for the retention tests: a data directory with a store, one
// municipality and one person, and uploads taken to a verdict the way a
// worker does (record_upload, claim_upload, record_verdict), with a case
// and a receipt item for accepted ones. Case decisions and acknowledgements
// are set with the same UPDATEs the staff commands and the SFTP remove make,
// so the tests need not wait for those commands.
#pragma once

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <string>

#include "common/datadir.h"
#include "common/settings.h"
#include "store/db.h"
#include "store/intake.h"
#include "store/outbox.h"
#include "store/registry.h"
#include "store/uploads.h"
#include "tests/support/temp_dir.h"

namespace kp::testing {

inline constexpr const char* kMuni = "GM0363";

struct RetentionRows {
  TempDir tmp;
  DataDir data{tmp.path()};
  std::optional<store::Db> db;
  int counter = 0;

  RetentionRows() {
    REQUIRE(ensure_box(data, kMuni).ok());
    for (const auto& dir : {data.queue(), data.quarantine(), data.root + "/work"})
      REQUIRE(ensure_dir(dir).ok());
    std::ofstream(data.settings()) << default_settings_file();
    auto opened = store::Db::open(data.db());
    REQUIRE(opened.ok());
    db.emplace(std::move(*opened));
    REQUIRE(store::add_municipality(*db, {kMuni, "Amsterdam", {}}, 1000).ok());
    store::Account person;
    person.id = "j.jansen";
    person.role = "person";
    REQUIRE(store::add_account(*db, person, {"ssh-ed25519", "AAAA", "SHA256:x"}, 1000).ok());
  }

  // An upload named `name`, received at `received_ms` and not claimed yet;
  // returns its id.
  int64_t received(const std::string& name, int64_t received_ms) {
    store::Upload u;
    u.municipality = kMuni;
    u.person = "j.jansen";
    u.name = name;
    u.partial_name = "p-" + name;
    u.size = 10;
    u.sha256 = std::string(64, 'a');
    u.received_ms = received_ms;
    store::AuditEvent e;
    e.event = "sftp.upload";
    e.outcome = "success";
    auto id = store::record_upload(*db, u, e);
    REQUIRE(id.ok());
    return *id;
  }

  // An upload named `name` with its verdict committed at `processed_ms`;
  // returns its id. Accepted uploads get case KP-2026-00000N.
  int64_t upload(const std::string& name, bool accepted, int64_t processed_ms) {
    const int64_t id = received(name, processed_ms - 10);
    auto claimed = store::claim_upload(*db, 4242, processed_ms - 5);
    REQUIRE(claimed.ok());
    REQUIRE(*claimed);
    REQUIRE((*claimed)->id == id);
    store::Verdict v;
    v.upload_id = id;
    v.pid = 4242;
    v.accepted = accepted;
    v.reason_code = accepted ? "accepted" : "package-not-tar";
    if (accepted) {
      store::Case c;
      c.id = case_id(id);
      c.upload_id = id;
      c.municipality = kMuni;
      c.kind = "signal";
      c.provider_kvk = "12345678";
      c.provider_name = "Zorg BV";
      c.domain = "Wmo";
      c.score_parts = "{}";
      c.queue_name = "rank-050-" + std::string(kMuni) + "-" + c.id + "-2026-11-22.age";
      c.created_ms = processed_ms;
      v.new_case = c;
    }
    store::AuditEvent done;
    done.ts_ms = processed_ms;
    done.event = "intake.receipt";
    done.outcome = "success";
    auto committed = store::record_verdict(*db, v, {done}, [&](int64_t) -> Status {
      store::OutboxItem item;
      item.municipality = kMuni;
      item.name = name + ".receipt.json";
      item.kind = "receipt";
      item.upload_id = id;
      item.created_ms = processed_ms;
      auto inserted = store::insert_outbox_item(*db, item);
      if (!inserted.ok()) return inserted.error();
      return store::insert_receipt(*db, id, "{}", "sig");
    });
    REQUIRE(committed.ok());
    return id;
  }

  static std::string case_id(int64_t upload_id) {
    return "KP-2026-" + std::string(6 - std::to_string(upload_id).size(), '0') +
           std::to_string(upload_id);
  }

  // Sets a case's state and when it was set.
  void set_case_state(const std::string& id, const std::string& state, int64_t when_ms) {
    auto st = db->prepare("UPDATE cases SET state = ?, state_ms = ? WHERE id = ?");
    REQUIRE(st.ok());
    st->bind(1, state).bind(2, when_ms).bind(3, id);
    REQUIRE(st->run().ok());
  }

  // Records the municipality's acknowledgement of outbox item `name`.
  void acknowledge(const std::string& name, int64_t when_ms) {
    REQUIRE(store::record_acknowledgement(*db, kMuni, name, name, when_ms).ok());
  }

  // Creates a file (and nothing else) at `rel` below the data directory.
  void touch(const std::string& rel) {
    std::ofstream(data.root + "/" + rel) << "sealed bytes";
    REQUIRE(present(rel));
  }
  bool present(const std::string& rel) const {
    struct stat st;
    return ::stat((data.root + "/" + rel).c_str(), &st) == 0;
  }

  std::string box(const std::string& sub) const {
    return "boxes/" + std::string(kMuni) + "/" + sub;
  }

  int64_t audit_count(const std::string& event) {
    auto events = store::list_audit(*db, event);
    REQUIRE(events.ok());
    return static_cast<int64_t>(events->size());
  }
};

}  // namespace kp::testing
