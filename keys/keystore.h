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
#pragma once

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
};
// Public halves only; safe for any process. Errors: "key-unreadable".
Result<PublicKeys> public_keys(const DataDir& d);

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
