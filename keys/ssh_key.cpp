// SSH key checks and host key generation; see ssh_key.h.
#include "keys/ssh_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/handles.h"

namespace kp::keys {

namespace {

// Bits of an RSA modulus, read from the public key blob (string "ssh-rsa",
// mpint e, mpint n); libssh 0.10 does not export ssh_key_size.
int rsa_bits(const std::string& blob_base64) {
  std::string blob(blob_base64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(blob.data()), blob.size(),
                        blob_base64.data(), blob_base64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return 0;
  Reader r(reinterpret_cast<const uint8_t*>(blob.data()), len);
  (void)r.str(64);
  (void)r.str(16384);
  std::string_view n = r.str(16384);
  if (!r.ok()) return 0;
  while (!n.empty() && n.front() == '\0') n.remove_prefix(1);
  if (n.empty()) return 0;
  int bits = static_cast<int>(n.size()) * 8;
  for (unsigned char top = static_cast<unsigned char>(n.front()); !(top & 0x80); top <<= 1) --bits;
  return bits;
}

}  // namespace

Result<store::SshKeyRecord> describe_ssh_key(ssh_key key) {
  store::SshKeyRecord r;
  r.key_type = ssh_key_type_to_char(ssh_key_type(key)) ? ssh_key_type_to_char(ssh_key_type(key)) : "";
  char* b64 = nullptr;
  KP_ENSURE(ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK, "key-unreadable", "cannot export key");
  SshCString owned_b64(b64);
  r.key_base64 = b64;
  unsigned char* hash = nullptr;
  size_t hlen = 0;
  KP_ENSURE(ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0,
            "key-unreadable", "cannot hash key");
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
  ssh_clean_pubkey_hash(&hash);
  KP_ENSURE(fp != nullptr, "key-unreadable", "cannot fingerprint key");
  SshCString owned_fp(fp);
  r.fingerprint = fp;
  return r;
}

Result<store::SshKeyRecord> read_ssh_public_key(const std::string& path) {
  ssh_key raw = nullptr;
  KP_ENSURE(ssh_pki_import_pubkey_file(path.c_str(), &raw) == SSH_OK, "key-unreadable",
            "cannot read an SSH public key from " + path);
  SshKey key(raw);
  enum ssh_keytypes_e type = ssh_key_type(raw);
  KP_TRY(store::SshKeyRecord rec, describe_ssh_key(raw));
  switch (type) {
    case SSH_KEYTYPE_ED25519:
    case SSH_KEYTYPE_ECDSA_P256:
    case SSH_KEYTYPE_ECDSA_P384:
    case SSH_KEYTYPE_ECDSA_P521:
      break;
    case SSH_KEYTYPE_RSA:
      KP_ENSURE(rsa_bits(rec.key_base64) >= 3072, "key-weak",
                "RSA key of " + std::to_string(rsa_bits(rec.key_base64)) +
                    " bits; at least 3072 required");
      break;
    default:
      return make_error("key-weak", std::string("key type ") +
                                        (ssh_key_type_to_char(type) ? ssh_key_type_to_char(type) : "?") +
                                        " is not accepted; use ed25519");
  }
  return rec;
}

Status ensure_host_keys(const std::string& keys_dir) {
  struct Want {
    const char* file;
    enum ssh_keytypes_e type;
    int bits;
  };
  for (const Want& w : {Want{"ssh_host_ed25519_key", SSH_KEYTYPE_ED25519, 0},
                        Want{"ssh_host_rsa_key", SSH_KEYTYPE_RSA, 3072}}) {
    std::string path = keys_dir + "/" + w.file;
    if (::access(path.c_str(), F_OK) == 0) continue;
    ssh_key raw = nullptr;
    KP_ENSURE(ssh_pki_generate(w.type, w.bits, &raw) == SSH_OK, "key-generation-failed", path);
    SshKey key(raw);
    mode_t old = ::umask(077);
    int rc = ssh_pki_export_privkey_file(raw, nullptr, nullptr, nullptr, path.c_str());
    ::umask(old);
    KP_ENSURE(rc == SSH_OK, "key-generation-failed", "cannot write " + path);
    ::chmod(path.c_str(), 0600);
  }
  return ok_status();
}

Result<std::vector<HostKey>> host_keys(const std::string& keys_dir) {
  std::vector<HostKey> out;
  for (const char* file : {"ssh_host_ed25519_key", "ssh_host_rsa_key"}) {
    const std::string path = keys_dir + "/" + file;
    if (::access(path.c_str(), F_OK) != 0) continue;
    ssh_key raw = nullptr;
    KP_ENSURE(ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &raw) == SSH_OK,
              "key-unreadable", "cannot read the host key " + path);
    SshKey priv(raw);
    ssh_key pub_raw = nullptr;
    KP_ENSURE(ssh_pki_export_privkey_to_pubkey(raw, &pub_raw) == SSH_OK, "key-unreadable",
              "cannot derive the public half of " + path);
    SshKey pub(pub_raw);
    KP_TRY(store::SshKeyRecord rec, describe_ssh_key(pub_raw));
    HostKey k;
    k.type = rec.key_type;
    k.base64 = rec.key_base64;
    k.fingerprint = rec.fingerprint;
    switch (ssh_key_type(pub_raw)) {
      case SSH_KEYTYPE_ED25519: k.bits = 256, k.label = "ED25519"; break;
      case SSH_KEYTYPE_RSA: k.bits = rsa_bits(rec.key_base64), k.label = "RSA"; break;
      default: k.bits = 0, k.label = "ECDSA"; break;
    }
    out.push_back(std::move(k));
  }
  KP_ENSURE(!out.empty(), "key-unreadable", "no SSH host key in " + keys_dir);
  return out;
}

std::string known_hosts_host(const std::string& host, int port) {
  if (port == 22) return host;
  return "[" + host + "]:" + std::to_string(port);
}

}  // namespace kp::keys
