// `knooppunt serve`: load and validate the settings, then run the gateway.
#include "cli/context.h"
#include "cli/handlers.h"
#include "cli/log_origin.h"
#include "common/settings.h"
#include "gateway/ssh_server.h"
#include "keys/keystore.h"

namespace kp::cli {

int cmd_serve(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    {
      // Refuses a directory `init` did not make; closed again before serve
      // forks (see gateway::serve).
      KP_TRY(store::Db db, open_store(d));
    }
    KP_TRY(Settings s, load_settings(d.settings()));
    // A data directory made before DATA/public existed: publish the public
    // halves once, here, before anything is forked (the HTTP process reads
    // only those; see keys/keystore.h).
    if (!keys::public_keys_published(d)) KP_GUARD(keys::publish_public_keys(d));
    KP_GUARD(apply_log_origin(d, s));
    if (auto listen = a.get("--listen")) s.listen = *listen;
    if (auto http = a.get("--http")) s.http = *http;
    return gateway::serve(d, s);
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli
