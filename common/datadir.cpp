// Data directory layout; see datadir.h.
#include "common/datadir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace kp {

Result<DataDir> resolve_data_dir(const std::string& flag_value) {
  std::string root = flag_value;
  if (root.empty()) {
    const char* env = std::getenv("KNOOPPUNT_DATA");
    if (env) root = env;
  }
  KP_ENSURE(!root.empty(), "usage", "no data directory: pass --data DIR or set KNOOPPUNT_DATA");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return DataDir{root};
}

Status ensure_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return ok_status();
  return make_error("io-failed", "cannot create " + path + ": " + std::strerror(errno));
}

Status ensure_box(const DataDir& d, const std::string& code) {
  KP_GUARD(ensure_dir(d.boxes()));
  KP_GUARD(ensure_dir(d.box(code)));
  for (const char* sub : {"inbox", "outbox", "archive", "partial"})
    KP_GUARD(ensure_dir(d.box(code) + "/" + sub));
  return ok_status();
}

}  // namespace kp
