// The signed manifests intake accepted, by the SHA-256 of manifest.json:
// the same signed package uploaded again (under another name) is a
// duplicate, refused with the case the first copy opened or joined.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

struct AcceptedManifest {
  std::string case_id;
  int64_t upload_id = 0;
  int64_t accepted_ms = 0;
  std::optional<std::string> files_sha256;  // the files' key (workers/duplicates.h); none without files
};

Result<std::optional<AcceptedManifest>> find_accepted_manifest(Db& db, const std::string& sha256);

// Inside the verdict's transaction. A second insert of the same hash fails
// (the primary key), so two workers accepting two copies at once cannot
// both commit: the loser's upload is retried and then found a duplicate.
Status insert_accepted_manifest(Db& db, const std::string& sha256, const AcceptedManifest& m);

// The cases of the accepted packages whose files have the key `files_sha256`
// (other manifests, same files), oldest first.
Result<std::vector<std::string>> cases_with_files(Db& db, const std::string& files_sha256);

// The other cases with the same files as case `case_id`, oldest first.
Result<std::vector<std::string>> same_files_as(Db& db, const std::string& case_id);

}  // namespace kp::store
