// The SSH/SFTP server on libssh: one process per connection.
//
// Why processes, not threads: a session's crash, protocol error or memory
// corruption can never reach another session or an accepted upload; libssh
// sessions are not shared; each child has its own SQLite connection; and a
// forked child shares the parent's pages, so an idle session costs little
// (measured in bench/). The parent accepts, applies the connection limits
// and the failed-login ban, and forks; it never parses a byte of SSH.
// Neither process ever holds a decryption or signing key (privilege
// separation): those are loaded only by worker processes.
#pragma once

#include "common/datadir.h"
#include "common/result.h"
#include "common/settings.h"

namespace kp::gateway {

// Runs the gateway until SIGTERM or SIGINT. Logs "serve.listening" with the
// bound address once connections are accepted.
Status serve(const DataDir& data, const Settings& settings);

}  // namespace kp::gateway
