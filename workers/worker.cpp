// The worker loop; see worker.h.
#include "workers/worker.h"

#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "audit/daily_export.h"
#include "common/log.h"
#include "common/settings.h"
#include "keys/keystore.h"
#include "store/audit_events.h"
#include "store/claims.h"
#include "store/commit_watch.h"
#include "store/db.h"
#include "store/intake.h"
#include "store/submissions.h"
#include "workers/intake.h"
#include "workers/parser_zygote.h"
#include "workers/publish.h"
#include "workers/notifier.h"
#include "workers/retention.h"
#include "workers/witnessed_proofs.h"
#include "workers/witnessing.h"

namespace kp::workers {

namespace {

constexpr int64_t kCheckpointIntervalMs = 10000;
// How often an idle worker looks whether anything was committed.
constexpr int kLookMs = 5;

// The daily exports of complete UTC days (audit/daily_export.h); a failure
// is logged and retried at the next round.
void publish_exports(store::Db& db, const DataDir& data) {
  auto written = audit::publish_daily_exports(db, data, log::now_ms());
  if (!written.ok())
    log::event("worker.export_failed", {{"error", written.error().message()}});
  else if (*written > 0)
    log::event("worker.exports_published", {{"count", std::to_string(*written)}});
}

// What a failed attempt means for the row.
enum class Failure {
  parser_lost,    // this worker cannot go on (its zygote is gone)
  hub_condition,  // the hub's state, not the row's (disk full, no staff recipients): waits, not counted
  attempt,        // counts towards intake_max_attempts
};

// Whether the data directory's file system has less room than processing
// a row of `size` bytes needs (its sealed output, the store, the receipts).
// The error of a full disk may come through the parser child or SQLite with
// any code; the free space says it plainly.
bool disk_short(const DataDir& data, int64_t size) {
  struct statvfs st {};
  if (::statvfs(data.root.c_str(), &st) != 0) return false;
  const uint64_t free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  return free_bytes < 2 * static_cast<uint64_t>(std::max<int64_t>(size, 0)) + (8u << 20);
}

Failure classify(const Error& e, const DataDir& data, int64_t size) {
  static const std::map<std::string, Failure> kByCode = {
      {"parser-unavailable", Failure::parser_lost},
      {"no-staff-recipients", Failure::hub_condition},
      {"no-space", Failure::hub_condition},  // ENOSPC/EDQUOT through the confinement layer
  };
  auto it = kByCode.find(e.code);
  if (it != kByCode.end()) return it->second;
  return disk_short(data, size) ? Failure::hub_condition : Failure::attempt;
}

struct RetryPolicy {
  int64_t max_attempts = 5;
  int64_t retry_ms = 30000;
  int64_t retry_max_ms = 900000;
};

// Read at each failure, so a changed setting applies without a restart.
RetryPolicy retry_policy(const DataDir& data) {
  RetryPolicy p;
  auto s = load_settings(data.settings());
  if (!s.ok()) return p;
  p.max_attempts = s->intake_max_attempts;
  p.retry_ms = s->intake_retry_seconds * 1000;
  p.retry_max_ms = s->intake_retry_max_seconds * 1000;
  return p;
}

// The wait after the n-th failed attempt: retry_ms, doubling, at most retry_max_ms.
int64_t backoff_ms_of(const RetryPolicy& p, int64_t n) {
  int64_t wait = p.retry_ms;
  for (int64_t i = 1; i < n && wait < p.retry_max_ms; ++i) wait *= 2;
  return std::min(wait, p.retry_max_ms);
}

template <class R>
void log_failed(const char* what, const R& r) {
  if (!r.ok()) log::event("worker.step_failed", {{"step", what}, {"error", r.error().message()}});
}

// Ends a row that failed `attempts` times: rejected intake-failed, with its
// receipt; the operator sees intake.gave_up in the log and
// knooppunt_intake_failed_total in /metrics.
template <class Process>
Status give_up(const store::Upload& u, store::ClaimTable table, int64_t attempts, Process& process) {
  log::event("intake.gave_up", {{table == store::ClaimTable::submissions ? "submission" : "upload", std::to_string(u.id)},
                                {"municipality", u.municipality},
                                {"name", u.name},
                                {"attempts", std::to_string(attempts)}});
  return process(std::optional<Error>(intake_failed()));
}

// The transfer log's record that a replaced key's grace period ended and
// its secret was destroyed.
void record_key_destroyed(store::Db& db, const char* event) {
  store::AuditEvent e;
  e.event = event;
  e.outcome = "success";
  e.actor = "intake-worker";
  e.role = "system";
  e.channel = "worker";
  log_failed("audit", store::append_audit(db, e));
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
  Status proofs = place_witnessed_proofs(db, data, settings.witness_quorum);
  if (!proofs.ok()) log::event("worker.witnessed_proofs_failed", {{"error", proofs.error().message()}});
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
  ctx.intake_generation = keys::intake_generation(data);
  KP_TRY(ctx.identities, keys::load_intake_identities(data));
  KP_GUARD(refresh_signing_keys(ctx));  // the hub and log keys, and the previous ones in their grace period
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
  store::CommitWatch commits(db);
  log::event("worker.started", {{"data", data.root}});
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
    (void)commits.changed();  // a commit after this look wakes the idle wait below
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
      if (destroyed.ok() && *destroyed) record_key_destroyed(db, "keys.previous_intake_destroyed");
      auto expired = keys::expire_previous_signing_keys(data, log::now_ms());
      if (expired.ok() && *expired) record_key_destroyed(db, "keys.previous_signing_key_destroyed");
      if (keys::intake_generation(data) != key_generation) {
        auto ids = keys::load_intake_identities(data);
        if (ids.ok()) {
          ctx.identities = std::move(*ids);
          key_generation = keys::intake_generation(data);
          log::event("worker.keys_reloaded", {{"identities", std::to_string(ctx.identities.size())}});
        }
      }
      // Receipts whose placement failed (a full disk) appear once it works.
      log_failed("place_receipts", place_unplaced_receipts(ctx));
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
      // Idle until something commits (an upload, a submission: a new row
      // to claim) or poll_ms passed: a look at the WAL-index costs no
      // transaction, so a new upload waits kLookMs, not the whole interval.
      for (int waited = 0; waited < poll_ms && !*stop; waited += kLookMs) {
        std::this_thread::sleep_for(std::chrono::milliseconds(kLookMs));
        if (commits.changed()) break;
      }
      continue;
    }
    const store::Upload& u = **claimed;
    const store::ClaimTable table = is_submission ? store::ClaimTable::submissions : store::ClaimTable::uploads;
    auto process = [&](const std::optional<Error>& end_with) {
      return is_submission ? process_submission(ctx, u, end_with) : process_upload(ctx, u, end_with);
    };
    // Claims count attempts, also those whose worker died on the row: one
    // claimed past the limit is given up without opening it again.
    auto attempts = store::attempts_of(db, table, u.id);
    const int64_t n = attempts.ok() ? *attempts : 1;
    // The settings are read at most once per row, and only when needed: a
    // first attempt is never past the limit (at least 1), and a success
    // needs no backoff.
    std::optional<RetryPolicy> read_policy;
    auto policy_now = [&]() -> const RetryPolicy& {
      if (!read_policy) read_policy = retry_policy(data);
      return *read_policy;
    };
    const bool past_limit = n > 1 && n > policy_now().max_attempts;
    Status s = past_limit ? give_up(u, table, n - 1, process) : process(std::nullopt);
    if (s.ok()) continue;
    const RetryPolicy& policy = policy_now();
    const Failure failure = classify(s.error(), data, u.size);
    if (failure == Failure::parser_lost) {
      // The zygote is gone. A new one must not be forked from a process
      // that holds keys: end, serve starts a fresh worker (and zygote).
      log::event("worker.parser_lost", {{"error", s.error().message()}});
      auto mine = [&](int64_t pid) { return pid != ctx.pid; };
      log_failed("release", store::release_dead(db, table, mine));
      return s;
    }
    // Operational failure: give the row back for later, so the rows behind
    // it go first; after max_attempts failures of its own, give it up.
    const bool counted = failure == Failure::attempt;
    log::event("worker.retry_later", {{is_submission ? "submission" : "upload", std::to_string(u.id)},
                                      {"attempt", std::to_string(n)},
                                      {"counted", counted ? "yes" : "no"},
                                      {"error", s.error().message()}});
    if (counted && !past_limit && n >= policy.max_attempts) {
      Status ended = give_up(u, table, n, process);
      if (ended.ok()) continue;
      log_failed("give_up", ended);
    }
    const int64_t wait_ms = backoff_ms_of(policy, counted ? n : 1);
    log_failed("defer", store::defer_claim(db, table, u.id, ctx.pid, log::now_ms() + wait_ms, counted,
                                           s.error().message()));
  }
  Status cp = publish_checkpoint(ctx);
  log_failed("checkpoint", cp);
  if (cp.ok()) publish_log_logged(db, data, settings);
  log::event("worker.stopped", {});
  return ok_status();
}

}  // namespace kp::workers
