// Key rotation announcements: a short text statement, signed by the key
// that is being replaced, that names the new key. Whoever holds the old
// public key (a municipality, an auditor, a witness) can check the
// statement and so trust the new key without another channel.
//
//   knooppunt key rotation
//   key: hub                                   (hub, log or intake)
//   old key id: 3AC59A8E13221989               (minisign key id; log: note key id; intake: -)
//   old key: RWQ...                            (minisign base64 / note vkey / age recipient)
//   new key id: ...
//   new key: ...
//   valid from: 2026-12-07T02:00:00.000Z
//   old key accepted until: 2026-12-21T02:00:00.000Z
//   first checkpoint size: 1234                (log only)
//
// Signed as follows, published in DATA/public (the `/keys` folder of
// municipalities and auditors over SFTP):
//
//   hub     rotation-hub-NNNN.txt + .minisig     minisign, by the OLD hub key
//                                                (stock `minisign -V -P OLD -m FILE`)
//   intake  rotation-intake-NNNN.txt + .minisig  minisign, by the hub key of the time
//   log     rotation-log-NNNN.note               C2SP signed note by the OLD log key,
//                                                cosigned by the new one
//
// A log announcement also says from which checkpoint size on the new key
// signs: `audit verify` checks each checkpoint with the key of its size
// (log_key_history).
//
// Error codes: "announcement-malformed", "announcement-signature-invalid"
// (not signed by the given old key, or naming another old key),
// "announcement-chain-broken" (an announcement in DATA/public that does not
// follow from the one before).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/datadir.h"
#include "common/result.h"
#include "keys/minisign.h"
#include "keys/signed_note.h"

namespace kp::keys {

struct Announcement {
  std::string key;  // "hub", "log" or "intake"
  std::string old_id;
  std::string old_key;
  std::string new_id;
  std::string new_key;
  int64_t valid_from_ms = 0;
  int64_t grace_until_ms = 0;
  std::optional<uint64_t> first_size;  // log only
};

// The statement's text (each line ending in LF).
std::string announcement_text(const Announcement& a);
// Parses a statement. Errors: "announcement-malformed".
Result<Announcement> parse_announcement(std::string_view text);

// The published files of the next announcement of `kind`: "rotation-hub-0001.txt".
std::string next_announcement_name(const DataDir& d, std::string_view kind);
// Names of the published announcements (statement files, .txt and .note), sorted.
std::vector<std::string> announcement_names(const DataDir& d);

// Signs and publishes a hub or intake announcement with `signer` (two files).
// Returns the statement's file name.
Result<std::string> publish_minisign_announcement(const DataDir& d, const Announcement& a,
                                                  const minisign::SecretKey& signer);
// Signs (old, then new as cosigner) and publishes a log announcement.
Result<std::string> publish_log_announcement(const DataDir& d, const Announcement& a,
                                             const note::SignerKey& old_key, const note::SignerKey& new_key);

// Checks a statement signed with minisign against the old hub key, and that
// the statement names that key as the old one. Returns it.
Result<Announcement> verify_minisign_announcement(std::string_view text, std::string_view signature,
                                                  const minisign::PublicKey& old_key);
// Checks a log announcement (a signed note) against the old log key, and
// that it names that key as the old one (and a well-formed new key of the
// same name). Returns it.
Result<Announcement> verify_log_announcement(std::string_view note_text, const note::VerifierKey& old_key);

// The log keys in order with the first checkpoint size each signs, from
// the log announcements in DATA/public, each checked with the key before
// it; the last must be `current`. Without announcements: {current, 0}.
struct LogKeyEra {
  note::VerifierKey key;
  uint64_t from_size = 0;
};
using LogKeyHistory = std::vector<LogKeyEra>;
Result<LogKeyHistory> log_key_history(const DataDir& d, const note::VerifierKey& current);

}  // namespace kp::keys
