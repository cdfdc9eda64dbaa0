// C2SP tlog-cosignature/v1 with Ed25519; see cosignature.h.
#include "keys/cosignature.h"

#include <sodium.h>

#include "common/base64.h"

namespace kp::cosig {

namespace {
constexpr std::string_view kDash = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::size_t kSigBytes = 64;
}  // namespace

std::string message(std::string_view checkpoint_text, uint64_t timestamp) {
  return "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + std::string(checkpoint_text);
}

Result<std::string> cosign(std::string_view checkpoint_text, const note::SignerKey& key,
                           uint64_t timestamp) {
  KP_ENSURE(sodium_init() >= 0, "crypto-init-failed", "libsodium could not be initialised");
  KP_ENSURE(key.alg == note::kAlgCosignatureV1 && key.sk.valid() &&
                key.sk.size() == crypto_sign_SECRETKEYBYTES,
            "key-malformed", "not a cosigner key");
  KP_ENSURE(timestamp < (uint64_t{1} << 63), "cosignature-invalid", "timestamp out of range");
  KP_ENSURE(!checkpoint_text.empty() && checkpoint_text.back() == '\n', "note-malformed",
            "checkpoint text must end in a newline");
  const std::string msg = message(checkpoint_text, timestamp);
  uint8_t raw[4 + 8 + kSigBytes];
  for (int i = 0; i < 4; ++i) raw[i] = uint8_t(key.key_id >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i) raw[4 + i] = uint8_t(timestamp >> (56 - 8 * i));
  crypto_sign_detached(raw + 12, nullptr, reinterpret_cast<const unsigned char*>(msg.data()),
                       msg.size(), key.sk.data());
  return std::string(kDash) + key.name + " " + base64_encode(raw, sizeof raw) + "\n";
}

Result<uint64_t> verify(std::string_view note_text, const note::VerifierKey& key) {
  KP_ENSURE(sodium_init() >= 0, "crypto-init-failed", "libsodium could not be initialised");
  KP_ENSURE(key.alg == note::kAlgCosignatureV1, "key-malformed", "not a cosigner key");
  KP_TRY(note::Note n, note::parse(note_text));
  for (const note::NoteSignature& s : n.signatures) {
    if (s.name != key.name || s.key_id != key.key_id) continue;
    KP_ENSURE(s.sig.size() == 8 + kSigBytes, "cosignature-invalid",
              "cosignature by " + key.name + " is not a timestamp and an Ed25519 signature");
    uint64_t ts = 0;
    for (int i = 0; i < 8; ++i) ts = (ts << 8) | s.sig[std::size_t(i)];
    const std::string msg = message(n.text, ts);
    KP_ENSURE(ts < (uint64_t{1} << 63) &&
                  crypto_sign_verify_detached(s.sig.data() + 8,
                                              reinterpret_cast<const unsigned char*>(msg.data()),
                                              msg.size(), key.pk.data()) == 0,
              "cosignature-invalid", "cosignature by " + key.name + " does not verify");
    return ts;
  }
  return make_error("cosignature-missing", "the checkpoint carries no cosignature by " + key.name);
}

}  // namespace kp::cosig
