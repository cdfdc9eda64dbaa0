// Unit tests for audit/daily_export.h: one file per complete UTC day from
// the first record's day, never today, written once, in the export format.
#include "audit/daily_export.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/export.h"
#include "common/dates.h"
#include "store/audit_events.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

const int64_t kDay0 = 1763769600000;  // 2025-11-22T00:00:00Z

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("daily exports: complete days only, once each") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(ensure_dir(d.audit()).ok());
  auto db = store::Db::open(d.db());
  REQUIRE(db.ok());
  CHECK(*audit::publish_daily_exports(*db, d, kDay0 + 5 * kDayMs) == 0);  // no records: nothing
  store::AuditEvent e;
  e.event = "sftp.upload";
  e.outcome = "success";
  e.object = "upload/1 <script>x</script>.age";
  e.ts_ms = kDay0 + 10;
  REQUIRE(store::append_audit(*db, e).ok());
  e.ts_ms = kDay0 + 2 * kDayMs + 10;  // day 1 has nothing
  REQUIRE(store::append_audit(*db, e).ok());
  e.ts_ms = kDay0 + 3 * kDayMs + 10;  // "today" below
  REQUIRE(store::append_audit(*db, e).ok());

  int64_t now = kDay0 + 3 * kDayMs + 50;
  CHECK(*audit::publish_daily_exports(*db, d, now) == 3);
  std::string a = d.audit() + "/export-2025-11-22.jsonl";
  std::string b = d.audit() + "/export-2025-11-23.jsonl";
  std::string c = d.audit() + "/export-2025-11-24.jsonl";
  CHECK(std::filesystem::exists(a));
  CHECK(std::filesystem::exists(b));
  CHECK(std::filesystem::exists(c));
  CHECK_FALSE(std::filesystem::exists(d.audit() + "/export-2025-11-25.jsonl"));  // today
  auto events = store::list_audit(*db, std::nullopt);
  REQUIRE(events.ok());
  CHECK(slurp(a) == audit::record_json((*events)[0]) + "\n");
  CHECK(slurp(b).empty());
  CHECK(slurp(c) == audit::record_json((*events)[1]) + "\n");
  CHECK(slurp(a).find("\"index\":0") != std::string::npos);
  // Written once: a second round writes nothing and leaves the files alone.
  CHECK(*audit::publish_daily_exports(*db, d, now) == 0);
  // No temporary files are left behind.
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(d.audit())) {
    (void)f;
    ++files;
  }
  CHECK(files == 3);
  // The next day, today's file appears.
  CHECK(*audit::publish_daily_exports(*db, d, now + kDayMs) == 1);
}

TEST_CASE("daily exports: an unwritable folder is an error") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  auto db = store::Db::open(d.db());
  REQUIRE(db.ok());
  store::AuditEvent e;
  e.event = "x";
  e.outcome = "success";
  e.ts_ms = kDay0;
  REQUIRE(store::append_audit(*db, e).ok());
  auto r = audit::publish_daily_exports(*db, d, kDay0 + kDayMs);  // DATA/audit does not exist
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "io-failed");
}
