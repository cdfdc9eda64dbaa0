// Test hooks: code that only the `knooppunt-test` executable links in (CMake
// option KP_TEST_HOOKS; the sources live in tests/hooks/). Each hook is a
// function pointer that is null in `knooppunt`; a hook source sets it from a
// static initialiser when it is linked in. The gateway calls a hook only
// where this header names it, so the release binary holds neither the hook
// code nor its routes, and a hook runs with exactly the confinement of the
// process it runs in (the point: it plays a compromised process).
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "common/datadir.h"

namespace kp::gateway {

class MonitorClient;

namespace test_hooks {

// What the sandboxed HTTP process can hand a hook.
struct HttpContext {
  const DataDir& data;
  MonitorClient& monitor;
};

// Offered every HTTP request before the normal routes; returns true when it
// answered the request. Null unless a hook is linked in.
using HttpRoute = bool (*)(const HttpContext& ctx, Poco::Net::HTTPServerRequest& req,
                           Poco::Net::HTTPServerResponse& resp);
extern HttpRoute http_route;

}  // namespace test_hooks
}  // namespace kp::gateway
