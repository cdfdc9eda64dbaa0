// `knooppunt init`: a fresh data directory with its settings file (every
// setting, its default, a comment), database, keys folder and host keys,
// and the public halves of the keys in DATA/public. As root it also makes
// the system users (common/sandbox.h) and hands the private keys to the
// worker user (keys/keystore.h, hand_keys_to).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/datadir.h"
#include "common/sandbox.h"
#include "common/settings.h"
#include "keys/keystore.h"
#include "keys/saml_sp_key.h"
#include "keys/ssh_cert.h"
#include "keys/ssh_key.h"
#include "store/db.h"

namespace kp::cli {

int cmd_init(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_ENSURE(::access(d.settings().c_str(), F_OK) != 0, "already-exists",
              d.root + " is already a knooppunt data directory");
    ::mkdir(d.root.c_str(), 0700);
    for (const auto& dir : {d.root, d.keys(), d.boxes(), d.queue(), d.queue_payloads(), d.quarantine(), d.outgoing(), d.outgoing_partial(), d.audit()})
      KP_GUARD(ensure_dir(dir));
    KP_GUARD(keys::ensure_host_keys(d.keys()));
    // The log's origin, fixed now: --log-origin, else derived from
    // --host-name (else the machine's name); both are kept in the settings.
    const std::string host_name = a.get_or("--host-name", "");
    const std::string origin = a.get_or("--log-origin", keys::default_log_origin(
                                                            host_name.empty() ? keys::machine_host_name() : host_name));
    KP_ENSURE(note::valid_key_name(origin), "usage", "--log-origin \"" + origin + "\" cannot name a log");
    KP_GUARD(keys::ensure_keys(d, origin));
    KP_GUARD(keys::publish_public_keys(d));
    KP_GUARD(keys::ensure_saml_sp_key(d));
    KP_GUARD(keys::ensure_user_ca(d));
    if (::geteuid() == 0) {
      KP_GUARD(sandbox::ensure_system_users());
      KP_TRY(auto worker, sandbox::lookup_user(sandbox::kWorkerUser));
      KP_ENSURE(worker, "user-create-failed", std::string("no user ") + sandbox::kWorkerUser);
      KP_GUARD(keys::hand_keys_to(d, worker->uid, worker->gid));
    }
    KP_TRY(store::Db db, store::Db::open(d.db()));
    // The settings file is written last: its presence marks a complete init.
    std::string tmp = d.settings() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      std::string text = default_settings_file();
      auto set = [&](const std::string& key, const std::string& value) {
        const std::string line = "\n" + key + " = \n";
        if (!value.empty() && text.find(line) != std::string::npos)
          text.replace(text.find(line), line.size(), "\n" + key + " = " + value + "\n");
      };
      set("host_name", host_name);
      set("log_origin", a.get("--log-origin") ? origin : "");
      out << text;
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
