// /healthz: is this gateway doing its work? Five checks, each named in the
// answer when it fails:
//
//   database    the store answers a read (the HTTP process's read-only
//               handle, and the monitor's read-write one)
//   disk        free space on the data directory's file system is at least
//               health_min_free_bytes (a full disk stops uploads and verdicts)
//   workers     as many intake workers run as `workers` says, and none is
//               crash-looping (more restarts within a minute than workers);
//               not checked with workers = 0 (run apart, serve cannot see them)
//   staff       a staff member with an age recipient is registered (without
//               one, uploads wait in the inbox without verdict or receipt)
//   checkpoint  no transfer-log record has waited longer than
//               health_checkpoint_max_age for a signed checkpoint (an idle
//               log needs no new checkpoint, so the age of the last one
//               alone says nothing)
//
// 200 "ok\n" when all pass, else 503 with one "check: sentence" line per
// failing check. The HTTP process reads the store facts through its
// read-only handle and everything else through the monitor's status
// request (gateway/http_monitor.h); the monitor's side (probe_host) reads
// the file system and the serve parent's counts (gateway/serve_status.h).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/settings.h"
#include "gateway/http_monitor.h"
#include "gateway/serve_status.h"
#include "store/db.h"
#include "store/metrics.h"

namespace kp::gateway {

inline constexpr const char* kHealthChecks[] = {"database", "disk", "workers", "staff", "checkpoint"};

struct HealthFacts {
  std::optional<store::HealthRecords> records;  // nullopt: the read-only store did not answer
  std::optional<HostStatus> host;               // nullopt: the monitor did not answer
};

struct FailedCheck {
  std::string check;   // one of kHealthChecks
  std::string reason;  // a sentence an operator can act on
};

// The failing checks, in kHealthChecks order (empty: healthy).
std::vector<FailedCheck> failing_checks(const HealthFacts& facts, const Settings& settings, int64_t now_ms);

struct HealthAnswer {
  int status = 200;  // 200 or 503
  std::string body;  // "ok\n", or "check: reason\n" per failing check
};
HealthAnswer health_answer(const std::vector<FailedCheck>& failing);

// The HTTP process's side: the store facts (holding `mu` while it reads
// `db`), then the monitor's status.
HealthFacts gather_health(std::mutex& mu, store::Db& db, HttpMonitorClient& monitor);

// The monitor's side of the status request: its store answers, statvfs of
// the data directory, the serve parent's counts (none when `serve` is null).
HostStatus probe_host(store::Db& db, const std::string& data_root, const ServeStatus* serve);

// serve's warning while no staff recipient exists: `serve.no_staff_recipient`
// in the log at the first tick and then every `interval_ms` for as long as
// the store has none (a store that cannot be read is logged too).
class StaffWarning {
 public:
  explicit StaffWarning(int64_t interval_ms) : interval_ms_(interval_ms) {}
  void tick(store::Db& db, int64_t now_ms);

 private:
  int64_t interval_ms_;
  std::optional<int64_t> next_ms_;
};

}  // namespace kp::gateway
