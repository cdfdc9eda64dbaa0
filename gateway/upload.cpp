// Atomic upload commit and crash recovery; see upload.h.
#include "gateway/upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "common/log.h"
#include "gateway/confine.h"
#include "policy/identifiers.h"
#include "store/uploads.h"

namespace kp::gateway {

bool is_temporary_name(std::string_view name) {
  for (std::string_view suffix : {".filepart", ".part", ".tmp", ".partial", ".temp", "~"})
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) return true;
  return false;
}

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
  e.event = "sftp.upload";
  e.outcome = "success";
  e.actor = p.account;
  e.role = std::string(role_name(p.role));
  e.municipality = p.municipality;
  e.size = req.size;
  e.sha256 = req.sha256_hex;
  e.source = p.source;
  e.channel = "sftp";
  // The partial file's directory entry is durable before the row says the
  // upload exists. The rename after the commit needs no directory sync: if
  // a crash loses it, recover_uploads() redoes it from the row.
  KP_GUARD(confine::fsync_dir(inbox.partial.get()));
  KP_TRY(int64_t id, store::record_upload(auth.db(), u, e));
  Status moved = confine::rename_noreplace(inbox.partial.get(), req.partial_name, inbox.dir.get(),
                                           req.final_name);
  if (!moved.ok()) {
    // A file the host placed under that name: undo the row, keep the bytes.
    (void)store::delete_upload(auth.db(), id);
    return moved.error();
  }
  return id;
}

Status recover_uploads(const DataDir& d, store::Db& db) {
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
    if (confine::stat_beneath(partial->get(), u.partial_name).ok() &&
        !confine::stat_beneath(inbox->get(), u.name).ok()) {
      Status s = confine::rename_noreplace(partial->get(), u.partial_name, inbox->get(), u.name);
      log::event("recovery.upload_placed", {{"municipality", u.municipality}, {"name", u.name},
                                            {"outcome", s.ok() ? "ok" : s.error().message()}});
      (void)confine::fsync_dir(inbox->get());
    }
  }
  // Partial files no row refers to were never acknowledged: remove them.
  auto boxes_dir = confine::open_dir(d.boxes());
  if (!boxes_dir.ok()) return ok_status();
  KP_TRY(auto boxes, confine::list_dir(boxes_dir->get()));
  for (const auto& box : boxes) {
    if (!box.is_dir() || !policy::valid_municipality_code(box.name)) continue;
    auto partial = confine::open_dir(d.box(box.name) + "/partial");
    if (!partial.ok()) continue;
    auto entries = confine::list_dir(partial->get());
    if (!entries.ok()) continue;
    for (const auto& e : *entries) {
      if (referenced.count({box.name, e.name})) continue;
      (void)confine::unlink_beneath(partial->get(), e.name);
      log::event("recovery.partial_removed", {{"municipality", box.name}, {"name", e.name}});
    }
  }
  return ok_status();
}

}  // namespace kp::gateway
