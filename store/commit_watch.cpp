// Commit detection through the shared WAL-index header; see commit_watch.h.
#include "store/commit_watch.h"

#include <sqlite3.h>

#include <atomic>

namespace kp::store {
namespace {

// The first region of the WAL-index, as SQLite maps it for this connection;
// nullptr when there is none (not WAL, or a VFS without shared memory).
const volatile uint8_t* map_wal_index(Db& db) {
  // Out of WAL mode a stale -shm file could still be mapped. A connection
  // in WAL mode stays there: leaving it needs the database to itself.
  auto mode = db.prepare("PRAGMA journal_mode");
  if (!mode.ok()) return nullptr;
  auto row = mode->step();
  if (!row.ok() || !*row || mode->col_view(0) != "wal") return nullptr;
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db.raw(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
      !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap)
    return nullptr;
  void volatile* region = nullptr;
  // 32 KiB: the region size SQLite itself uses; bExtend=0 maps only what
  // exists, so a database that never entered WAL mode yields nullptr.
  if (file->pMethods->xShmMap(file, 0, 32 * 1024, 0, &region) != SQLITE_OK) return nullptr;
  return static_cast<const volatile uint8_t*>(region);
}

}  // namespace

bool CommitWatch::changed() {
  if (!mapped_) {
    mapped_ = true;
    shm_ = map_wal_index(db_);
  }
  if (!shm_) return true;
  std::array<uint8_t, kHeaderBytes> first{}, second{};
  // The reverse of the writer's order (second copy, barrier, first copy),
  // as SQLite's own readers do.
  for (std::size_t i = 0; i < kHeaderBytes; ++i) first[i] = shm_[i];
  std::atomic_thread_fence(std::memory_order_acquire);
  for (std::size_t i = 0; i < kHeaderBytes; ++i) second[i] = shm_[kHeaderBytes + i];
  if (first != second) {
    have_last_ = false;  // a commit in progress: look again next time
    return true;
  }
  bool same = have_last_ && first == last_;
  last_ = first;
  have_last_ = true;
  return !same;
}

}  // namespace kp::store
