// The key store in DATA/keys: the intake identity (age X25519, current and
// previous during a rotation grace period), the hub signing key (minisign)
// and the log key (signed-note, Ed25519). Private keys are files of mode
// 0600, read into sodium_malloc'd memory, and loaded only by worker
// processes and the commands that sign: the SSH-facing processes never call
// the load_* functions (privilege separation).
//
//   keys/intake.age            current intake identity (age-keygen format)
//   keys/intake.previous.age   previous identity during the grace period
//   keys/hub.minisign.key/.pub hub signing key
//   keys/log.note.key/.vkey    transfer-log checkpoint key
//
// The public halves are also published in DATA/public (directory 0755,
// files 0644), so that nothing outside the workers and the commands that
// sign ever reads an identity to learn a recipient:
//
//   public/intake.recipient    the current intake recipient (age1...)
//   public/hub.minisign.pub    the hub's minisign public key file
//   public/log.note.vkey       the transfer log's signed-note verifier key
//   public/log.origin          the transfer log's checkpoint origin line
//
// `init` and `keys rotate` write them; `serve` writes them once for a data
// directory made before they existed (publish_public_keys, in the
// privileged parent before anything is forked). When run as root, `init`
// hands the private keys to the worker user (hand_keys_to).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/datadir.h"
#include "common/result.h"
#include "keys/age.h"
#include "keys/minisign.h"
#include "keys/signed_note.h"

namespace kp::keys {

// Creates every missing key (used by `init`). Errors: "key-generation-failed".
Status ensure_keys(const DataDir& d);

struct PublicKeys {
  std::string intake_recipient;      // age1...
  std::string hub_minisign_public;   // minisign public key file text
  std::string hub_minisign_base64;   // the base64 line alone (for minisign -P)
  std::string log_verifier_key;      // signed-note vkey
  std::string log_origin;            // the checkpoints' origin line
};
// Public halves only, read from DATA/public alone (never an identity);
// safe for any process. Errors: "key-unreadable" (also when a file is
// missing: run `knooppunt serve` or `init` once to publish them).
Result<PublicKeys> public_keys(const DataDir& d);

// Derives the public halves from the private keys and writes DATA/public
// (each file atomically, 0644; the folder 0755). For `init`, `keys rotate`
// and `serve` on an older data directory: the caller may read private keys.
// Errors: "key-unreadable", "io-failed".
Status publish_public_keys(const DataDir& d);

// True when every file of DATA/public exists.
bool public_keys_published(const DataDir& d);

// Root only: makes the worker user `uid`:`gid` own the private keys (and the
// other files of DATA/keys but the SSH host keys, which the accepting
// parent reads), mode 0600, and DATA/keys root:`gid` mode 0710, so a worker
// running as that user can reach them and the session user cannot list or
// open anything there. Errors: "io-failed" naming the file.
Status hand_keys_to(const DataDir& d, uid_t uid, gid_t gid);

// Private keys (workers only). Errors: "key-unreadable".
Result<std::vector<age::Identity>> load_intake_identities(const DataDir& d);
Result<minisign::SecretKey> load_hub_key(const DataDir& d);
Result<note::SignerKey> load_log_key(const DataDir& d);

// Rotates the intake identity: the current one becomes the previous one
// (still opening packages until now + grace_ms), a new one is made. Error
// "rotation-in-progress" while an earlier previous identity is in its grace
// period. Returns the new recipient.
Result<std::string> rotate_intake(const DataDir& d, int64_t now_ms, int64_t grace_ms);

// Destroys the previous intake identity once its grace period has ended
// (overwritten, synced, unlinked). True when it destroyed one.
Result<bool> expire_previous_intake(const DataDir& d, int64_t now_ms);

// Changes whenever the intake identities change (workers reload on change).
std::string intake_generation(const DataDir& d);

// The origin line of the transfer log's checkpoints ("knooppunt/<hostname>/log" style);
// fixed at init in keys/log.origin.
Result<std::string> log_origin(const DataDir& d);

}  // namespace kp::keys
