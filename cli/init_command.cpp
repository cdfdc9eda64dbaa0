// `knooppunt init`: a fresh data directory with its settings file (every
// setting, its default, a comment), database, keys folder and host keys.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/datadir.h"
#include "common/settings.h"
#include "keys/keystore.h"
#include "keys/ssh_key.h"
#include "store/db.h"

namespace kp::cli {

int cmd_init(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_ENSURE(::access(d.settings().c_str(), F_OK) != 0, "already-exists",
              d.root + " is already a knooppunt data directory");
    ::mkdir(d.root.c_str(), 0700);
    for (const auto& dir : {d.root, d.keys(), d.boxes(), d.queue(), d.quarantine(), d.outgoing(), d.outgoing_partial(), d.audit()})
      KP_GUARD(ensure_dir(dir));
    KP_GUARD(keys::ensure_host_keys(d.keys()));
    KP_GUARD(keys::ensure_keys(d));
    KP_TRY(store::Db db, store::Db::open(d.db()));
    // The settings file is written last: its presence marks a complete init.
    std::string tmp = d.settings() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << default_settings_file();
      KP_ENSURE(out.good(), "io-failed", "cannot write " + tmp);
    }
    KP_ENSURE(::rename(tmp.c_str(), d.settings().c_str()) == 0, "io-failed", "cannot write " + d.settings());
    std::cout << "initialised " << d.root << "\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli
