// Worker outputs: every file a worker produces is first written (and, where
// it carries a decision, fsynced) under DATA/work, named after what it
// belongs to; after the decision commits it is renamed into place without
// replacing anything. A crash between the two leaves the work file, and the
// worker's start-up moves it again -- so an output is placed exactly once.
#pragma once

#include <set>
#include <string>

#include "common/datadir.h"
#include "common/result.h"
#include "store/audit_events.h"
#include "store/uploads.h"

namespace kp::workers {

// DATA/work/<stem><suffix>; `stem` is the worker's own ("17", "s4").
std::string work_path(const DataDir& d, const std::string& stem, const char* suffix);

// Writes `data` to `path` (0600, replacing a stale work file), fsynced when `sync`.
Status write_work_file(const std::string& path, const std::string& data, bool sync = true);

// Removes a work file of a step that did not commit. It is written again
// by the next try, so a failure only leaves a stale file: logged
// (worker.discard_failed), not an error. A file that is not there is fine.
void discard_work_file(const std::string& path);

// What place() found.
enum class Placement {
  placed,        // renamed into `dir` now (and the directory fsynced)
  already_there, // a file of that name was there: the work file was dropped
  gone,          // no work file: placed before
};

// Directories whose renames still need an fsync before a placement in them
// may be recorded. Several placements of one decision share them: the
// first fsync commits the file system's journal with all their renames,
// and the others then find nothing left to do (one journal commit per
// package instead of one per file).
class DirSyncs {
 public:
  void add(const std::string& dir) { dirs_.insert(dir); }
  // fsyncs every directory added; the first failure is returned.
  Status flush();

 private:
  std::set<std::string> dirs_;
};

// Moves `work_file` into `dir` as `name` unless a file of that name is
// there already, and fsyncs `dir` (or, with `later`, adds it there for the
// caller to flush), so a caller may record the placement.
// Errors ("io-failed" and the confinement layer's): nothing is recorded
// as placed; the work file stays and a later try places it.
Result<Placement> place(const std::string& work_file, const std::string& dir, const std::string& name,
                        DirSyncs* later = nullptr);

// The error of a placement, if any, as a Status.
inline Status status_of(const Result<Placement>& r) { return r.ok() ? ok_status() : Status(r.error()); }

// An audit record of a worker step on upload or submission `u`: `actor`
// names the worker ("intake-worker"), the object is "<kind>/<id> <name>"
// with the file's size and SHA-256.
store::AuditEvent worker_event(const std::string& actor, const char* kind, const store::Upload& u,
                               const std::string& event, const std::string& outcome,
                               std::optional<std::string> reason);

}  // namespace kp::workers
