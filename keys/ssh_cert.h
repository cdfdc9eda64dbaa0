// OpenSSH user certificates (PROTOCOL.certkeys) for persons who logged in
// with eHerkenning: ssh-ed25519-cert-v01@openssh.com only, signed by the
// gateway's own user CA (an Ed25519 key), on libsodium.
//
// libssh 0.10's server hands the offered certificate to us as a key of type
// ssh-ed25519-cert-v01@openssh.com (and verifies the client's signature
// with the certified key) but checks nothing of the certificate itself:
// CA signature, type, principals, validity and options are checked here.
//
//   keys/user-ca.key     the CA's secret key (base64 of libsodium's 64
//                        bytes, 0600); read only by the HTTP monitor
//   public/user-ca.pub   its public key, OpenSSH format ("ssh-ed25519 AAAA... knooppunt-user-ca")
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/datadir.h"
#include "common/result.h"

namespace kp::keys {

inline constexpr std::string_view kEd25519CertType = "ssh-ed25519-cert-v01@openssh.com";
inline constexpr uint32_t kUserCert = 1;

using Ed25519Public = std::array<uint8_t, 32>;

struct SshCert {
  Ed25519Public key{};  // the certified key
  uint64_t serial = 0;
  uint32_t type = 0;
  std::string key_id;
  std::vector<std::string> principals;
  uint64_t valid_after = 0, valid_before = 0;  // seconds since the epoch
  std::vector<std::string> critical_options;   // names
  std::vector<std::string> extensions;         // names
  Ed25519Public ca{};                          // the signing key
};

// Parses a certificate blob (the base64-decoded middle of an OpenSSH
// "-cert.pub" line) and verifies its signature against `ca`. Errors:
// "cert-invalid" (not a well-formed ed25519 certificate, or trailing
// bytes), "cert-ca-unknown" (signed by another key), "cert-signature-invalid".
Result<SshCert> verify_cert(std::string_view blob, const Ed25519Public& ca);

// Checks a verified certificate for a login as `principal` at `now_s`:
// a user certificate, `principal` among its principals, inside its
// validity, no critical option (we honour none, so any would be refused).
// Errors: "cert-not-user", "cert-principal-wrong", "cert-expired",
// "cert-not-yet-valid", "cert-critical-option".
Status check_cert(const SshCert& c, const std::string& principal, uint64_t now_s);

// Issues a user certificate for `key`; returns the blob.
std::string issue_cert(const std::array<uint8_t, 64>& ca_secret, const Ed25519Public& key, uint64_t serial,
                       const std::string& key_id, const std::string& principal, uint64_t valid_after,
                       uint64_t valid_before);

// The ed25519 public key of an OpenSSH public key line ("ssh-ed25519 AAAA...
// [comment]"). Errors: "key-unreadable", "key-type-unsupported".
Result<Ed25519Public> parse_ed25519_line(std::string_view line);

// "ssh-ed25519-cert-v01@openssh.com BASE64 COMMENT\n".
std::string cert_line(const std::string& blob, const std::string& comment);

// The user CA: made by `init` (no-op when present); the secret is loaded
// only by the HTTP monitor. Errors: "io-failed", "user-ca-missing".
Status ensure_user_ca(const DataDir& d);
Result<std::array<uint8_t, 64>> load_user_ca_secret(const DataDir& d);
Result<Ed25519Public> load_user_ca_public(const DataDir& d);

}  // namespace kp::keys
