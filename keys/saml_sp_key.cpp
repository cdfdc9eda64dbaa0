// The SAML SP key pair (OpenSSL); see saml_sp_key.h.
#include "keys/saml_sp_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/atomic_file.h"

namespace kp::keys {

namespace {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

std::string bio_text(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

std::string saml_sp_key_path(const DataDir& d) { return d.keys() + "/saml-sp.key"; }
std::string saml_sp_cert_path(const DataDir& d) { return d.public_keys() + "/saml-sp.crt"; }

Status ensure_saml_sp_key(const DataDir& d, const std::string& common_name) {
  if (::access(saml_sp_key_path(d).c_str(), F_OK) == 0 && ::access(saml_sp_cert_path(d).c_str(), F_OK) == 0)
    return ok_status();
  Pkey key(EVP_RSA_gen(3072));
  KP_ENSURE(key, "crypto-failed", "cannot generate the SAML SP key");
  Cert cert(X509_new());
  KP_ENSURE(cert, "crypto-failed", "cannot make the SAML SP certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  randombytes_buf(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  KP_ENSURE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "crypto-failed",
            "cannot sign the SAML SP certificate");
  Bio kb(BIO_new(BIO_s_mem())), cb(BIO_new(BIO_s_mem()));
  KP_ENSURE(kb && cb && PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
                PEM_write_bio_X509(cb.get(), cert.get()) == 1,
            "crypto-failed", "cannot encode the SAML SP key pair");
  KP_GUARD(write_file_atomic(saml_sp_key_path(d), bio_text(kb.get()), 0600));
  if (::mkdir(d.public_keys().c_str(), 0755) != 0 && errno != EEXIST)
    return make_error("io-failed", "cannot create " + d.public_keys());
  return write_file_atomic(saml_sp_cert_path(d), bio_text(cb.get()), 0644);
}

Result<std::string> saml_sp_certificate(const DataDir& d) {
  std::ifstream in(saml_sp_cert_path(d));
  KP_ENSURE(in, "saml-sp-key-missing",
            "no SAML SP certificate at " + saml_sp_cert_path(d) + " (made by `knooppunt init`)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<std::string> saml_sp_private_key(const DataDir& d) {
  std::ifstream in(saml_sp_key_path(d));
  KP_ENSURE(in, "saml-sp-key-missing", "no SAML SP key at " + saml_sp_key_path(d) + " (made by `knooppunt init`)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<std::string> saml_sp_unwrap(const std::string& key_pem, std::string_view wrapped) {
  KP_ENSURE(!wrapped.empty() && wrapped.size() <= kMaxWrappedKey, "eh-decryption-failed", "no wrapped key");
  Bio in(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  Pkey key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr);
  KP_ENSURE(key, "crypto-failed", "the SAML SP key does not read");
  struct CtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  };
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  // RSA-OAEP with SHA-1 and MGF1-SHA-1 (xmlenc#rsa-oaep-mgf1p), no label;
  // never PKCS#1 v1.5 (rsa-1_5), whose padding check is an oracle.
  KP_ENSURE(ctx && EVP_PKEY_decrypt_init(ctx.get()) == 1 &&
                EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha1()) == 1 &&
                EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha1()) == 1,
            "crypto-failed", "cannot set up RSA-OAEP");
  std::string out(kMaxWrappedKey, '\0');
  std::size_t n = out.size();
  const auto* c = reinterpret_cast<const unsigned char*>(wrapped.data());
  int rc = EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, c, wrapped.size());
  KP_ENSURE(rc == 1 && (n == 16 || n == 24 || n == 32), "eh-decryption-failed",
            "the assertion's key is not encrypted to our key");
  out.resize(n);
  return out;
}

Result<std::string> certificate_base64(const std::string& pem) {
  Bio in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
  KP_ENSURE(cert, "crypto-failed", "not a PEM certificate");
  unsigned char* der = nullptr;
  int n = i2d_X509(cert.get(), &der);
  KP_ENSURE(n > 0, "crypto-failed", "cannot encode the certificate");
  std::string out(4 * ((static_cast<std::size_t>(n) + 2) / 3) + 1, '\0');
  int m = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), der, n);
  OPENSSL_free(der);
  out.resize(static_cast<std::size_t>(m));
  return out;
}

}  // namespace kp::keys
