// The gateway's SAML service-provider key pair for eHerkenning: an RSA-3072
// key and a self-signed X.509 certificate (10 years) that the broker
// registers from our metadata (`knooppunt eherkenning metadata`).
//
//   keys/saml-sp.key      the private key (PEM, 0600); read only by the HTTP
//                         monitor (gateway/http_monitor.h), never by the
//                         sandboxed HTTP process that parses SAML responses
//   public/saml-sp.crt    the certificate (PEM, 0644), for the metadata
//
// `init` makes them; `ensure_saml_sp_key` is a no-op when both exist.
#pragma once

#include <string>
#include <string_view>

#include "common/datadir.h"
#include "common/result.h"

namespace kp::keys {

std::string saml_sp_key_path(const DataDir& d);
std::string saml_sp_cert_path(const DataDir& d);

// Generates the pair when the key is missing. Errors: "io-failed",
// "crypto-failed".
Status ensure_saml_sp_key(const DataDir& d, const std::string& common_name = "knooppunt");

// The certificate's PEM text. Errors: "saml-sp-key-missing" (run `init`).
Result<std::string> saml_sp_certificate(const DataDir& d);

// The private key's PEM text, for the HTTP monitor only (it signs our
// AuthnRequests). Errors: "saml-sp-key-missing".
Result<std::string> saml_sp_private_key(const DataDir& d);

// An encrypted assertion's key, wrapped with RSA-OAEP (xmlenc#rsa-oaep-mgf1p)
// to our certificate, unwrapped with the private key `key_pem`: 16, 24 or
// 32 bytes (an AES key). Done by the HTTP monitor only (op eh_unwrap): the
// sandboxed HTTP process parses the XML and decrypts the assertion with the
// AES key, and never holds the RSA key. Errors: "eh-decryption-failed" (not
// encrypted to our key, or not an AES key; one reason for every failure),
// "crypto-failed" (the key does not read).
inline constexpr std::size_t kMaxWrappedKey = 512;  // RSA-4096
Result<std::string> saml_sp_unwrap(const std::string& key_pem, std::string_view wrapped);

// The certificate's DER bytes in base64 (no PEM armour, no line breaks), as
// metadata's ds:X509Certificate wants it. Errors: "crypto-failed".
Result<std::string> certificate_base64(const std::string& pem);

}  // namespace kp::keys
