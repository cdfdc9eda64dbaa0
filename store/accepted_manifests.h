// The signed manifests intake accepted, by the SHA-256 of manifest.json:
// the same signed package uploaded again (under another name) is a
// duplicate, refused with the case the first copy opened or joined.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

struct AcceptedManifest {
  std::string case_id;
  int64_t upload_id = 0;
  int64_t accepted_ms = 0;
};

Result<std::optional<AcceptedManifest>> find_accepted_manifest(Db& db, const std::string& sha256);

// Inside the verdict's transaction. A second insert of the same hash fails
// (the primary key), so two workers accepting two copies at once cannot
// both commit: the loser's upload is retried and then found a duplicate.
Status insert_accepted_manifest(Db& db, const std::string& sha256, const AcceptedManifest& m);

}  // namespace kp::store
