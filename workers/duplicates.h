// Intake's duplicate step: a package whose signed manifest (the exact
// bytes of manifest.json) was accepted before is rejected with
// "duplicate-package", naming the case the first copy opened or joined.
// The same files under a new manifest are a new package, accepted; its case
// names the earlier cases with those files, for staff (files_key,
// store::same_files_as).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "store/db.h"
#include "workers/package.h"

namespace kp::workers {

// The key a manifest is remembered by: SHA-256 of its bytes, hex.
std::string manifest_key(const std::string& manifest_bytes);

// The key a package's files are remembered by: SHA-256 over the sorted
// SHA-256s (hex, one per line) of its files, names left out; none for a
// package without files.
std::optional<std::string> files_key(const std::map<std::string, SeenFile>& files);

// The refusal for a manifest accepted before, or nothing. Errors are
// operational (the store), never a verdict.
Result<std::optional<Error>> duplicate_of(store::Db& db, const std::string& manifest_key);

}  // namespace kp::workers
