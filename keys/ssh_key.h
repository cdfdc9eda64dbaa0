// SSH public keys of accounts, and the gateway's SSH host keys.
//
// Account keys are checked once, when registered: ed25519, ECDSA, or RSA of
// at least 3072 bits; DSA and short RSA are refused as weak.
#pragma once

#include <libssh/libssh.h>

#include <string>

#include "common/result.h"
#include "store/registry.h"

namespace kp::keys {

// Reads an OpenSSH public key file (one "type base64 comment" line).
// Errors: "key-unreadable", "key-weak" (naming type and size).
Result<store::SshKeyRecord> read_ssh_public_key(const std::string& path);

// Describes a key the client offered (type, base64 blob, SHA256 fingerprint).
Result<store::SshKeyRecord> describe_ssh_key(ssh_key key);

// Creates DIR/ssh_host_ed25519_key and DIR/ssh_host_rsa_key (3072 bit), 0600, if missing.
Status ensure_host_keys(const std::string& keys_dir);

}  // namespace kp::keys
