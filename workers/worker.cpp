// The worker loop; see worker.h.
#include "workers/worker.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "common/log.h"
#include "keys/keystore.h"
#include "store/audit_events.h"
#include "store/db.h"
#include "store/intake.h"
#include "workers/intake.h"
#include "workers/retention.h"

namespace kp::workers {

namespace {

constexpr int64_t kCheckpointIntervalMs = 10000;

bool process_alive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

Status run_worker(const DataDir& data, volatile std::sig_atomic_t* stop, int poll_ms) {
  KP_TRY(store::Db db, store::Db::open(data.db()));
  IntakeContext ctx;
  ctx.data = data;
  ctx.db = &db;
  ctx.pid = ::getpid();
  KP_TRY(ctx.identities, keys::load_intake_identities(data));
  KP_TRY(ctx.hub_key, keys::load_hub_key(data));
  KP_TRY(ctx.log_key, keys::load_log_key(data));
  KP_TRY(ctx.log_origin, keys::log_origin(data));
  KP_GUARD(place_outputs(ctx));
  KP_GUARD(publish_checkpoint(ctx));
  RetentionTimer retention(data);  // sweeps now, then every retention_sweep_interval
  retention.tick(db, log::now_ms());
  int64_t last_checkpoint_ms = log::now_ms();
  std::string key_generation = keys::intake_generation(data);
  log::event("worker.started", {{"data", data.root}});
  int backoff_ms = poll_ms;
  // Started by serve: end with it (a kill -9 of serve must not leave workers behind).
  const char* parent_env = std::getenv("KNOOPPUNT_PARENT_PID");
  pid_t parent = parent_env ? static_cast<pid_t>(std::atoi(parent_env)) : 0;
  while (!*stop) {
    if (parent > 0 && ::getppid() != parent) {
      log::event("worker.parent_gone", {});
      break;
    }
    auto released = store::release_dead_claims(db, process_alive);
    if (released.ok() && *released > 0) log::event("worker.claims_released", {{"count", std::to_string(*released)}});
    auto claimed = store::claim_upload(db, ctx.pid, log::now_ms());
    if (!claimed.ok()) {
      log::event("worker.claim_failed", {{"error", claimed.error().message()}});
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
      continue;
    }
    // Checkpoints every few seconds while the log grows (and at shutdown);
    // at the same pace: destroy an expired previous intake identity, and
    // reload the identities after a rotation.
    if (log::now_ms() - last_checkpoint_ms >= kCheckpointIntervalMs) {
      auto destroyed = keys::expire_previous_intake(data, log::now_ms());
      if (destroyed.ok() && *destroyed) {
        store::AuditEvent e;
        e.event = "keys.previous_intake_destroyed";
        e.outcome = "success";
        e.actor = "intake-worker";
        e.role = "system";
        e.channel = "worker";
        (void)store::append_audit(db, e);
      }
      if (keys::intake_generation(data) != key_generation) {
        auto ids = keys::load_intake_identities(data);
        if (ids.ok()) {
          ctx.identities = std::move(*ids);
          key_generation = keys::intake_generation(data);
          log::event("worker.keys_reloaded", {{"identities", std::to_string(ctx.identities.size())}});
        }
      }
      Status cs = publish_checkpoint(ctx);
      if (!cs.ok()) log::event("worker.checkpoint_failed", {{"error", cs.error().message()}});
      last_checkpoint_ms = log::now_ms();
    }
    retention.tick(db, log::now_ms());
    if (!*claimed) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      continue;
    }
    const store::Upload& u = **claimed;
    Status s = process_upload(ctx, u);
    if (!s.ok()) {
      // Operational failure: give the upload back and slow down.
      log::event("worker.retry_later", {{"upload", std::to_string(u.id)}, {"error", s.error().message()}});
      (void)store::release_dead_claims(db, [&](int64_t pid) { return pid != ctx.pid; });
      backoff_ms = std::min(backoff_ms * 2 + 100, 5000);
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      continue;
    }
    backoff_ms = poll_ms;
  }
  (void)publish_checkpoint(ctx);
  log::event("worker.stopped", {});
  return ok_status();
}

}  // namespace kp::workers
