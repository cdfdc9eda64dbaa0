// The store's part of `knooppunt backup`: a consistent copy of the live
// database, and the rows of that copy that name files in the data
// directory (cli/backup_set.h turns them into paths).
//
// The copy is made with SQLite's online backup API in one step: it reads
// every page inside one read transaction, so it is the database as of one
// commit, while the gateway and the workers go on writing (in WAL mode a
// reader never blocks a writer). Everything the backup copies afterwards
// is judged against this copy, never against the live database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

// Copies the live database `live` into a new database file `dest` (which
// must not exist), fsynced, in rollback-journal mode (a backup is one
// file; Db::open turns it back into WAL when it is restored). Errors:
// "store-backup-failed".
Status snapshot_database(Db& live, const std::string& dest);

// Gives back, in a copy made by snapshot_database, every claim a process
// of the live directory held (uploads and submissions being processed,
// notifications being sent): none of those processes exists for the copy,
// and a pid that happens to be alive where the copy is restored would keep
// its rows claimed for ever. They go back to waiting, as after a crash.
// Then switches the copy back to one file (the caller opened it with
// Db::open, which turns on WAL). Errors: store errors.
Status release_claims_of_copy(Db& copy);

// A row that names a file, with what the store knows of the file. Rows
// whose files retention deleted (purged_ms set) are not listed.
struct StoredFile {
  std::string source;  // "upload", "case", "reply", "outbox", "submission"
  int64_t id = 0;      // uploads, outbox items, submissions; a reply's upload id
  std::string key;     // a case's id
  std::string municipality;
  std::string name;                          // inbox / outbox / queue / outgoing name
  std::optional<std::string> partial_name;   // uploads, submissions
  std::string state;                         // uploads, submissions, cases
  std::string kind;                          // outbox items: receipt, sip, request, notice
  std::optional<int64_t> upload_id;          // cases, replies, outbox items
  std::optional<int64_t> submission_id;      // outbox items
  std::optional<int64_t> size;               // uploads, submissions
  std::optional<std::string> sha256;         // uploads, submissions
  bool placed = false;                       // outbox items; a submission's receipt
  bool acknowledged = false;                 // outbox items
  std::optional<std::string> archived_name;  // outbox items
};

// Every such row, in a fixed order. Errors: store errors.
Result<std::vector<StoredFile>> stored_files(Db& db);

// The database's schema version (PRAGMA user_version).
Result<int64_t> schema_version(Db& db);

// PRAGMA integrity_check; error "store-damaged" with SQLite's first complaint.
Status check_integrity(Db& db);

}  // namespace kp::store
