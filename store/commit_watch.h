// Whether anything was committed to the database since the last look,
// answered without a transaction.
//
// In WAL mode every connection to a database, in every process, shares the
// WAL-index (the "-shm" file), whose header every commit rewrites: the
// frame count, the checksums and, after a checkpoint restarted the log, the
// salts (SQLite's file-format document, "WAL-index format"; it is a stable
// format, since processes of different SQLite versions share it). The watch
// reads that header through the connection's own mapping (the VFS's
// xShmMap) and compares it with the copy it took last time. SQLite writes
// the header in two copies, the second first; a look that finds them
// different caught a commit in progress and counts as a change.
//
// The answer errs one way only: "changed" may be said of a header that
// changed for nothing that matters (any table, any connection, this one
// included, or a look that could not tell), never "unchanged" after a
// commit has finished. So a reader that takes a look before it queries, and
// reuses what it read for as long as the looks say "unchanged", never acts
// on a row older than the last commit before its look. The gateway uses it
// for the per-operation mandate check (gateway/principal).
#pragma once
#include <array>
#include <cstdint>
#include "store/db.h"

namespace kp::store {

class CommitWatch {
 public:
  explicit CommitWatch(Db& db) : db_(db) {}

  // True when a transaction committed since the previous call (the first
  // call always says true), or when the header cannot be read (not in WAL
  // mode, no shared memory): then every look says "changed".
  bool changed();

 private:
  static constexpr std::size_t kHeaderBytes = 48;  // one copy of WalIndexHdr

  Db& db_;
  bool mapped_ = false;  // tried to map once
  const volatile uint8_t* shm_ = nullptr;
  bool have_last_ = false;
  std::array<uint8_t, kHeaderBytes> last_{};
};

}  // namespace kp::store
