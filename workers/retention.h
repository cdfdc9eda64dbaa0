// The retention sweeper: deletes what has been kept long enough (GDPR:
// keep no longer than needed) and audits each deletion once.
//
// Every worker sweeps once at start and then every retention_sweep_interval
// (`knooppunt retention sweep` runs one sweep by hand). A sweep first
// finishes deletions a crash interrupted, then, for every expired item
// (policy/retention.h), marks it deleted together with its
// `retention.deleted` audit record in one transaction (store/retention.h)
// and only then unlinks its files and fsyncs their directories: the store
// never refers to a file that is gone, and a file whose row is gone is
// removed by the next sweep. Workers may sweep at the same time: the
// transaction that marks an item is the only one that audits it, and
// unlinking twice is harmless.
//
// Deleting means unlink(2). Files are not overwritten first: on journaling
// and copy-on-write file systems and on SSDs an overwrite does not reach
// the old blocks anyway, and every file swept here is ciphertext (age) or
// a signed public statement; the keys that open them are what protect the
// content, and they never leave DATA/keys.
//
// Never deleted, whatever their age: an upload that is not processed, a
// case's package while the case is queued or taken, and anything not yet
// placed (a rejected upload still in the inbox, a queue file still in
// DATA/work, an outbox item the municipality has not acknowledged).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/datadir.h"
#include "common/result.h"
#include "policy/retention.h"
#include "store/db.h"
#include "store/retention.h"

namespace kp::workers {

// The files an item's deletion removes, relative to the data directory, in
// the order they are removed. Empty when the item's names are not safe
// single components or its municipality code is not valid (defensive: the
// item is then never deleted).
std::vector<std::string> retention_files(const store::RetentionItem& item);

// An item with its due time, for listings.
struct ScheduledItem {
  store::RetentionItem item;
  int64_t due_ms = 0;
};
// Every item whose clock runs, with its due time, soonest first.
Result<std::vector<ScheduledItem>> retention_schedule(store::Db& db,
                                                      const policy::RetentionPeriods& periods);

struct SweepReport {
  int deleted = 0;    // items this sweep marked deleted (and audited)
  int finished = 0;   // deletions of earlier sweeps whose files this sweep removed
  int waiting = 0;    // expired items left for later (not yet placed)
  int failed = 0;     // deletions whose files could not all be removed yet
  bool more = false;  // stopped at max_deletions with expired items left
};

// One sweep at `now_ms` (see the file comment), deleting at most
// `max_deletions` items (each is an fsynced transaction: a worker takes a
// backlog in slices so intake never waits long). `channel` names where it
// ran in the audit records ("worker" or "cli"). Errors are operational
// (store); a file that cannot be removed is logged and retried next sweep.
Result<SweepReport> sweep_retention(const DataDir& d, store::Db& db,
                                    const policy::RetentionPeriods& periods, int64_t now_ms,
                                    const std::string& channel,
                                    std::size_t max_deletions = SIZE_MAX);

// For the worker loop: sweeps at the first tick and then whenever
// retention_sweep_interval has passed (at the next tick when the last sweep
// stopped at its slice of kWorkerSlice deletions). The settings file is read at every
// sweep, so changed periods apply without a restart; a sweep with
// unreadable settings deletes nothing. Failures are logged, never fatal.
class RetentionTimer {
 public:
  static constexpr std::size_t kWorkerSlice = 100;
  explicit RetentionTimer(DataDir d) : data_(std::move(d)) {}
  void tick(store::Db& db, int64_t now_ms);

 private:
  DataDir data_;
  int64_t next_ms_ = 0;
};

}  // namespace kp::workers
