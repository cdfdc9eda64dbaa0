// Atomic uploads: bytes go to a partial file in the box's hidden partial
// folder; on commit they are fsynced, the upload row and its audit event are
// written in one transaction (the UNIQUE name claims the final name), and the
// partial file is renamed into the inbox without replacing anything.
//
// Order matters for kill -9: the row is committed before the rename, so a
// crash in between leaves a row whose partial file still exists;
// recover_uploads() finishes such renames at startup and removes partial
// files that no row refers to (uploads never acknowledged to any client).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/datadir.h"
#include "common/result.h"
#include "gateway/principal.h"
#include "gateway/view.h"
#include "store/uploads.h"

namespace kp::gateway {

// Names that clients use while a transfer is in progress (WinSCP's
// .filepart, others' .part/.tmp/.partial, editors' ~): such an upload is not
// registered when it is closed, only once it is renamed to a final name.
bool is_temporary_name(std::string_view name);

// Refuses a name that cannot be a new upload of `p`: used before (uploads
// are single-use per municipality; staff submissions per /outgoing), or, in
// /outgoing, a name the gateway keeps for its receipts. Errors:
// "already-exists", "name-reserved".
Status check_new_upload_name(Authority& auth, const Principal& p, const std::string& name);

struct CommitRequest {
  std::string partial_name;  // in inbox.partial
  std::string final_name;    // validated single component
  int64_t size = 0;
  std::string sha256_hex;
  std::string channel = "sftp";  // "cli" for submissions made on the gateway host
  // A person's upload: the daily limits, checked in the commit's transaction.
  std::optional<store::DayLimits> limits;
};

// Commits a closed, fsynced partial file as an upload (a person's) or a
// submission (staff's). Errors:
// "already-exists" (the name was used before), "io-failed",
// "limit-files-per-day" and "limit-bytes-per-day" (with req.limits).
Result<int64_t> commit_upload(Authority& auth, const Principal& p, Area& inbox,
                              const CommitRequest& req);

// Startup recovery over every box; logs what it did.
Status recover_uploads(const DataDir& d, store::Db& db);

}  // namespace kp::gateway
