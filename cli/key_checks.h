// Checks of key material named on the command line: age recipients and
// minisign public keys, before they are stored in the registry.
#pragma once

#include <string>

#include "common/result.h"

namespace kp::cli {

// An age X25519 recipient ("age1..."). Error: "recipient-invalid".
Status check_recipient(const std::string& recipient);

// Reads a minisign public key file and returns its text. Error: "key-unreadable".
Result<std::string> read_sign_key(const std::string& path);

}  // namespace kp::cli
