// Telling an SSH client why, where the protocol can carry it: the text of
// an SSH_MSG_USERAUTH_BANNER (OpenSSH's ssh and sftp print it unless run
// with -q or LogLevel below INFO; paramiko keeps it as the transport's
// banner) and the description of the SSH_MSG_DISCONNECT that ends the
// connection (OpenSSH prints "Received disconnect from ...: <text>" at every
// log level but QUIET). Reusable for any refusal that ends a connection
// after the key exchange.
#pragma once

#include <libssh/libssh.h>

#include <string>

namespace kp::gateway {

// Sends `text` (one line, made printable and at most 512 bytes) as a
// userauth banner. Only between the key exchange and authentication.
void send_auth_banner(ssh_session session, const std::string& text);

// Ends the connection with SSH_MSG_DISCONNECT carrying `text` (made
// printable, at most 512 bytes), then closes gracefully (up to 2 s), so the
// message is not lost to a reset. The session is unusable afterwards.
void disconnect_with(ssh_session session, const std::string& text);

}  // namespace kp::gateway
