// The duplicate step; see duplicates.h.
#include "workers/duplicates.h"

#include <algorithm>
#include <vector>

#include "common/digest.h"
#include "common/log.h"
#include "store/accepted_manifests.h"

namespace kp::workers {

std::string manifest_key(const std::string& manifest_bytes) {
  Sha256 h;
  h.update(manifest_bytes.data(), manifest_bytes.size());
  return to_hex(h.finish());
}

std::optional<std::string> files_key(const std::map<std::string, SeenFile>& files) {
  if (files.empty()) return std::nullopt;
  std::vector<std::string> hashes;
  for (const auto& [name, f] : files) hashes.push_back(f.sha256);
  std::sort(hashes.begin(), hashes.end());
  Sha256 h;
  for (const auto& x : hashes) {
    h.update(x.data(), x.size());
    h.update("\n", 1);
  }
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
