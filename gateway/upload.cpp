// Atomic upload commit and crash recovery; see upload.h.
#include "gateway/upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "common/log.h"
#include "common/confine.h"
#include "policy/identifiers.h"
#include "store/submissions.h"
#include "store/uploads.h"

namespace kp::gateway {

bool is_temporary_name(std::string_view name) {
  for (std::string_view suffix : {".filepart", ".part", ".tmp", ".partial", ".temp", "~"})
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) return true;
  return false;
}

Status check_new_upload_name(Authority& auth, const Principal& p, const std::string& name) {
  if (p.role == Role::staff) {
    for (std::string_view suffix : {".receipt.json", ".receipt.json.minisig"})
      KP_ENSURE(!(name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0),
                "name-reserved", "names ending in " + std::string(suffix) + " are kept for the gateway's receipts");
    KP_TRY(bool taken, store::submission_name_taken(auth.db(), name));
    KP_ENSURE(!taken, "already-exists", name + " was uploaded before; upload under a new name");
    return ok_status();
  }
  KP_TRY(bool taken, store::upload_name_taken(auth.db(), p.municipality, name));
  KP_ENSURE(!taken, "already-exists", name + " was uploaded before; upload under a new name");
  return ok_status();
}

namespace {

// Removes a committed row whose file could not be placed and appends
// "<channel>.upload_undone" (failed, with the reason) after its success record.
Status undo_commit(store::Db& db, bool staff, int64_t id, store::AuditEvent e, const Error& why) {
  KP_TRY(store::Transaction tx, store::Transaction::begin(db));
  KP_GUARD(staff ? store::delete_submission(db, id) : store::delete_upload(db, id));
  e.ts_ms = log::now_ms();
  e.event = e.channel.value_or("sftp") + ".upload_undone";
  e.outcome = "failed";
  e.reason = why.code;
  KP_GUARD(store::append_audit(db, e));
  return tx.commit();
}

}  // namespace

Result<int64_t> commit_upload(Authority& auth, const Principal& p, Area& inbox,
                              const CommitRequest& req) {
  store::Upload u;
  u.municipality = p.municipality;
  u.person = p.account;
  u.name = req.final_name;
  u.partial_name = req.partial_name;
  u.size = req.size;
  u.sha256 = req.sha256_hex;
  u.received_ms = log::now_ms();
  store::AuditEvent e;
  e.event = req.channel + ".upload";
  e.outcome = "success";
  e.actor = p.account;
  e.role = std::string(role_name(p.role));
  e.municipality = p.municipality;
  e.size = req.size;
  e.sha256 = req.sha256_hex;
  e.source = p.source;
  e.channel = req.channel;
  // The partial file's directory entry is durable before the row says the
  // upload exists. The rename after the commit needs no directory sync: if
  // a crash loses it, recover_uploads() redoes it from the row.
  KP_GUARD(confine::fsync_dir(inbox.partial.get()));
  const bool staff = p.role == Role::staff;
  KP_TRY(int64_t id, staff ? store::record_submission(auth.db(), u, e) : store::record_upload(auth.db(), u, e, req.limits));
  Status moved = confine::rename_noreplace(inbox.partial.get(), req.partial_name, inbox.dir.get(),
                                           req.final_name);
  if (!moved.ok()) {
    // A file the host placed under that name: undo the row, keep the bytes,
    // and tell the transfer log (which only grows) that the upload it
    // recorded did not happen, in the same transaction. Should that fail
    // too, the row stays without a file, which the worker ends as
    // intake-failed; the client hears the rename's error either way.
    Status undone = undo_commit(auth.db(), staff, id, e, moved.error());
    if (!undone.ok())
      log::event("upload.undo_failed", {{"name", req.final_name}, {"error", undone.error().message()}});
    return moved.error();
  }
  return id;
}

namespace {

// Finishes the rename of a committed row whose partial file is still there.
void place_committed(int partial, int dir, const store::Upload& u, const std::string& where) {
  if (!confine::stat_beneath(partial, u.partial_name).ok() || confine::stat_beneath(dir, u.name).ok()) return;
  Status s = confine::rename_noreplace(partial, u.partial_name, dir, u.name);
  if (s.ok()) s = confine::fsync_dir(dir);
  log::event("recovery.upload_placed",
             {{"where", where}, {"name", u.name}, {"outcome", s.ok() ? "ok" : s.error().message()}});
}

// Removes partial files that no committed row refers to: they were never
// acknowledged to any client.
void remove_unreferenced(int partial, const std::set<std::string>& referenced, const std::string& where) {
  auto entries = confine::list_dir(partial);
  if (!entries.ok()) return;
  for (const auto& e : *entries) {
    if (referenced.count(e.name)) continue;
    Status removed = confine::unlink_beneath(partial, e.name);
    log::event("recovery.partial_removed", {{"where", where}, {"name", e.name},
                                            {"outcome", removed.ok() ? "ok" : removed.error().message()}});
  }
}

// Staff submissions in /outgoing.
Status recover_submissions(const DataDir& d, store::Db& db) {
  KP_GUARD(ensure_dir(d.outgoing_partial()));
  KP_TRY(Fd outgoing, confine::open_dir(d.outgoing()));
  KP_TRY(Fd partial, confine::open_dir(d.outgoing_partial()));
  KP_TRY(auto submissions, store::list_submissions(db));
  std::set<std::string> referenced;
  for (const auto& s : submissions) {
    referenced.insert(s.partial_name);
    place_committed(partial.get(), outgoing.get(), s, "outgoing");
  }
  remove_unreferenced(partial.get(), referenced, "outgoing");
  return ok_status();
}

}  // namespace

Status recover_uploads(const DataDir& d, store::Db& db) {
  KP_GUARD(recover_submissions(d, db));
  KP_TRY(auto uploads, store::list_uploads(db));
  std::set<std::pair<std::string, std::string>> referenced;
  for (const auto& u : uploads) {
    referenced.insert({u.municipality, u.partial_name});
    if (!policy::valid_municipality_code(u.municipality)) continue;
    // A processed upload was read from the inbox, so its rename happened;
    // its original may since have been deleted by retention, and a partial
    // file left beside it (link + unlink fallback) must not bring it back.
    if (u.state == "accepted" || u.state == "rejected") continue;
    std::string box = d.box(u.municipality);
    auto inbox = confine::open_dir(box + "/inbox");
    auto partial = confine::open_dir(box + "/partial");
    if (!inbox.ok() || !partial.ok()) continue;
    place_committed(partial->get(), inbox->get(), u, u.municipality);
  }
  // Partial files no row refers to were never acknowledged: remove them.
  auto boxes_dir = confine::open_dir(d.boxes());
  if (!boxes_dir.ok()) return ok_status();
  KP_TRY(auto boxes, confine::list_dir(boxes_dir->get()));
  for (const auto& box : boxes) {
    if (!box.is_dir() || !policy::valid_municipality_code(box.name)) continue;
    auto partial = confine::open_dir(d.box(box.name) + "/partial");
    if (!partial.ok()) continue;
    std::set<std::string> names;
    for (const auto& [code, name] : referenced)
      if (code == box.name) names.insert(name);
    remove_unreferenced(partial->get(), names, box.name);
  }
  return ok_status();
}

}  // namespace kp::gateway
