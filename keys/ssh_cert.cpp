// OpenSSH user certificates on libsodium; see ssh_cert.h.
#include "keys/ssh_cert.h"

#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "common/atomic_file.h"
#include "common/base64.h"
#include "common/bytes.h"

namespace kp::keys {

namespace {

constexpr std::size_t kMaxField = 8192;

std::string ed25519_blob(const Ed25519Public& k) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.str("ssh-ed25519");
  w.str(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
  return std::string(out.begin(), out.end());
}

// A packed list of strings (principals) or of name/data pairs (options).
bool names_of(std::string_view packed, bool pairs, std::vector<std::string>& out) {
  Reader r(packed);
  while (r.ok() && !r.at_end()) {
    out.emplace_back(r.str(kMaxField));
    if (pairs) r.str(kMaxField);
  }
  return r.ok();
}

bool ed25519_key_of(std::string_view blob, Ed25519Public& out) {
  Reader r(blob);
  std::string_view type = r.str(64);
  std::string_view key = r.str(64);
  if (!r.at_end() || type != "ssh-ed25519" || key.size() != 32) return false;
  std::memcpy(out.data(), key.data(), 32);
  return true;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return in ? s.str() : std::string();
}

std::string ca_key_path(const DataDir& d) { return d.keys() + "/user-ca.key"; }
std::string ca_pub_path(const DataDir& d) { return d.public_keys() + "/user-ca.pub"; }

}  // namespace

Result<SshCert> verify_cert(std::string_view blob, const Ed25519Public& ca) {
  Reader r(blob);
  SshCert c;
  std::string_view type = r.str(64);
  r.str(kMaxField);  // nonce
  std::string_view key = r.str(64);
  c.serial = r.u64();
  c.type = r.u32();
  c.key_id = std::string(r.str(kMaxField));
  std::string_view principals = r.str(kMaxField);
  c.valid_after = r.u64();
  c.valid_before = r.u64();
  std::string_view critical = r.str(kMaxField);
  std::string_view extensions = r.str(kMaxField);
  r.str(kMaxField);  // reserved
  std::string_view signer = r.str(kMaxField);
  const std::size_t signed_len = blob.size() - r.remaining();
  std::string_view signature = r.str(kMaxField);
  KP_ENSURE(r.at_end() && type == kEd25519CertType && key.size() == 32, "cert-invalid",
            "not an ssh-ed25519 user certificate");
  std::memcpy(c.key.data(), key.data(), 32);
  KP_ENSURE(names_of(principals, false, c.principals) && names_of(critical, true, c.critical_options) &&
                names_of(extensions, true, c.extensions),
            "cert-invalid", "malformed principals or options");
  KP_ENSURE(ed25519_key_of(signer, c.ca), "cert-ca-unknown", "the certificate is not signed by an Ed25519 CA");
  KP_ENSURE(sodium_memcmp(c.ca.data(), ca.data(), 32) == 0, "cert-ca-unknown",
            "the certificate is signed by another CA");
  Reader s(signature);
  std::string_view alg = s.str(64);
  std::string_view sig = s.str(128);
  KP_ENSURE(s.at_end() && alg == "ssh-ed25519" && sig.size() == crypto_sign_BYTES, "cert-signature-invalid",
            "the certificate's signature is malformed");
  KP_ENSURE(crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                        reinterpret_cast<const unsigned char*>(blob.data()), signed_len,
                                        ca.data()) == 0,
            "cert-signature-invalid", "the CA's signature does not verify");
  return c;
}

Status check_cert(const SshCert& c, const std::string& principal, uint64_t now_s) {
  KP_ENSURE(c.type == kUserCert, "cert-not-user", "not a user certificate");
  bool named = false;
  for (const auto& p : c.principals) named = named || p == principal;
  KP_ENSURE(named, "cert-principal-wrong", "the certificate is not for " + principal);
  KP_ENSURE(now_s >= c.valid_after, "cert-not-yet-valid", "the certificate is not valid yet");
  KP_ENSURE(now_s < c.valid_before, "cert-expired", "the certificate expired");
  KP_ENSURE(c.critical_options.empty(), "cert-critical-option",
            "the certificate carries a critical option (" + c.critical_options.front() + ")");
  return ok_status();
}

std::string issue_cert(const std::array<uint8_t, 64>& ca_secret, const Ed25519Public& key, uint64_t serial,
                       const std::string& key_id, const std::string& principal, uint64_t valid_after,
                       uint64_t valid_before) {
  std::vector<uint8_t> out;
  Writer w(out);
  uint8_t nonce[32];
  randombytes_buf(nonce, sizeof nonce);
  w.str(kEd25519CertType);
  w.str(std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce));
  w.str(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  w.u64(serial);
  w.u32(kUserCert);
  w.str(key_id);
  std::vector<uint8_t> principals;
  Writer(principals).str(principal);
  w.str(std::string_view(reinterpret_cast<const char*>(principals.data()), principals.size()));
  w.u64(valid_after);
  w.u64(valid_before);
  w.str("");  // no critical options
  w.str("");  // no extensions: SFTP needs none (no pty, no forwarding)
  w.str("");  // reserved
  Ed25519Public ca{};
  crypto_sign_ed25519_sk_to_pk(ca.data(), ca_secret.data());
  w.str(ed25519_blob(ca));
  uint8_t sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, out.data(), out.size(), ca_secret.data());
  std::vector<uint8_t> sigblob;
  Writer s(sigblob);
  s.str("ssh-ed25519");
  s.str(std::string_view(reinterpret_cast<const char*>(sig), sizeof sig));
  w.str(std::string_view(reinterpret_cast<const char*>(sigblob.data()), sigblob.size()));
  return std::string(out.begin(), out.end());
}

Result<Ed25519Public> parse_ed25519_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  auto sp = line.find(' ');
  KP_ENSURE(sp != std::string_view::npos, "key-unreadable", "not an OpenSSH public key line");
  std::string_view type = line.substr(0, sp);
  std::string_view rest = line.substr(sp + 1);
  std::string_view b64 = rest.substr(0, rest.find(' '));
  KP_ENSURE(type == "ssh-ed25519", "key-type-unsupported",
            "only ssh-ed25519 keys get a certificate (make one with ssh-keygen -t ed25519)");
  uint8_t raw[128];
  std::size_t n = 0;
  KP_ENSURE(b64.size() < 200 && base64_decode(b64, raw, sizeof raw, n), "key-unreadable", "bad base64");
  Ed25519Public k{};
  KP_ENSURE(ed25519_key_of(std::string_view(reinterpret_cast<const char*>(raw), n), k), "key-unreadable",
            "not an ssh-ed25519 key");
  return k;
}

std::string cert_line(const std::string& blob, const std::string& comment) {
  return std::string(kEd25519CertType) + " " +
         base64_encode(reinterpret_cast<const uint8_t*>(blob.data()), blob.size()) + " " + comment + "\n";
}

Status ensure_user_ca(const DataDir& d) {
  if (::access(ca_key_path(d).c_str(), F_OK) == 0 && ::access(ca_pub_path(d).c_str(), F_OK) == 0)
    return ok_status();
  std::array<uint8_t, 64> sk{};
  Ed25519Public pk{};
  crypto_sign_keypair(pk.data(), sk.data());
  std::string secret = base64_encode(sk.data(), sk.size()) + "\n";
  sodium_memzero(sk.data(), sk.size());
  Status s = write_file_atomic(ca_key_path(d), secret, 0600);
  sodium_memzero(secret.data(), secret.size());
  KP_GUARD(s);
  const std::string blob = ed25519_blob(pk);
  return write_file_atomic(ca_pub_path(d),
                           "ssh-ed25519 " + base64_encode(reinterpret_cast<const uint8_t*>(blob.data()), blob.size()) +
                               " knooppunt-user-ca\n",
                           0644);
}

Result<std::array<uint8_t, 64>> load_user_ca_secret(const DataDir& d) {
  std::string text = read_text(ca_key_path(d));
  KP_ENSURE(!text.empty(), "user-ca-missing", "no user CA at " + ca_key_path(d) + " (made by `knooppunt init`)");
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::array<uint8_t, 64> sk{};
  std::size_t n = 0;
  bool ok = base64_decode(text, sk.data(), sk.size(), n) && n == sk.size();
  sodium_memzero(text.data(), text.size());
  KP_ENSURE(ok, "user-ca-missing", "the user CA key does not read");
  return sk;
}

Result<Ed25519Public> load_user_ca_public(const DataDir& d) {
  std::string text = read_text(ca_pub_path(d));
  KP_ENSURE(!text.empty(), "user-ca-missing", "no user CA at " + ca_pub_path(d) + " (made by `knooppunt init`)");
  auto k = parse_ed25519_line(text);
  KP_ENSURE(k.ok(), "user-ca-missing", "the user CA's public key does not read");
  return *k;
}

}  // namespace kp::keys
