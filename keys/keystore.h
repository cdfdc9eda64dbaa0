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
//   keys/hub.previous.minisign.key/.pub, hub.previous.expires
//   keys/log.previous.note.key/.vkey, log.previous.expires
//                              the replaced hub / log key during its grace
//                              period after `keys rotate --hub` / `--log`
//
// The public halves are also published in DATA/public (directory 0755,
// files 0644), so that nothing outside the workers and the commands that
// sign ever reads an identity to learn a recipient:
//
//   public/intake.recipient    the current intake recipient (age1...)
//   public/hub.minisign.pub    the hub's minisign public key file
//   public/log.note.vkey       the transfer log's signed-note verifier key
//   public/log.origin          the transfer log's checkpoint origin line
//   public/hub.minisign.previous.pub, public/log.note.previous.vkey
//                              the replaced keys, during their grace period
//   public/rotation-*          signed rotation announcements (keys/announcement.h)
//
// `init` and `keys rotate` write them; `serve` writes them once for a data
// directory made before they existed (publish_public_keys, in the
// privileged parent before anything is forked). When run as root, `init`
// hands the private keys to the worker user (hand_keys_to).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/datadir.h"
#include "common/result.h"
#include "keys/age.h"
#include "keys/minisign.h"
#include "keys/signed_note.h"

namespace kp::keys {

// Creates every missing key (used by `init`); a new log gets `origin`
// (default: derived from the machine's name). Errors: "key-generation-failed".
Status ensure_keys(const DataDir& d, const std::string& origin = "");

struct PublicKeys {
  std::string intake_recipient;      // age1...
  std::string hub_minisign_public;   // minisign public key file text
  std::string hub_minisign_base64;   // the base64 line alone (for minisign -P)
  std::string log_verifier_key;      // signed-note vkey
  std::string log_origin;            // the checkpoints' origin line
  std::string hub_previous_base64;   // the replaced hub key during its grace period, else empty
  std::string log_previous_verifier_key;  // the replaced log key during its grace period, else empty
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

// The origin line of the transfer log's checkpoints ("<host name>/transfer-log"
// by default); fixed at init in keys/log.origin.
Result<std::string> log_origin(const DataDir& d);

// The machine's host name (gethostname), and the default origin derived
// from a host name: "<host>/transfer-log".
std::string machine_host_name();
std::string default_log_origin(const std::string& host_name);

// Names the log `origin`: writes keys/log.origin and makes a new log key of
// that name (the key's name is the origin receipt verify and witnesses
// use), then republishes DATA/public. Only for a log that has signed
// nothing yet: the caller checks. Errors: "settings-bad-value" (not a key
// name), "rotation-in-progress", "io-failed".
Status set_log_origin(const DataDir& d, const std::string& origin);

// Hub and log key rotation. The current key becomes the previous one until
// now + grace_ms, a new one is made and returned with the old one (to sign
// the announcement). Error "rotation-in-progress" while an earlier previous
// key is in its grace period. What the grace period means:
//   hub  the old public key stays published (public/hub.minisign.previous.pub)
//        and the workers still accept hub-signed submissions (`sip publish`,
//        `request send`) signed with it; receipts are signed with the new key.
//   log  every checkpoint is signed by the new key and cosigned by the old
//        one (public/log.note.previous.vkey), so witnesses, monitors and
//        receipt checks that hold the old key keep verifying while they switch.
// When it ends the previous secret key is overwritten and removed.
struct HubRotation {
  minisign::SecretKey old_key;
  minisign::SecretKey new_key;
};
Result<HubRotation> rotate_hub(const DataDir& d, int64_t now_ms, int64_t grace_ms);
struct LogRotation {
  note::SignerKey old_key;
  note::SignerKey new_key;
};
Result<LogRotation> rotate_log(const DataDir& d, int64_t now_ms, int64_t grace_ms);

// Destroys a previous hub or log key whose grace period ended (and its
// published public half). True when it destroyed one.
Result<bool> expire_previous_signing_keys(const DataDir& d, int64_t now_ms);

// The previous keys while their grace period lasts (workers), else nothing.
Result<std::optional<minisign::PublicKey>> load_previous_hub_public(const DataDir& d);
Result<std::optional<note::SignerKey>> load_previous_log_key(const DataDir& d);
// The end of a previous key's grace period, while one exists.
std::optional<int64_t> previous_hub_until(const DataDir& d);
std::optional<int64_t> previous_log_until(const DataDir& d);

// Changes whenever the hub or log keys change (workers reload on change).
std::string signing_generation(const DataDir& d);

}  // namespace kp::keys
