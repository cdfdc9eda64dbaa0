// The worker loop; see worker.h.
#include "workers/worker.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "audit/daily_export.h"
#include "common/log.h"
#include "common/settings.h"
#include "keys/keystore.h"
#include "store/audit_events.h"
#include "store/db.h"
#include "store/intake.h"
#include "store/submissions.h"
#include "workers/intake.h"
#include "workers/parser_zygote.h"
#include "workers/publish.h"
#include "workers/notifier.h"
#include "workers/retention.h"
#include "workers/witnessing.h"

namespace kp::workers {

namespace {

constexpr int64_t kCheckpointIntervalMs = 10000;

// The daily exports of complete UTC days (audit/daily_export.h); a failure
// is logged and retried at the next round.
void publish_exports(store::Db& db, const DataDir& data) {
  auto written = audit::publish_daily_exports(db, data, log::now_ms());
  if (!written.ok())
    log::event("worker.export_failed", {{"error", written.error().message()}});
  else if (*written > 0)
    log::event("worker.exports_published", {{"count", std::to_string(*written)}});
}

bool process_alive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Witnesses, tiles and the cosigned checkpoint (witnessing.h); a failure
// is logged and tried again with the next checkpoint.
void publish_log_logged(store::Db& db, const DataDir& data, const Settings& settings) {
  Status s = publish_log(db, data, settings);
  if (!s.ok()) log::event("worker.log_publish_failed", {{"error", s.error().message()}});
}

}  // namespace

Status run_worker(const DataDir& data, volatile std::sig_atomic_t* stop, int poll_ms) {
  // First, while this process holds no key and no store connection: the
  // zygote that forks a sandboxed parser child per package is a copy of
  // the process as it is now (parser_zygote.h).
  KP_TRY(parser::Zygote zygote, parser::Zygote::start(data.root));
  KP_TRY(store::Db db, store::Db::open(data.db()));
  IntakeContext ctx;
  ctx.parser = &zygote;
  Settings settings;  // defaults when unreadable, as before
  {
    auto loaded = load_settings(data.settings());
    if (loaded.ok()) settings = *loaded;
    ctx.parser_timeout_ms = static_cast<uint32_t>(settings.parser_timeout_seconds * 1000);
  }
  ctx.data = data;
  ctx.db = &db;
  ctx.pid = ::getpid();
  KP_TRY(ctx.identities, keys::load_intake_identities(data));
  KP_TRY(ctx.hub_key, keys::load_hub_key(data));
  KP_TRY(ctx.log_key, keys::load_log_key(data));
  KP_TRY(ctx.log_origin, keys::log_origin(data));
  KP_GUARD(place_outputs(ctx));
  KP_GUARD(place_hub_outputs(ctx));
  KP_GUARD(publish_checkpoint(ctx));
  publish_log_logged(db, data, settings);
  publish_exports(db, data);
  RetentionTimer retention(data);  // sweeps now, then every retention_sweep_interval
  retention.tick(db, log::now_ms());
  int64_t last_checkpoint_ms = log::now_ms();
  std::string key_generation = keys::intake_generation(data);
  Notifier notifier(data, process_alive);  // mail on new outbox items: own thread, own store connection
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
    auto released_submissions = store::release_dead_submission_claims(db, process_alive);
    if (released_submissions.ok() && *released_submissions > 0)
      log::event("worker.claims_released", {{"count", std::to_string(*released_submissions)}, {"of", "submissions"}});
    auto claimed = store::claim_upload(db, ctx.pid, log::now_ms());
    if (!claimed.ok()) {
      log::event("worker.claim_failed", {{"error", claimed.error().message()}});
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
      continue;
    }
    // Checkpoints every few seconds while the log grows (and at shutdown),
    // and the daily exports of days that ended;
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
      publish_log_logged(db, data, settings);
      publish_exports(db, data);
      last_checkpoint_ms = log::now_ms();
    }
    retention.tick(db, log::now_ms());
    // Uploads first; staff submissions when no upload waits.
    bool is_submission = false;
    if (!*claimed) {
      auto sub = store::claim_submission(db, ctx.pid, log::now_ms());
      if (sub.ok() && *sub) {
        claimed = std::move(sub);
        is_submission = true;
      }
    }
    if (!*claimed) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      continue;
    }
    const store::Upload& u = **claimed;
    Status s = is_submission ? process_submission(ctx, u) : process_upload(ctx, u);
    if (!s.ok() && s.error().code == "parser-unavailable") {
      // The zygote is gone. A new one must not be forked from a process
      // that holds keys: end, serve starts a fresh worker (and zygote).
      log::event("worker.parser_lost", {{"error", s.error().message()}});
      auto mine = [&](int64_t pid) { return pid != ctx.pid; };
      (void)store::release_dead_claims(db, mine);
      return s;
    }
    if (!s.ok()) {
      // Operational failure: give the work back and slow down.
      log::event("worker.retry_later", {{is_submission ? "submission" : "upload", std::to_string(u.id)},
                                        {"error", s.error().message()}});
      auto mine = [&](int64_t pid) { return pid != ctx.pid; };
      (void)(is_submission ? store::release_dead_submission_claims(db, mine) : store::release_dead_claims(db, mine));
      backoff_ms = std::min(backoff_ms * 2 + 100, 5000);
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      continue;
    }
    backoff_ms = poll_ms;
  }
  if (publish_checkpoint(ctx).ok()) publish_log_logged(db, data, settings);
  log::event("worker.stopped", {});
  return ok_status();
}

}  // namespace kp::workers
