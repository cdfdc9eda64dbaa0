// `knooppunt keys show`: the public keys a municipality or auditor needs:
// the gateway's intake recipient (seal packages to it), the hub's minisign
// key (verify receipts and SIPs) and the log's signed-note key (verify
// checkpoints and proofs).
#include <Poco/JSON/Object.h>

#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/settings.h"
#include "keys/keystore.h"
#include "store/audit_events.h"

namespace kp::cli {

int cmd_keys_show(const Args& a) {
  auto d = data_dir_of(a);
  if (!d.ok()) return fail(d.error());
  if (!keys::public_keys_published(*d)) {
    // A data directory made before DATA/public existed: this command runs
    // on the hub host as the operator, who may read the identity.
    Status published = keys::publish_public_keys(*d);
    if (!published.ok()) return fail(published.error());
  }
  auto keys = keys::public_keys(*d);
  if (!keys.ok()) return fail(keys.error());
  if (a.has("--json")) {
    Poco::JSON::Object o;
    o.set("intake_recipient", keys->intake_recipient);
    o.set("hub_minisign_public_key", keys->hub_minisign_base64);
    o.set("log_verifier_key", keys->log_verifier_key);
    o.stringify(std::cout);
    std::cout << "\n";
  } else {
    std::cout << "intake recipient (seal packages to):   " << keys->intake_recipient << "\n"
              << "hub minisign public key (receipts, SIPs): " << keys->hub_minisign_base64 << "\n"
              << "log verifier key (checkpoints, proofs):   " << keys->log_verifier_key << "\n";
  }
  return kExitOk;
}

int cmd_keys_rotate(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(store::Db db, open_store(d));
    KP_TRY(Settings s, load_settings(d.settings()));
    int64_t now = log::now_ms();
    int64_t grace = s.intake_rotation_grace_days * 86400000LL;
    KP_TRY(std::string recipient, keys::rotate_intake(d, now, grace));
    KP_GUARD(keys::publish_public_keys(d));
    if (::geteuid() == 0) {
      // The new identity goes to the worker user like the others (when
      // `init` made that user; an older data directory stays root's).
      KP_TRY(auto worker, sandbox::lookup_user(sandbox::kWorkerUser));
      struct stat st {};
      if (worker && ::stat(d.keys().c_str(), &st) == 0 && st.st_gid == worker->gid)
        KP_GUARD(keys::hand_keys_to(d, worker->uid, worker->gid));
    }
    store::AuditEvent e;
    e.event = "keys.rotate";
    e.outcome = "success";
    e.actor = "operator";
    e.role = "operator";
    e.object = "intake " + recipient;
    e.channel = "cli";
    KP_GUARD(store::append_audit(db, e).ok() ? ok_status() : make_error("audit-failed", "keys.rotate"));
    std::cout << "new intake recipient: " << recipient << "\n"
              << "the previous identity opens packages until " << log::format_iso8601(now + grace) << "\n";
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli
