// Counters for the /metrics endpoint, read from the store.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace kp::store {

// (name, value) pairs: uploads_total, upload_bytes_total, logins_refused_total, ...
Result<std::vector<std::pair<std::string, int64_t>>> read_metrics(Db& db);

}  // namespace kp::store
