// Upload rows; see uploads.h.
#include "store/uploads.h"

namespace kp::store {

namespace {
constexpr int64_t kDayMs = 86400000;  // the day of upload_days (migration 5)
}  // namespace

Result<int64_t> record_upload(Db& db, const Upload& u, AuditEvent audit, const std::optional<DayLimits>& limits) {
  KP_TRY(Transaction tx, Transaction::begin(db));
  if (limits) {
    KP_TRY(DayUsage usage, usage_on_day(db, u.municipality, u.received_ms));
    KP_ENSURE(usage.files + limits->pending_files + 1 <= limits->max_files, "limit-files-per-day",
              "the municipality reached its limit of " + std::to_string(limits->max_files) + " uploads today");
    KP_ENSURE(usage.bytes + limits->pending_bytes + u.size <= limits->max_bytes, "limit-bytes-per-day",
              "the municipality reached its daily upload volume");
  }
  KP_TRY(Stmt st, db.prepare("INSERT INTO uploads(municipality, person, name, partial_name, size, "
                             "sha256, received_ms, state) "
                             "VALUES (?,?,?,?,?,?,?,?)"));
  st.bind(1, u.municipality)
      .bind(2, u.person)
      .bind(3, u.name)
      .bind(4, u.partial_name)
      .bind(5, u.size)
      .bind(6, u.sha256)
      .bind(7, u.received_ms)
      .bind(8, u.state);
  Status s = st.run();
  if (!s.ok()) {
    if (s.error().code == "store-duplicate")
      return make_error("already-exists", u.name + " was uploaded before");
    return s.error();
  }
  int64_t id = db.last_insert_rowid();
  audit.object = "upload/" + std::to_string(id) + " " + u.name;
  KP_GUARD(append_audit(db, audit));
  KP_GUARD(tx.commit());
  return id;
}

Status delete_upload(Db& db, int64_t id) {
  KP_TRY(Stmt st, db.prepare("DELETE FROM uploads WHERE id = ?"));
  st.bind(1, id);
  return st.run();
}

Result<bool> upload_name_taken(Db& db, const std::string& municipality, const std::string& name) {
  KP_TRY(Stmt st, db.prepare("SELECT 1 FROM uploads WHERE municipality = ? AND name = ?"));
  st.bind(1, municipality).bind(2, name);
  return st.step();
}

Result<DayUsage> usage_on_day(Db& db, const std::string& municipality, int64_t ms) {
  KP_TRY(Stmt st,
         db.prepare("SELECT files, bytes FROM upload_days WHERE municipality = ? AND day = ?"));
  st.bind(1, municipality).bind(2, ms / kDayMs);
  KP_TRY(bool row, st.step());
  DayUsage u;
  if (row) {
    u.files = st.col_int(0);
    u.bytes = st.col_int(1);
  }
  return u;
}

Upload read_upload(const Stmt& st) {
  Upload u;
  u.id = st.col_int(0);
  u.municipality = st.col_text(1);
  u.person = st.col_text(2);
  u.name = st.col_text(3);
  u.partial_name = st.col_text(4);
  u.size = st.col_int(5);
  u.sha256 = st.col_text(6);
  u.received_ms = st.col_int(7);
  u.state = st.col_text(8);
  return u;
}

Result<std::vector<Upload>> list_uploads(Db& db) {
  KP_TRY(Stmt st,
         db.prepare(std::string("SELECT ") + kUploadColumns + " FROM uploads ORDER BY id"));
  std::vector<Upload> out;
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read_upload(st));
  }
}

Result<std::optional<Upload>> find_upload(Db& db, int64_t id) {
  KP_TRY(Stmt st, db.prepare(std::string("SELECT ") + kUploadColumns + " FROM uploads WHERE id = ?"));
  st.bind(1, id);
  KP_TRY(bool row, st.step());
  if (!row) return std::optional<Upload>();
  return std::optional<Upload>(read_upload(st));
}

}  // namespace kp::store
