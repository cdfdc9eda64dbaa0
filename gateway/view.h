// The virtual tree a principal sees over SFTP: a root holding a few areas,
// each backed by one host directory opened once, at login, as a directory
// fd. Nothing else exists for the session.
//
//   person  /inbox  (create new files only; scope upload)
//           /outbox (list, read, remove = acknowledge; scope download)
//           /keys   (list, read: DATA/public, the public keys and rotation announcements)
//   staff   /queue  (list, read: open cases)   /decided (list, read: declined and closed cases)
//           /outgoing (create new files, list, read receipts)
//   auditor /audit  (list, read)   /keys (as persons')
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/datadir.h"
#include "common/handles.h"
#include "common/result.h"
#include "gateway/principal.h"
#include "policy/mandate.h"

namespace kp::gateway {

struct Area {
  std::string name;
  std::optional<policy::Scope> scope;  // mandate scope needed (persons)
  bool can_read = false;               // open for reading
  bool can_create = false;             // upload new files
  bool can_acknowledge = false;        // remove = move to archive
  bool descending = false;             // listed in descending name order (the queue: highest rank first)
  // DATA/queue is listed twice for staff: /queue the open cases, /decided
  // the declined and closed ones (both read the same folder).
  enum class Cases { all, open, decided } cases = Cases::all;
  Fd dir;
  Fd partial;  // can_create: where uploads are written until committed
  Fd archive;  // can_acknowledge: where acknowledged files go
  Fd payloads; // the queue: payloads of two-part files (common/pair_file.h)
};

class View {
 public:
  // Opens the host directories of `p`'s areas. Only server-side paths
  // (from DataDir and the fixed principal) are used here.
  static Result<View> open(const DataDir& d, const Principal& p);

  Area* find(std::string_view name);
  // The one area new files are uploaded to (/inbox, /outgoing), if any.
  Area* upload_area();
  const std::vector<Area>& areas() const { return areas_; }

 private:
  std::vector<Area> areas_;
};

}  // namespace kp::gateway
