// The retention sweeper; see retention.h.
#include "workers/retention.h"

#include <algorithm>

#include "common/log.h"
#include "common/pair_file.h"
#include "common/settings.h"
#include "common/confine.h"
#include "policy/identifiers.h"
#include "workers/queue_pair.h"
#include "workers/witnessed_proofs.h"

namespace kp::workers {

namespace {

using policy::RetentionKind;

// The data directory's layout (common/datadir.h) relative to its root.
const DataDir kLayout{""};
std::string relative(const std::string& under_layout) {
  return under_layout.substr(1);
}

std::string work_queue_file(int64_t upload_id) {
  // The queue entry's head, placed last (workers/queue_pair.h).
  return relative(queue_head_work(kLayout, upload_id));
}

// Splits a relative path into its directory and its last component; false
// unless every component is one safe name.
bool split_path(const std::string& rel, std::string& dir, std::string& name) {
  auto slash = rel.rfind('/');
  if (slash == std::string::npos) return false;
  dir = rel.substr(0, slash);
  name = rel.substr(slash + 1);
  std::size_t start = 0;
  for (;;) {
    auto end = rel.find('/', start);
    std::string part =
        rel.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!confine::is_single_component(part)) return false;
    if (end == std::string::npos) return true;
    start = end + 1;
  }
}

// True when the file `rel` (relative to the data directory) exists.
bool exists(const DataDir& d, const std::string& rel) {
  std::string dir, name;
  if (!split_path(rel, dir, name)) return false;
  auto fd = confine::open_dir(d.root + "/" + dir);
  return fd.ok() && confine::stat_beneath(fd->get(), name).ok();
}

// Outputs that are not in their place yet are never deleted: a rejected
// upload still in the inbox (place_outputs moves it to quarantine), a
// resealed package still only in DATA/work.
bool placed(const DataDir& d, const store::RetentionItem& item) {
  if (item.kind == RetentionKind::quarantine)
    return !exists(d, relative(kLayout.box(item.municipality)) + "/inbox/" + item.name);
  if (item.kind == RetentionKind::queue && item.upload_id)
    return !exists(d, work_queue_file(*item.upload_id)) ||
           exists(d, relative(kLayout.queue()) + "/" + item.name);
  return true;
}

// Removes `files` in order, then syncs each directory it removed from.
// True when every file is gone (removed now or before).
bool remove_files(const DataDir& d, const std::string& ref, const std::vector<std::string>& files) {
  bool all_gone = true;
  for (const auto& rel : files) {
    std::string dir, name;
    if (!split_path(rel, dir, name)) {
      log::event("retention.bad_path", {{"ref", ref}, {"path", rel}});
      all_gone = false;
      continue;
    }
    auto fd = confine::open_dir(d.root + "/" + dir);
    if (!fd.ok()) {
      if (fd.error().code == "not-found") continue;
      log::event("retention.unlink_failed",
                 {{"ref", ref}, {"path", rel}, {"error", fd.error().message()}});
      all_gone = false;
      continue;
    }
    Status gone = confine::unlink_beneath(fd->get(), name);
    if (!gone.ok() && gone.error().code != "not-found") {
      log::event("retention.unlink_failed",
                 {{"ref", ref}, {"path", rel}, {"error", gone.error().message()}});
      all_gone = false;
      continue;
    }
    // The removal must be durable before the store says it happened.
    if (gone.ok() && !confine::fsync_dir(fd->get()).ok()) all_gone = false;
  }
  return all_gone;
}

store::AuditEvent deletion_event(const store::RetentionItem& item,
                                 const policy::RetentionPeriods& periods,
                                 const std::string& channel) {
  store::AuditEvent e;
  e.event = "retention.deleted";
  e.outcome = "success";
  e.actor = "retention-sweeper";
  e.role = "system";
  e.municipality = item.municipality;
  e.object = item.ref() + " " + item.name;
  e.sha256 = item.sha256;
  e.channel = channel;
  e.reason = std::string(policy::retention_setting_key(item.kind)) + "=" +
             format_duration(policy::period_ms(item.kind, periods) / 1000);
  return e;
}

}  // namespace

std::vector<std::string> retention_files(const store::RetentionItem& item) {
  const std::string& m = item.municipality;
  bool box_ok = policy::valid_municipality_code(m);
  auto ok = [](const std::string& name) { return confine::is_single_component(name); };
  std::vector<std::string> files;
  switch (item.kind) {
    case RetentionKind::inbox:
      if (!box_ok || !ok(item.name)) return {};
      files.push_back(relative(kLayout.box(m)) + "/inbox/" + item.name);
      // Left only when a rename fell back to link + unlink and crashed in between.
      if (item.partial_name && ok(*item.partial_name))
        files.push_back(relative(kLayout.box(m)) + "/partial/" + *item.partial_name);
      break;
    case RetentionKind::quarantine: {
      if (!box_ok || !item.upload_id) return {};
      // The name workers/intake.cpp gives a rejected upload in quarantine.
      std::string qname = m + "-" + std::to_string(*item.upload_id) + "-" + item.name;
      if (!ok(qname)) return {};
      files.push_back(relative(kLayout.quarantine()) + "/" + qname);
      break;
    }
    case RetentionKind::queue:
      if (!ok(item.name)) return {};
      // The work copy first: a worker placing it at that moment then finds
      // either nothing to move or the queue file still there (and drops it).
      if (item.upload_id) {
        files.push_back(work_queue_file(*item.upload_id));
        files.push_back(relative(queue_payload_work(kLayout, *item.upload_id)));
      }
      // The head before the payload: a listed head always has its payload.
      files.push_back(relative(kLayout.queue()) + "/" + item.name);
      files.push_back(relative(kLayout.queue()) + "/" + pair_file::payload_path(item.name));
      break;
    case RetentionKind::outbox:
      if (!box_ok || !item.archived_name || !ok(*item.archived_name)) return {};
      files.push_back(relative(kLayout.box(m)) + "/archive/" + *item.archived_name);
      break;
    case RetentionKind::receipt:
      if (!box_ok || !item.archived_name || !ok(*item.archived_name)) return {};
      files.push_back(relative(kLayout.box(m)) + "/archive/" + *item.archived_name);
      // The signature beside it is removed separately by the client, or
      // never: first from the outbox, then from the archive, so a removal
      // racing with ours cannot leave it behind in the archive.
      if (ok(item.name + ".minisig")) {
        files.push_back(relative(kLayout.box(m)) + "/outbox/" + item.name + ".minisig");
        files.push_back(relative(kLayout.box(m)) + "/archive/" + item.name + ".minisig");
      }
      // So is its proof against a witnessed checkpoint (witnessed_proofs.h).
      if (item.name.ends_with(".json")) {
        const std::string proof = witnessed_proof_name(item.name);
        if (ok(proof)) {
          files.push_back(relative(kLayout.box(m)) + "/outbox/" + proof);
          files.push_back(relative(kLayout.box(m)) + "/archive/" + proof);
        }
      }
      break;
  }
  return files;
}

Result<std::vector<ScheduledItem>> retention_schedule(store::Db& db,
                                                      const policy::RetentionPeriods& periods) {
  KP_TRY(auto items, store::retention_items(db));
  std::vector<ScheduledItem> out;
  for (auto& item : items) {
    auto due = policy::expiry_ms(item.kind, item.state, item.clock_ms, periods);
    if (due) out.push_back({std::move(item), *due});
  }
  std::stable_sort(out.begin(), out.end(), [](const ScheduledItem& a, const ScheduledItem& b) {
    return a.due_ms < b.due_ms;
  });
  return out;
}

Result<SweepReport> sweep_retention(const DataDir& d, store::Db& db,
                                    const policy::RetentionPeriods& periods, int64_t now_ms,
                                    const std::string& channel, std::size_t max_deletions) {
  SweepReport report;
  // Deletions a crash (or a sweeper elsewhere, right now) left half done.
  KP_TRY(auto pending, store::pending_unlinks(db));
  for (const auto& p : pending) {
    if (!remove_files(d, p.ref, p.files)) {
      ++report.failed;
      continue;
    }
    KP_GUARD(store::mark_unlinked(db, p.id, log::now_ms()));
    ++report.finished;
  }
  KP_TRY(auto items, store::retention_items(db));
  for (const auto& item : items) {
    if (!policy::is_expired(item.kind, item.state, item.clock_ms, periods, now_ms)) continue;
    if (static_cast<std::size_t>(report.deleted) >= max_deletions) {
      report.more = true;
      break;
    }
    std::vector<std::string> files = retention_files(item);
    if (files.empty()) {
      log::event("retention.refused", {{"ref", item.ref()}, {"reason", "unsafe-name"}});
      continue;
    }
    if (!placed(d, item)) {
      ++report.waiting;
      continue;
    }
    int64_t due = *policy::expiry_ms(item.kind, item.state, item.clock_ms, periods);
    KP_TRY(auto id, store::purge_item(db, item, files, due, log::now_ms(),
                                      deletion_event(item, periods, channel)));
    if (!id) continue;  // another sweeper deleted it, or it changed since listed
    ++report.deleted;
    log::event("retention.deleted", {{"kind", policy::retention_kind_name(item.kind)},
                                     {"ref", item.ref()},
                                     {"municipality", item.municipality},
                                     {"object", item.name}});
    if (!remove_files(d, item.ref(), files)) {
      ++report.failed;
      continue;
    }
    KP_GUARD(store::mark_unlinked(db, *id, log::now_ms()));
  }
  return report;
}

void RetentionTimer::tick(store::Db& db, int64_t now_ms) {
  if (now_ms < next_ms_) return;
  auto settings = load_settings(data_.settings());
  if (!settings.ok()) {
    // Never delete on settings we cannot read; look again in a minute.
    log::event("retention.settings_unreadable", {{"error", settings.error().message()}});
    next_ms_ = now_ms + 60000;
    return;
  }
  next_ms_ = now_ms + settings->retention_sweep_interval_seconds * 1000;
  auto report = sweep_retention(data_, db, policy::retention_periods(*settings), now_ms, "worker",
                                kWorkerSlice);
  if (!report.ok()) {
    log::event("retention.sweep_failed", {{"error", report.error().message()}});
    return;
  }
  if (report->more) next_ms_ = now_ms;  // the next slice at the next tick, between uploads
  if (report->deleted || report->finished || report->failed)
    log::event("retention.swept", {{"deleted", std::to_string(report->deleted)},
                                   {"finished", std::to_string(report->finished)},
                                   {"waiting", std::to_string(report->waiting)},
                                   {"failed", std::to_string(report->failed)}});
}

}  // namespace kp::workers
