// Key material checks for the registry commands; see key_checks.h.
#include "cli/key_checks.h"

#include "cli/context.h"
#include "keys/age.h"
#include "keys/minisign.h"

namespace kp::cli {

Status check_recipient(const std::string& recipient) {
  auto pk = age::parse_recipient(recipient);
  KP_ENSURE(pk.ok(), "recipient-invalid", "'" + recipient + "' is not an age X25519 recipient (age1...)");
  return ok_status();
}

Result<std::string> read_sign_key(const std::string& path) {
  KP_TRY(std::string text, read_small_file(path, 4096));
  auto key = minisign::parse_public_key(text);
  KP_ENSURE(key.ok(), "key-unreadable", path + " is not a minisign public key (" + key.error().code + ")");
  return text;
}

Result<note::VerifierKey> read_verifier_key(const std::string& path) {
  KP_TRY(std::string text, read_small_file(path, 4096));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return note::parse_verifier_key(text);
}

Result<WitnessKeys> witness_keys_of(const Args& a) {
  WitnessKeys w;
  if (auto list = a.get("--witness-key")) {
    const std::string& rest = *list;
    for (std::size_t pos = 0; pos <= rest.size();) {
      const std::size_t comma = rest.find(',', pos);
      const std::string file = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!file.empty()) {
        KP_TRY(note::VerifierKey key, read_verifier_key(file));
        w.keys.push_back(key);
      }
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  w.quorum = w.keys.size();
  if (auto q = a.get("--quorum")) {
    KP_ENSURE(q->size() < 4 && !q->empty() && q->find_first_not_of("0123456789") == std::string::npos &&
                  std::stoul(*q) <= w.keys.size(),
              "usage", "--quorum must be at most the number of witness keys");
    w.quorum = std::stoul(*q);
  }
  return w;
}

}  // namespace kp::cli
