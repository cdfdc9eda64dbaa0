// SHA-256 and hex, shared by uploads, receipts, manifests and the audit log.
//
// SHA-256 goes through OpenSSL's libcrypto (already linked through libssh),
// which uses the CPU's SHA extensions; libsodium's portable SHA-256 is
// several times slower on large uploads.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kp {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(const void* p, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  Sha256Digest finish();

 private:
  struct Deleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Deleter> ctx_;
};

Sha256Digest sha256(std::string_view data);

std::string to_hex(const uint8_t* p, std::size_t n);
inline std::string to_hex(const Sha256Digest& d) { return to_hex(d.data(), d.size()); }
inline std::string to_hex(std::string_view s) {
  return to_hex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
// Lowercase or uppercase hex to bytes; false on odd length or a non-hex digit.
bool from_hex(std::string_view hex, std::string& out);

}  // namespace kp
