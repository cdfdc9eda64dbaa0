// `knooppunt worker`: run the intake workers alone (more processes or
// machines sharing one data directory).
#include <csignal>

#include "cli/context.h"
#include "cli/handlers.h"
#include "cli/log_origin.h"
#include "common/settings.h"
#include "workers/worker.h"

namespace kp::cli {

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int cmd_worker(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(Settings settings, load_settings(d.settings()));
    KP_GUARD(apply_log_origin(d, settings));
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    return workers::run_worker(d, &g_stop);
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli
