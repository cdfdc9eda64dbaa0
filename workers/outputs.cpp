// Worker outputs; see outputs.h.
#include "workers/outputs.h"

#include <fcntl.h>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/fsio.h"
#include "common/handles.h"
#include "common/log.h"
#include "common/confine.h"

namespace kp::workers {

std::string work_path(const DataDir& d, const std::string& stem, const char* suffix) {
  return d.root + "/work/" + stem + suffix;
}

Status write_work_file(const std::string& path, const std::string& data, bool sync) {
  Fd fd(fsio::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  KP_ENSURE(fd.valid(), "io-failed", "cannot create " + path);
  Status s = write_all(fd.get(), data, path);
  if (s.ok() && sync && fsio::fsync(fd.get()) != 0) s = make_error("io-failed", "cannot sync " + path);
  if (!s.ok() && fsio::unlink(path.c_str()) != 0 && errno != ENOENT)
    return make_error("io-failed", s.error().detail + "; the incomplete " + path + " stays");
  return s;
}

void discard_work_file(const std::string& path) {
  if (fsio::unlink(path.c_str()) != 0 && errno != ENOENT)
    log::event("worker.discard_failed", {{"path", path}, {"error", std::strerror(errno)}});
}

Status DirSyncs::flush() {
  Status first = ok_status();
  for (const std::string& dir : dirs_) {
    auto fd = confine::open_dir(dir);
    Status s = fd.ok() ? confine::fsync_dir(fd->get()) : Status(fd.error());
    if (first.ok() && !s.ok()) first = s;
  }
  dirs_.clear();
  return first;
}

Result<Placement> place(const std::string& work_file, const std::string& dir, const std::string& name,
                        DirSyncs* later) {
  if (::access(work_file.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return Placement::gone;
    return make_error("io-failed", "cannot look for " + work_file);
  }
  const std::string base = work_file.substr(work_file.rfind('/') + 1);
  KP_TRY(Fd work_dir, confine::open_dir(work_file.substr(0, work_file.rfind('/'))));
  KP_TRY(Fd to, confine::open_dir(dir));
  Status moved = confine::rename_noreplace(work_dir.get(), base, to.get(), name);
  if (!moved.ok()) {
    // Already there (placed before a crash, or by another worker): the work
    // file is a copy of it. Anything else is an error the caller reports.
    if (!confine::stat_beneath(to.get(), name).ok()) return moved.error();
    KP_GUARD(confine::unlink_beneath(work_dir.get(), base));
    // Renamed before a crash, maybe not yet durable: synced like a new one.
    if (later) later->add(dir);
    else KP_GUARD(confine::fsync_dir(to.get()));
    return Placement::already_there;
  }
  // Durable before the caller records it: a placement the store remembers
  // must not be undone by a crash.
  if (later) later->add(dir);
  else KP_GUARD(confine::fsync_dir(to.get()));
  return Placement::placed;
}

store::AuditEvent worker_event(const std::string& actor, const char* kind, const store::Upload& u,
                               const std::string& event, const std::string& outcome,
                               std::optional<std::string> reason) {
  store::AuditEvent e;
  e.ts_ms = log::now_ms();
  e.event = event;
  e.outcome = outcome;
  e.actor = actor;
  e.role = "system";
  if (!u.municipality.empty()) e.municipality = u.municipality;
  e.object = std::string(kind) + "/" + std::to_string(u.id) + " " + u.name;
  e.size = u.size;
  e.sha256 = u.sha256;
  e.channel = "worker";
  e.reason = std::move(reason);
  return e;
}

}  // namespace kp::workers
