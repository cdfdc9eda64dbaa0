// Where test-only code plugs into the gateway: code that only the
// `knooppunt-test` executable links in (CMake option KP_TEST_HOOKS; the
// sources live in tests/hooks/). Each hook is a function pointer that is
// null in `knooppunt`; a hook source sets it from a static initialiser when
// it is linked in. The gateway calls a hook only where this header names
// it, so the release binary holds neither the hook code nor its names, and
// a hook runs with exactly the confinement of the process it runs in (the
// point: it plays a compromised process). Tests check `knooppunt` holds
// none of it.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/datadir.h"

namespace kp::gateway {

// What a hook inside the SSH session child may want to aim at.
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

class HttpMonitorClient;

namespace test_hooks {

// What the sandboxed HTTP process can hand a hook.
struct HttpContext {
  const DataDir& data;
  HttpMonitorClient& monitor;
};

// Offered every HTTP request before the normal routes; returns true when it
// answered the request. Null unless a hook is linked in.
using HttpRoute = bool (*)(const HttpContext& ctx, Poco::Net::HTTPServerRequest& req,
                           Poco::Net::HTTPServerResponse& resp);
extern HttpRoute http_route;

}  // namespace test_hooks
}  // namespace kp::gateway
