// Intake's duplicate step: a package whose signed manifest (the exact
// bytes of manifest.json) was accepted before is rejected with
// "duplicate-package", naming the case the first copy opened or joined.
// The same files under a new manifest are a new package.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "store/db.h"

namespace kp::workers {

// The key a manifest is remembered by: SHA-256 of its bytes, hex.
std::string manifest_key(const std::string& manifest_bytes);

// The refusal for a manifest accepted before, or nothing. Errors are
// operational (the store), never a verdict.
Result<std::optional<Error>> duplicate_of(store::Db& db, const std::string& manifest_key);

}  // namespace kp::workers
