// The intake worker process: loads the private keys (only worker processes
// do), finishes outputs a previous worker left, then claims and processes
// uploads until stopped. Started by `knooppunt serve` (as a separate
// executable image, never a fork of the SSH parent) or alone with
// `knooppunt worker`.
#pragma once

#include <csignal>

#include "common/datadir.h"
#include "common/result.h"

namespace kp::workers {

// Runs until *stop becomes non-zero. `poll_ms` is the idle sleep between
// claims (the latency from upload close to receipt is at most about that
// plus the processing time).
Status run_worker(const DataDir& data, volatile std::sig_atomic_t* stop, int poll_ms = 50);

}  // namespace kp::workers
