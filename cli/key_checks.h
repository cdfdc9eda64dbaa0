// Checks of key material named on the command line: age recipients and
// minisign public keys, before they are stored in the registry; the log's
// and the witnesses' note verifier keys, for the commands that check them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cli/args.h"
#include "common/result.h"
#include "keys/signed_note.h"

namespace kp::cli {

// An age X25519 recipient ("age1..."). Error: "recipient-invalid".
Status check_recipient(const std::string& recipient);

// Reads a minisign public key file and returns its text. Error: "key-unreadable".
Result<std::string> read_sign_key(const std::string& path);

// Reads a note verifier key file (the log key, a witness key).
Result<note::VerifierKey> read_verifier_key(const std::string& path);

// The witness keys of `--witness-key FILE[,FILE...]` and how many of them
// must have cosigned (`--quorum N`, default all of them). Error: "usage".
struct WitnessKeys {
  std::vector<note::VerifierKey> keys;
  std::size_t quorum = 0;
};
Result<WitnessKeys> witness_keys_of(const Args& a);

}  // namespace kp::cli
