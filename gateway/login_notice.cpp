// Login refusals on the client's screen; see login_notice.h.
#include "gateway/login_notice.h"

#include <libssh/server.h>

#include <string>

#include "common/handles.h"
#include "common/log.h"

namespace kp::gateway {

bool tellable_login_refusal(std::string_view code) {
  return code.starts_with("mandate-") || code == "municipality-ambiguous" || code == "account-disabled";
}

void tell_refused_login(ssh_session session, Authority& auth, const LoginName& login,
                        const store::SshKeyRecord& key, const Error& refusal) {
  if (!tellable_login_refusal(refusal.code)) return;
  auto registered = auth.key_registered(login, key);
  if (!registered.ok() || !*registered) return;
  const std::string text = "knooppunt: " + refusal.message() + "\r\n";
  ssh_string banner = ssh_string_from_char(text.c_str());
  if (!banner) return;
  if (ssh_send_issue_banner(session, banner) != SSH_OK)
    log::event("auth.banner_failed", {{"error", ssh_get_error(session)}});
  ssh_string_free(banner);
}

}  // namespace kp::gateway
