// Worker outputs; see outputs.h.
#include "workers/outputs.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/handles.h"
#include "common/log.h"
#include "gateway/confine.h"

namespace kp::workers {

std::string work_path(const DataDir& d, const std::string& stem, const char* suffix) {
  return d.root + "/work/" + stem + suffix;
}

Status write_work_file(const std::string& path, const std::string& data, bool sync) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  KP_ENSURE(fd.valid(), "io-failed", "cannot create " + path);
  KP_GUARD(write_all(fd.get(), data, path));
  if (sync) KP_ENSURE(::fsync(fd.get()) == 0, "io-failed", "cannot sync " + path);
  return ok_status();
}

void place(const std::string& work_file, const std::string& dir, const std::string& name) {
  if (::access(work_file.c_str(), F_OK) != 0) return;
  auto work_dir = confine::open_dir(work_file.substr(0, work_file.rfind('/')));
  auto to = confine::open_dir(dir);
  if (!work_dir.ok() || !to.ok()) return;
  std::string base = work_file.substr(work_file.rfind('/') + 1);
  // No directory sync: a rename lost in a crash leaves the work file, and
  // the worker's start-up moves it again.
  Status s = confine::rename_noreplace(work_dir->get(), base, to->get(), name);
  if (!s.ok() && s.error().code == "already-exists")
    (void)confine::unlink_beneath(work_dir->get(), base);
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
