// The log_origin setting; see log_origin.h.
#include "cli/log_origin.h"

#include <unistd.h>

#include "cli/context.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "keys/keystore.h"
#include "store/transfer_log.h"

namespace kp::cli {

Status apply_log_origin(const DataDir& d, const Settings& s) {
  if (s.log_origin.empty()) return ok_status();
  KP_TRY(std::string current, keys::log_origin(d));
  if (current == s.log_origin) return ok_status();
  {
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(uint64_t size, store::log_size(db));
    KP_TRY(auto checkpoint, store::latest_checkpoint(db));
    KP_ENSURE(size == 0 && !checkpoint, "log-origin-fixed",
              "the transfer log has " + std::to_string(size) + " records under the origin " + current +
                  ", which its signed checkpoints name; log_origin cannot change now (set it to " + current +
                  " or leave it empty)");
  }
  KP_GUARD(keys::set_log_origin(d, s.log_origin));
  if (::geteuid() == 0) {
    KP_TRY(auto worker, sandbox::lookup_user(sandbox::kWorkerUser));
    if (worker) KP_GUARD(keys::hand_keys_to(d, worker->uid, worker->gid));
  }
  log::event("keys.log_origin_set", {{"origin", s.log_origin}, {"was", current}});
  return ok_status();
}

}  // namespace kp::cli
