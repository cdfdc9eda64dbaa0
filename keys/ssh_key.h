// SSH public keys of accounts, and the gateway's SSH host keys.
//
// Account keys are checked once, when registered: ed25519, ECDSA, or RSA of
// at least 3072 bits; DSA and short RSA are refused as weak.
#pragma once

#include <libssh/libssh.h>

#include <string>
#include <vector>

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

// The public half of each host key in DIR, for `keys show`: what clients
// pin in known_hosts and what `ssh-keygen -l` prints for it.
struct HostKey {
  std::string type;         // "ssh-ed25519", "ssh-rsa"
  std::string base64;       // the public key blob
  int bits = 0;             // 256, 3072
  std::string fingerprint;  // "SHA256:..." (base64 without padding, as ssh-keygen)
  std::string label;        // "ED25519", "RSA", "ECDSA"
};
// Reads the private host keys (root or the operator). Errors: "key-unreadable".
Result<std::vector<HostKey>> host_keys(const std::string& keys_dir);

// "host" for port 22, else "[host]:port": a known_hosts host pattern.
std::string known_hosts_host(const std::string& host, int port);

}  // namespace kp::keys
