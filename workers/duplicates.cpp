// The duplicate step; see duplicates.h.
#include "workers/duplicates.h"

#include "common/digest.h"
#include "common/log.h"
#include "store/accepted_manifests.h"

namespace kp::workers {

std::string manifest_key(const std::string& manifest_bytes) {
  Sha256 h;
  h.update(manifest_bytes.data(), manifest_bytes.size());
  return to_hex(h.finish());
}

Result<std::optional<Error>> duplicate_of(store::Db& db, const std::string& key) {
  KP_TRY(auto earlier, store::find_accepted_manifest(db, key));
  if (!earlier) return std::optional<Error>();
  return std::optional<Error>(make_error(
      "duplicate-package", "this signed package was already accepted on " + log::format_iso8601(earlier->accepted_ms) +
                               " as case " + earlier->case_id + "; it is not queued again"));
}

}  // namespace kp::workers
