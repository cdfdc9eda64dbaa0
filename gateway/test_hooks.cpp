// The hook slots, empty unless a test build fills them; see test_hooks.h.
#include "gateway/test_hooks.h"

namespace kp::gateway {

HookContext& hook_context() {
  static HookContext c;
  return c;
}

SftpExtensionHook g_sftp_extension_hook = nullptr;

namespace test_hooks {
HttpRoute http_route = nullptr;
}  // namespace test_hooks

}  // namespace kp::gateway
