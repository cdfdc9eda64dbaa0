// Unit tests for keys/ssh_cert.h: certificates we issue verify with our CA
// and are refused with another CA, after tampering, for another principal,
// outside their validity, with a critical option; key lines parse.
#include "keys/ssh_cert.h"

#include <doctest/doctest.h>
#include <sodium.h>

#include "common/base64.h"
#include "common/bytes.h"

using namespace kp;
using namespace kp::keys;

namespace {

struct Ca {
  std::array<uint8_t, 64> sk{};
  Ed25519Public pk{};
  Ca() { crypto_sign_keypair(pk.data(), sk.data()); }
};

Ed25519Public user_key() {
  Ca k;
  return k.pk;
}

std::string code_of(const Result<SshCert>& r) { return r.ok() ? "" : r.error().code; }

}  // namespace

TEST_CASE("ssh cert: issued certificates verify and carry what was asked") {
  Ca ca;
  auto key = user_key();
  std::string blob = issue_cert(ca.sk, key, 7, "eh-1 GM0001", "eh-1@GM0001", 100, 200);
  auto c = verify_cert(blob, ca.pk);
  REQUIRE(c.ok());
  CHECK(c->key == key);
  CHECK(c->serial == 7);
  CHECK(c->type == kUserCert);
  CHECK(c->key_id == "eh-1 GM0001");
  CHECK(c->principals == std::vector<std::string>{"eh-1@GM0001"});
  CHECK(check_cert(*c, "eh-1@GM0001", 150).ok());
  CHECK(check_cert(*c, "eh-1@GM0002", 150).error().code == "cert-principal-wrong");
  CHECK(check_cert(*c, "eh-1@GM0001", 200).error().code == "cert-expired");
  CHECK(check_cert(*c, "eh-1@GM0001", 99).error().code == "cert-not-yet-valid");
}

TEST_CASE("ssh cert: another CA, tampering and garbage are refused") {
  Ca ca, other;
  std::string blob = issue_cert(other.sk, user_key(), 1, "x", "p@GM0001", 0, 10);
  CHECK(code_of(verify_cert(blob, ca.pk)) == "cert-ca-unknown");
  std::string good = issue_cert(ca.sk, user_key(), 1, "x", "p@GM0001", 0, 10);
  std::string tampered = good;
  tampered[60] ^= 1;  // inside the certified key
  CHECK(code_of(verify_cert(tampered, ca.pk)) == "cert-signature-invalid");
  CHECK(code_of(verify_cert(good + "x", ca.pk)) == "cert-invalid");
  CHECK(code_of(verify_cert(good.substr(0, good.size() - 1), ca.pk)) == "cert-invalid");
  CHECK(code_of(verify_cert("", ca.pk)) == "cert-invalid");
}

TEST_CASE("ssh cert: a critical option is refused") {
  SshCert c;
  c.type = kUserCert;
  c.principals = {"p@GM0001"};
  c.valid_before = 10;
  c.critical_options = {"force-command"};
  CHECK(check_cert(c, "p@GM0001", 5).error().code == "cert-critical-option");
}

TEST_CASE("ssh cert: ed25519 key lines parse; other types are refused") {
  auto key = user_key();
  std::vector<uint8_t> blob;
  Writer w(blob);
  w.str("ssh-ed25519");
  w.str(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  std::string line = "ssh-ed25519 " + base64_encode(blob.data(), blob.size()) + " me@host\n";
  auto k = parse_ed25519_line(line);
  REQUIRE(k.ok());
  CHECK(*k == key);
  CHECK(parse_ed25519_line("ssh-rsa AAAAB3NzaC1yc2E= x").error().code == "key-type-unsupported");
  CHECK(parse_ed25519_line("ssh-ed25519 !!!").error().code == "key-unreadable");
  CHECK(parse_ed25519_line("garbage").error().code == "key-unreadable");
  CHECK(cert_line("ab", "c").rfind("ssh-ed25519-cert-v01@openssh.com YWI= c", 0) == 0);
}
