// `knooppunt serve`: load and validate the settings, then run the gateway.
#include "cli/context.h"
#include "cli/handlers.h"
#include "common/settings.h"
#include "gateway/ssh_server.h"

namespace kp::cli {

int cmd_serve(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));  // refuses a directory `init` did not make
    KP_TRY(Settings s, load_settings(d.settings()));
    if (auto listen = a.get("--listen")) s.listen = *listen;
    if (auto http = a.get("--http")) s.http = *http;
    return gateway::serve(d, s);
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli
