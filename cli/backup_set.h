// What `knooppunt backup` copies of a live data directory, and from where.
//
// The decision (README, "Backup and restore"): the database is copied
// first (store/backup.h, one commit), and the files are judged against that
// copy. Copied whole: the files at the top of the data directory (the
// settings file and whatever else lives there, never the live database,
// its -wal/-shm or serve.lock), DATA/keys and DATA/public. Of the data
// folders (boxes, queue, quarantine, outgoing, work) only the files the
// database copy refers to are copied: a file that appeared after the copy
// (an upload committed later, its receipt, its queue entry) is left out,
// because the copied database does not know it, and DATA/audit is written
// anew from the copied database (its checkpoint, tiles and daily exports),
// so it never runs ahead of the records. A referenced file is looked for
// where the database's state puts it and then where the next step of its
// life moves it (an upload still in partial/, a queue entry still in
// DATA/work, an upload rejected after the copy and now in quarantine); it
// is copied to the first of these places the restored directory's own
// recovery accepts. A file that is nowhere (a retention sweep or an
// acknowledgement moved it on after the database was copied) makes the
// backup start again with a fresh database copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/backup.h"

namespace kp::cli {

// One place a file may be found in the live directory (relative path) and
// where the backup puts it.
struct Candidate {
  std::string from;
  std::string to;
};

// A file the database copy refers to.
struct FileRef {
  std::string what;  // "upload/12 signal.age", for messages
  std::vector<Candidate> candidates;
  bool required = true;
  std::optional<int64_t> size;         // as the database recorded it
  std::optional<std::string> sha256;   // lowercase hex, as the database recorded it
};

// The files `rows` refer to. Error "backup-unsafe-name" when a row's name
// is not one safe path component or its municipality code is not valid
// (defensive: the gateway never stores such names).
Result<std::vector<FileRef>> file_refs(const std::vector<store::StoredFile>& rows);

// The folders every restored data directory has, relative to its root,
// with the box folders of `municipalities`.
std::vector<std::string> standard_folders(const std::vector<std::string>& municipalities);

}  // namespace kp::cli
