// Telling a client why its login was refused, when it may know.
//
// libssh clients, OpenSSH, PuTTY and WinSCP print an SSH_MSG_USERAUTH_BANNER
// received during authentication. After a public-key signature verified
// with a key registered for the account named, the holder of that key may
// learn why the login still failed: no live mandate, a mandate expired,
// revoked, not yet valid or below the level, several municipalities to
// choose from, a disabled account. Nothing is sent for any other refusal
// (unknown account, a key not registered for it, a bad signature, a key
// offer): that would tell a stranger which accounts exist.
#pragma once

#include <libssh/libssh.h>

#include <string_view>

#include "common/result.h"
#include "gateway/principal.h"

namespace kp::gateway {

// The refusals a verified key holder is told (mandate-*, municipality-ambiguous,
// account-disabled).
bool tellable_login_refusal(std::string_view code);

// Sends "knooppunt: <code>: <sentence>" as a USERAUTH_BANNER before the
// failure, when the refusal is tellable and `key` is registered for the
// login's account; otherwise sends nothing.
void tell_refused_login(ssh_session session, Authority& auth, const LoginName& login,
                        const store::SshKeyRecord& key, const Error& refusal);

}  // namespace kp::gateway
