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

}  // namespace kp::cli
