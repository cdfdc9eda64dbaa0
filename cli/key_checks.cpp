// Key material checks for the registry commands; see key_checks.h.
#include "cli/key_checks.h"

#include "cli/context.h"

namespace kp::cli {

Status check_recipient(const std::string& recipient) {
  // TODO(issue 3): decode with keys/age's Bech32 once it lands.
  KP_ENSURE(recipient.size() == 62 && recipient.compare(0, 4, "age1") == 0, "recipient-invalid",
            "'" + recipient + "' is not an age X25519 recipient (age1...)");
  return ok_status();
}

Result<std::string> read_sign_key(const std::string& path) {
  KP_TRY(std::string text, read_small_file(path, 4096));
  KP_ENSURE(text.find("RW") != std::string::npos, "key-unreadable",
            path + " is not a minisign public key");
  return text;
}

}  // namespace kp::cli
