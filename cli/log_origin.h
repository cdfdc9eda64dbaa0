// The `log_origin` setting (common/settings.h) against the origin fixed in
// DATA/keys/log.origin: every checkpoint names its log's origin, so it may
// change only while the log has signed nothing.
#pragma once

#include "common/datadir.h"
#include "common/result.h"
#include "common/settings.h"

namespace kp::cli {

// Nothing when log_origin is empty or already the log's. On a log with no
// record and no checkpoint: makes it the origin (and a log key of that
// name). Otherwise "log-origin-fixed", naming the origin in use.
Status apply_log_origin(const DataDir& d, const Settings& s);

}  // namespace kp::cli
