// Unit tests for keys/saml_sp_key.h's unwrap: an AES key wrapped with
// RSA-OAEP (SHA-1, MGF1-SHA-1: xmlenc#rsa-oaep-mgf1p) to our certificate
// comes back; anything else is refused with one reason.
#include "keys/saml_sp_key.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <memory>

#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

// `plain` encrypted to the certificate `cert_pem` with `padding`.
std::string wrap(const std::string& cert_pem, const std::string& plain, int padding) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(cert);
  EVP_PKEY* pub = X509_get_pubkey(cert);
  X509_free(cert);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pub, nullptr);
  REQUIRE(EVP_PKEY_encrypt_init(ctx) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1);
  std::string out(1024, '\0');
  std::size_t n = out.size();
  REQUIRE(EVP_PKEY_encrypt(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                           reinterpret_cast<const unsigned char*>(plain.data()),
                           plain.size()) == 1);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pub);
  out.resize(n);
  return out;
}

// A data directory with the SP key pair, as `init` makes it.
void make_pair(const DataDir& d) {
  ::mkdir(d.keys().c_str(), 0700);
  ::mkdir(d.public_keys().c_str(), 0755);
  auto made = keys::ensure_saml_sp_key(d);
  REQUIRE_MESSAGE(made.ok(), made.error().message());
}

}  // namespace

TEST_CASE(
    "saml sp key: an AES key wrapped with RSA-OAEP to our certificate unwraps; nothing else does") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  make_pair(d);
  auto key = keys::saml_sp_private_key(d);
  auto cert = keys::saml_sp_certificate(d);
  REQUIRE(key.ok());
  REQUIRE(cert.ok());
  const std::string aes(32, '\x5a');
  auto back = keys::saml_sp_unwrap(*key, wrap(*cert, aes, RSA_PKCS1_OAEP_PADDING));
  REQUIRE(back.ok());
  CHECK(*back == aes);
  CHECK(keys::saml_sp_unwrap(*key, wrap(*cert, std::string(16, 'k'), RSA_PKCS1_OAEP_PADDING))
            ->size() == 16);
  // PKCS#1 v1.5 (xmlenc#rsa-1_5) is never taken; nor a key that is no AES key.
  CHECK(keys::saml_sp_unwrap(*key, wrap(*cert, aes, RSA_PKCS1_PADDING)).error().code ==
        "eh-decryption-failed");
  CHECK(keys::saml_sp_unwrap(*key, wrap(*cert, std::string(20, 'k'), RSA_PKCS1_OAEP_PADDING))
            .error()
            .code == "eh-decryption-failed");
  // Wrapped to another key pair: refused.
  testing::TempDir other_dir;
  DataDir other{other_dir.path()};
  make_pair(other);
  CHECK(keys::saml_sp_unwrap(*key,
                             wrap(*keys::saml_sp_certificate(other), aes, RSA_PKCS1_OAEP_PADDING))
            .error()
            .code == "eh-decryption-failed");
  CHECK(keys::saml_sp_unwrap(*key, "").error().code == "eh-decryption-failed");
  CHECK(keys::saml_sp_unwrap(*key, std::string(keys::kMaxWrappedKey + 1, 'x')).error().code ==
        "eh-decryption-failed");
}
