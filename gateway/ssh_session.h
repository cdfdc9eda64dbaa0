// One SSH connection, in its own process: key exchange, public-key
// authentication (success only after libssh verified the signature, never
// on the probe), the session channel and the sftp subsystem. exec, shell,
// pty, env and port forwarding are refused.
#pragma once

#include <libssh/libssh.h>
#include <libssh/server.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/datadir.h"
#include "common/sandbox.h"
#include "common/settings.h"

namespace kp::gateway {

// Serves the accepted socket `fd` from `source` to the end; returns the
// process exit status. Called in the forked per-connection process, which
// authenticates and then splits: a child confined as `child_user` (see
// common/sandbox.h; ignored when not root) speaks SSH/SFTP, and this
// process becomes its monitor (gateway/session_monitor.h).
// `authenticated` is the connection's byte in the gate's shared board
// (gateway/gate.h), set once the client authenticated.
int run_connection(ssh_bind bind, int fd, const std::string& source, const DataDir& data,
                   const Settings& settings, const std::optional<sandbox::Identity>& child_user,
                   volatile uint8_t* authenticated);

// Serves a connection from a banned source only so far as to tell it why:
// key exchange, then at its first login attempt the ban message
// (gateway/gate.h: ban_message) as a userauth banner and as the reason of
// the disconnect (gateway/ssh_notice.h). Never authenticates; never counts
// as a failure.
int run_ban_notice(ssh_bind bind, int fd, const std::string& source, const Settings& settings,
                   int64_t banned_until_ms);

}  // namespace kp::gateway
