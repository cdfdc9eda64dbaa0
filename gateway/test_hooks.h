// Where test-only code plugs into the gateway. The hooks are null in the
// `knooppunt` binary: their code lives in tests/hooks/ and is linked only
// into `knooppunt-test` (CMake option KP_TEST_HOOKS), which sets them from a
// static initialiser. Tests check that `knooppunt` holds none of it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kp::gateway {

// What a hook inside the session child may want to aim at.
struct HookContext {
  std::string data_root;  // the data directory the monitor serves
  int monitor_sock = -1;  // the child's end of the monitor channel
  int ssh_fd = -1;        // the client connection
};
HookContext& hook_context();

// An SFTP extension a test build adds: returns true when it handled `name`
// and appended its reply to `out`.
using SftpExtensionHook = bool (*)(std::string_view name, uint32_t id, std::vector<uint8_t>& out);
extern SftpExtensionHook g_sftp_extension_hook;

}  // namespace kp::gateway
