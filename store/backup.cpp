// The store's part of `knooppunt backup`; see backup.h.
#include "store/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/handles.h"
#include "store/claims.h"
#include "store/notifications.h"

namespace kp::store {

namespace {

Error backup_error(sqlite3* db, const std::string& what) {
  return make_error("store-backup-failed", what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// Runs `sql` on a raw connection (fixed text, no values).
Status exec_raw(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return backup_error(db, sql);
  return ok_status();
}

template <typename Read>
Status each_row(Db& db, const char* sql, std::vector<StoredFile>& out, Read read) {
  KP_TRY(Stmt st, db.prepare(sql));
  for (;;) {
    KP_TRY(bool row, st.step());
    if (!row) return ok_status();
    out.push_back(read(st));
  }
}

}  // namespace

Status snapshot_database(Db& live, const std::string& dest) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(dest.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  SqliteDb out(raw);
  if (rc != SQLITE_OK) return backup_error(raw, "cannot create " + dest);
  {
    SqliteBackup b(sqlite3_backup_init(out.get(), "main", live.raw(), "main"));
    if (!b) return backup_error(out.get(), "cannot start the backup");
    // -1: every page in one step, so one read transaction sees one commit.
    // A writer holding the lock makes the step busy; it is tried again
    // until the live database's busy budget would have run out.
    for (int tries = 0;; ++tries) {
      rc = sqlite3_backup_step(b.get(), -1);
      if (rc == SQLITE_DONE) break;
      if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries < 10000) {
        ::usleep(1000);
        continue;
      }
      return make_error("store-backup-failed", std::string("backup step: ") + sqlite3_errstr(rc));
    }
  }
  if (sqlite3_errcode(out.get()) != SQLITE_OK && sqlite3_errcode(out.get()) != SQLITE_DONE)
    return backup_error(out.get(), "backup");
  // One self-contained file: no -wal beside it.
  KP_GUARD(exec_raw(out.get(), "PRAGMA journal_mode=DELETE;"));
  out.reset();
  Fd fd(::open(dest.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0)
    return make_error("store-backup-failed", "cannot sync " + dest);
  return ok_status();
}

Status release_claims_of_copy(Db& copy) {
  const auto none_alive = [](int64_t) { return false; };
  KP_GUARD(release_dead(copy, ClaimTable::uploads, none_alive));
  KP_GUARD(release_dead(copy, ClaimTable::submissions, none_alive));
  KP_GUARD(release_dead_notification_claims(copy, none_alive));
  return copy.run_script("PRAGMA journal_mode=DELETE;");
}

Result<std::vector<StoredFile>> stored_files(Db& db) {
  std::vector<StoredFile> out;
  KP_GUARD(each_row(db,
                    "SELECT id, municipality, name, partial_name, state, size, sha256 FROM uploads "
                    "WHERE purged_ms IS NULL ORDER BY id",
                    out, [](const Stmt& s) {
                      StoredFile f;
                      f.source = "upload";
                      f.id = s.col_int(0);
                      f.municipality = s.col_text(1);
                      f.name = s.col_text(2);
                      f.partial_name = s.col_opt_text(3);
                      f.state = s.col_text(4);
                      f.size = s.col_int(5);
                      f.sha256 = s.col_text(6);
                      return f;
                    }));
  KP_GUARD(each_row(db,
                    "SELECT id, municipality, queue_name, state, upload_id FROM cases "
                    "WHERE purged_ms IS NULL ORDER BY id",
                    out, [](const Stmt& s) {
                      StoredFile f;
                      f.source = "case";
                      f.key = s.col_text(0);
                      f.municipality = s.col_text(1);
                      f.name = s.col_text(2);
                      f.state = s.col_text(3);
                      f.upload_id = s.col_int(4);
                      return f;
                    }));
  KP_GUARD(each_row(db,
                    "SELECT r.upload_id, c.municipality, r.queue_name, c.state FROM replies r "
                    "JOIN cases c ON c.id = r.case_id WHERE r.purged_ms IS NULL ORDER BY r.upload_id",
                    out, [](const Stmt& s) {
                      StoredFile f;
                      f.source = "reply";
                      f.id = s.col_int(0);
                      f.upload_id = s.col_int(0);
                      f.municipality = s.col_text(1);
                      f.name = s.col_text(2);
                      f.state = s.col_text(3);
                      return f;
                    }));
  KP_GUARD(each_row(db,
                    "SELECT id, municipality, name, kind, upload_id, submission_id, placed_ms IS NOT NULL, "
                    "acknowledged_ms IS NOT NULL, archived_name FROM outbox_items "
                    "WHERE purged_ms IS NULL ORDER BY id",
                    out, [](const Stmt& s) {
                      StoredFile f;
                      f.source = "outbox";
                      f.id = s.col_int(0);
                      f.municipality = s.col_text(1);
                      f.name = s.col_text(2);
                      f.kind = s.col_text(3);
                      f.upload_id = s.col_opt_int(4);
                      f.submission_id = s.col_opt_int(5);
                      f.placed = s.col_int(6) != 0;
                      f.acknowledged = s.col_int(7) != 0;
                      f.archived_name = s.col_opt_text(8);
                      return f;
                    }));
  KP_GUARD(each_row(db,
                    "SELECT id, name, partial_name, state, size, sha256, receipt_placed FROM submissions "
                    "ORDER BY id",
                    out, [](const Stmt& s) {
                      StoredFile f;
                      f.source = "submission";
                      f.id = s.col_int(0);
                      f.name = s.col_text(1);
                      f.partial_name = s.col_opt_text(2);
                      f.state = s.col_text(3);
                      f.size = s.col_int(4);
                      f.sha256 = s.col_text(5);
                      f.placed = s.col_int(6) != 0;
                      return f;
                    }));
  return out;
}

Result<int64_t> schema_version(Db& db) {
  KP_TRY(Stmt st, db.prepare("PRAGMA user_version"));
  KP_TRY(bool row, st.step());
  return row ? st.col_int(0) : 0;
}

Status check_integrity(Db& db) {
  KP_TRY(Stmt st, db.prepare("PRAGMA integrity_check"));
  KP_TRY(bool row, st.step());
  KP_ENSURE(row, "store-damaged", "integrity_check gave no answer");
  std::string first = st.col_text(0);
  KP_ENSURE(first == "ok", "store-damaged", "the database is damaged: " + first);
  return ok_status();
}

}  // namespace kp::store
