// The gateway's HTTP endpoint (Poco): /healthz, /metrics and the auditors'
// web page (auditor_web.h), on a local address by default.
//
// It runs as a pair of processes forked before the SSH accept loop starts
// (so the SSH parent never holds Poco's threads across fork(), and the pair
// never holds the SSH host keys the parent loads later):
//
// - the monitor (http_monitor.h): privileged, holds the read-write store,
//   answers the HTTP process's short list of requests, and ends the pair
//   when the HTTP process breaks the protocol;
// - the HTTP process, its child: closes every inherited descriptor but its
//   listening socket, its end of the channel and stdio; opens the store
//   read-only (the -wal and -shm with it), reads the public log key from
//   DATA/public (never a private key), then enters the sandbox
//   (common/sandbox.h, Profile::http, as kSessionUser when run as root)
//   before Poco starts a thread. /healthz (alias /health) and /metrics read
//   the store through that one handle and ask the monitor for the rest
//   (gateway/health.h, gateway/metrics.h). It leaves (letting answers in flight finish) when the
//   monitor closes the channel.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/datadir.h"
#include "common/result.h"
#include "common/settings.h"
#include "gateway/serve_status.h"

namespace kp::gateway {

// Forks the HTTP monitor (which forks the HTTP process) serving
// settings.http ("host:port"); returns the monitor's pid. `serve`: the
// serve parent's counts the monitor reports (null: none). Errors:
// "http-failed" when the address cannot be bound (checked in the parent
// before forking, so `serve` fails loudly). Problems after the fork
// (store, keys, sandbox) are logged as `http.failed` and end the pair.
Result<pid_t> start_http_endpoint(const DataDir& data, const Settings& settings, ServeStatus* serve = nullptr);

}  // namespace kp::gateway
