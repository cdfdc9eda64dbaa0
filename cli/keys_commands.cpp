// `knooppunt keys show`: the public keys a municipality or auditor needs:
// the gateway's intake recipient (seal packages to it), the hub's minisign
// key (verify receipts and SIPs) and the log's signed-note key (verify
// checkpoints and proofs).
#include <Poco/JSON/Object.h>

#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "keys/keystore.h"

namespace kp::cli {

int cmd_keys_show(const Args& a) {
  auto d = data_dir_of(a);
  if (!d.ok()) return fail(d.error());
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

}  // namespace kp::cli
