// The gateway's HTTP endpoint (Poco): /healthz, /metrics and the auditors'
// web page (auditor_web.h), on a local address by default. It runs in a
// process of its own, forked before the SSH accept loop starts, so the SSH
// parent never holds Poco's threads across fork().
#pragma once

#include <sys/types.h>

#include <string>

#include "common/datadir.h"
#include "common/result.h"
#include "common/settings.h"

namespace kp::gateway {

// Forks the HTTP process serving settings.http ("host:port"); returns its pid.
// Errors: "http-failed" when the address cannot be bound (checked in the
// parent before forking, so `serve` fails loudly).
Result<pid_t> start_http_endpoint(const DataDir& data, const Settings& settings);

}  // namespace kp::gateway
