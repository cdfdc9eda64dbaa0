// The SFTP request handlers and their dispatch table; see sftp_session.h.
#include "gateway/sftp_session.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "common/log.h"
#include "gateway/confine.h"
#include "gateway/upload.h"
#include "gateway/vpath.h"
#include "store/outbox.h"
#include "store/uploads.h"

namespace kp::gateway {

using sftp::Fxp;
using sftp::StatusCode;

struct SftpSession::Handle {
  enum class Kind { dir, read, write } kind = Kind::dir;
  Area* area = nullptr;  // null for the root's dir handle
  std::string name;      // file name inside the area
  Fd fd;
  // dir: a snapshot of entries taken at OPENDIR, handed out in batches
  std::vector<std::pair<std::string, sftp::Attrs>> entries;
  std::size_t next_entry = 0;
  // write: the partial file, and the hash of the bytes written in order
  std::string partial_name;
  Sha256 hasher;
  uint64_t hashed = 0;
  bool in_order = true;
  uint64_t size = 0;
  uint64_t day_bytes_before = 0;  // the municipality's bytes today before this upload
  std::optional<Error> failed;    // a refused or failed WRITE: the upload can never commit
  // read
  uint64_t bytes_read = 0;
};

namespace {

constexpr uint32_t kDirMode = S_IFDIR | 0755;
constexpr std::size_t kReaddirBatch = 100;

struct Route {
  Fxp type;
  bool writes;  // changes state on the host (for logs)
  void (SftpSession::*fn)(const sftp::Request&, std::vector<uint8_t>&);
};

sftp::Attrs dir_attrs() {
  sftp::Attrs a;
  a.flags = sftp::attr::permissions | sftp::attr::acmodtime;
  a.permissions = kDirMode;
  a.atime = a.mtime = static_cast<uint32_t>(std::time(nullptr));
  return a;
}

// Host uid/gid say nothing useful to a client and leak host details.
sftp::Attrs public_attrs(const struct stat& st) {
  sftp::Attrs a = sftp::attrs_from_stat(st);
  a.flags &= ~sftp::attr::uidgid;
  a.uid = a.gid = 0;
  return a;
}

int64_t utc_day_start_ms() {
  int64_t now = log::now_ms();
  return now - now % 86400000;
}

std::string random_hex(std::size_t bytes) {
  uint8_t buf[16];
  randombytes_buf(buf, bytes);
  return to_hex(buf, bytes);
}

}  // namespace

SftpSession::SftpSession(const Settings& settings, Authority& auth, Principal principal, View view)
    : settings_(settings), auth_(auth), principal_(std::move(principal)), view_(std::move(view)) {}

SftpSession::~SftpSession() { finish(); }

void SftpSession::finish() {
  // Uploads that were never committed were never acknowledged: drop them.
  for (auto& [id, h] : handles_) {
    if (h->kind == Handle::Kind::write && h->area)
      (void)confine::unlink_beneath(h->area->partial.get(), h->partial_name);
  }
  handles_.clear();
  if (Area* target = view_.upload_area()) {
    for (auto& [name, t] : temps_) (void)confine::unlink_beneath(target->partial.get(), t.partial_name);
  }
  temps_.clear();
}

bool SftpSession::handle(const sftp::Request& req, Out& out) {
  static const Route kRoutes[] = {
      {Fxp::realpath, false, &SftpSession::on_realpath},
      {Fxp::stat, false, &SftpSession::on_stat},
      {Fxp::lstat, false, &SftpSession::on_stat},
      {Fxp::fstat, false, &SftpSession::on_fstat},
      {Fxp::open, true, &SftpSession::on_open},
      {Fxp::close, true, &SftpSession::on_close},
      {Fxp::read, false, &SftpSession::on_read},
      {Fxp::write, true, &SftpSession::on_write},
      {Fxp::opendir, false, &SftpSession::on_opendir},
      {Fxp::readdir, false, &SftpSession::on_readdir},
      {Fxp::remove, true, &SftpSession::on_remove},
      {Fxp::rename, true, &SftpSession::on_rename},
      {Fxp::setstat, true, &SftpSession::on_setstat},
      {Fxp::fsetstat, true, &SftpSession::on_fsetstat},
      {Fxp::mkdir, true, &SftpSession::on_refused},
      {Fxp::rmdir, true, &SftpSession::on_refused},
      {Fxp::symlink, true, &SftpSession::on_refused},
      {Fxp::readlink, false, &SftpSession::on_refused},
      {Fxp::extended, false, &SftpSession::on_extended},
  };
  if (req.type == Fxp::init) {
    if (initialised_) return false;  // a second INIT is a protocol violation
    on_init(req, out);
    return true;
  }
  if (!initialised_) return false;
  // The one permission check before any handler: the principal is still
  // entitled (a revoked mandate ends access at the very next operation).
  Status entitled = auth_.recheck(principal_, std::nullopt);
  if (!entitled.ok()) {
    audit("sftp.denied", "refused", std::nullopt, {}, {}, entitled.error().code);
    reply_error(out, req.id, entitled.error(), sftp::type_name(static_cast<uint8_t>(req.type)));
    return true;
  }
  for (const Route& r : kRoutes) {
    if (r.type == req.type) {
      (this->*r.fn)(req, out);
      return true;
    }
  }
  sftp::encode_status(out, req.id, StatusCode::op_unsupported, "operation not supported");
  return true;
}

void SftpSession::on_init(const sftp::Request&, Out& out) {
  initialised_ = true;
  const sftp::ExtPair exts[] = {
      {sftp::kExtPosixRename, "1"},
      {sftp::kExtStatvfs, "2"},
      {sftp::kExtFsync, "1"},
      {sftp::kExtLimits, "1"},
  };
  sftp::encode_version(out, sftp::kProtocolVersion, exts);
}

void SftpSession::reply_error(Out& out, uint32_t id, const Error& e, std::string_view op) {
  StatusCode code = StatusCode::failure;
  if (e.code.rfind("mandate-", 0) == 0 || e.code == "account-disabled" ||
      e.code == "municipality-ambiguous" || e.code == "read-only" ||
      e.code == "no-read-back")
    code = StatusCode::permission_denied;
  else if (e.code == "already-exists" || e.code.rfind("limit-", 0) == 0)
    code = StatusCode::failure;
  else
    code = sftp::status_from_error(e);
  log::event("sftp.refused", {{"actor", principal_.account}, {"municipality", principal_.municipality},
                              {"op", op}, {"reason", e.code}, {"detail", e.detail}});
  sftp::encode_status(out, id, code, e.message());
}

void SftpSession::audit(const std::string& event, const std::string& outcome,
                        std::optional<std::string> object, std::optional<int64_t> size,
                        std::optional<std::string> sha, std::optional<std::string> reason) {
  store::AuditEvent e;
  e.event = event;
  e.outcome = outcome;
  e.object = std::move(object);
  e.size = size;
  e.sha256 = std::move(sha);
  e.reason = std::move(reason);
  auth_.audit(principal_, std::move(e));
}

Result<SftpSession::Target> SftpSession::resolve(std::string_view client_path) {
  KP_TRY(VPath path, canonicalise(client_path));
  Target t;
  t.path = path;
  if (path.is_root()) return t;
  t.area = view_.find(path.area());
  KP_ENSURE(t.area, "not-found", "no such file or directory: " + path.str());
  if (path.depth() == 2) {
    KP_ENSURE(!is_hidden_name(path.name()), "not-found", "no such file: " + path.str());
    t.name = std::string(path.name());
  }
  return t;
}

Status SftpSession::check_area(const Area& area, bool writing) {
  if (area.scope && !auth_.has_scope(principal_, *area.scope)) {
    audit("sftp.denied", "refused", "/" + area.name, {}, {}, std::string("mandate-scope-missing"));
    return make_error("mandate-scope-missing", "the mandate does not include " +
                                                   std::string(policy::scope_name(*area.scope)));
  }
  if (writing) KP_ENSURE(area.can_create, "read-only", "/" + area.name + " is read-only");
  return ok_status();
}

SftpSession::Handle* SftpSession::find_handle(std::string_view h) {
  auto it = handles_.find(std::string(h));
  return it == handles_.end() ? nullptr : it->second.get();
}

Result<std::string> SftpSession::add_handle(std::unique_ptr<Handle> h) {
  KP_ENSURE(handles_.size() < static_cast<std::size_t>(settings_.max_open_handles), "limit-handles",
            "too many open handles");
  std::string id = std::to_string(next_handle_++);
  handles_[id] = std::move(h);
  return id;
}

Result<sftp::Attrs> SftpSession::stat_target(const Target& t) {
  if (!t.area || t.name.empty()) return dir_attrs();
  KP_GUARD(check_area(*t.area, false));
  if (auto it = temps_.find(t.name); it != temps_.end() && t.area->can_create) {
    KP_TRY(struct stat st, confine::stat_beneath(t.area->partial.get(), it->second.partial_name));
    return public_attrs(st);
  }
  KP_TRY(struct stat st, confine::stat_beneath(t.area->dir.get(), t.name));
  KP_ENSURE(S_ISREG(st.st_mode), "not-found", "no such file: " + t.path.str());
  return public_attrs(st);
}

void SftpSession::on_realpath(const sftp::Request& req, Out& out) {
  auto path = canonicalise(req.path);
  if (!path.ok()) return reply_error(out, req.id, path.error(), "realpath");
  sftp::NameEntry e{path->str(), path->str(), dir_attrs()};
  sftp::encode_name(out, req.id, std::span<const sftp::NameEntry>(&e, 1));
}

void SftpSession::on_stat(const sftp::Request& req, Out& out) {
  auto t = resolve(req.path);
  if (!t.ok()) return reply_error(out, req.id, t.error(), "stat");
  auto attrs = stat_target(*t);
  if (!attrs.ok()) return reply_error(out, req.id, attrs.error(), "stat");
  sftp::encode_attrs(out, req.id, *attrs);
}

void SftpSession::on_fstat(const sftp::Request& req, Out& out) {
  Handle* h = find_handle(req.handle);
  if (!h) return reply_error(out, req.id, make_error("bad-handle", "no such handle"), "fstat");
  if (h->kind == Handle::Kind::dir) return sftp::encode_attrs(out, req.id, dir_attrs());
  struct stat st {};
  if (::fstat(h->fd.get(), &st) != 0)
    return reply_error(out, req.id, confine::error_from_errno(errno, "fstat", h->name), "fstat");
  sftp::encode_attrs(out, req.id, public_attrs(st));
}

Status SftpSession::open_upload(const Target& t, std::unique_ptr<Handle>& h) {
  KP_ENSURE(!temps_.count(t.name), "already-exists", t.name + " already exists");
  KP_GUARD(check_new_upload_name(auth_, principal_, t.name));
  KP_ENSURE(!confine::stat_beneath(t.area->dir.get(), t.name).ok(), "already-exists",
            t.name + " already exists");
  KP_TRY(store::DayUsage usage, store::usage_on_day(auth_.db(), principal_.municipality, utc_day_start_ms()));
  if (usage.files >= settings_.max_files_per_day) {
    audit("limit.hit", "refused", "/" + t.area->name + "/" + t.name, {}, {}, std::string("limit-files-per-day"));
    return make_error("limit-files-per-day", "the municipality reached its limit of " +
                                                 std::to_string(settings_.max_files_per_day) +
                                                 " uploads today");
  }
  h->kind = Handle::Kind::write;
  h->partial_name = std::to_string(::getpid()) + "-" + random_hex(8) + ".part";
  KP_TRY(Fd fd, confine::open_beneath(t.area->partial.get(), h->partial_name,
                                      O_WRONLY | O_CREAT | O_EXCL, 0600));
  h->fd = std::move(fd);
  // The day's bytes so far, for the per-write check (kept, not re-queried).
  h->day_bytes_before = static_cast<uint64_t>(usage.bytes);
  return ok_status();
}

void SftpSession::on_open(const sftp::Request& req, Out& out) {
  auto t = resolve(req.path);
  if (!t.ok()) return reply_error(out, req.id, t.error(), "open");
  if (!t->area || t->name.empty())
    return reply_error(out, req.id, make_error("permission-denied", "not a file: " + t->path.str()), "open");
  bool writing = req.pflags & (sftp::pflag::write | sftp::pflag::creat | sftp::pflag::trunc |
                               sftp::pflag::append);
  Status allowed = check_area(*t->area, writing);
  if (!allowed.ok()) return reply_error(out, req.id, allowed.error(), "open");
  auto h = std::make_unique<Handle>();
  h->area = t->area;
  h->name = t->name;
  if (writing) {
    if (req.pflags & sftp::pflag::read)
      return reply_error(out, req.id, make_error("no-read-back", "uploads cannot be read back"), "open");
    Status s = open_upload(*t, h);
    if (!s.ok()) return reply_error(out, req.id, s.error(), "open");
  } else {
    if (!t->area->can_read)
      return reply_error(out, req.id, make_error("no-read-back", "/" + t->area->name + " cannot be read"), "open");
    auto fd = confine::open_beneath(t->area->dir.get(), t->name, O_RDONLY);
    if (!fd.ok()) return reply_error(out, req.id, fd.error(), "open");
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode))
      return reply_error(out, req.id, make_error("not-found", "not a regular file"), "open");
    h->kind = Handle::Kind::read;
    h->fd = std::move(*fd);
  }
  auto id = add_handle(std::move(h));
  if (!id.ok()) return reply_error(out, req.id, id.error(), "open");
  sftp::encode_handle(out, req.id, *id);
}

void SftpSession::on_write(const sftp::Request& req, Out& out) {
  Handle* h = find_handle(req.handle);
  if (!h || h->kind != Handle::Kind::write)
    return reply_error(out, req.id, make_error("bad-handle", "not an upload handle"), "write");
  // Once a WRITE was refused the upload can never be complete: every later
  // WRITE fails too, and CLOSE discards the partial file.
  auto refuse = [&](Error e) {
    if (!h->failed) h->failed = e;
    reply_error(out, req.id, e, "write");
  };
  if (h->failed) return refuse(*h->failed);
  uint64_t end = req.offset + req.data.size();
  if (end < req.offset || end > static_cast<uint64_t>(settings_.max_file_size)) {
    audit("limit.hit", "refused", "/" + h->area->name + "/" + h->name, static_cast<int64_t>(end), {},
          std::string("limit-file-size"));
    return refuse(make_error("limit-file-size", "uploads are limited to " +
                                                    std::to_string(settings_.max_file_size) + " bytes"));
  }
  if (h->day_bytes_before + std::max(end, h->size) > static_cast<uint64_t>(settings_.max_bytes_per_day)) {
    audit("limit.hit", "refused", "/" + h->area->name + "/" + h->name, static_cast<int64_t>(end), {},
          std::string("limit-bytes-per-day"));
    return refuse(make_error("limit-bytes-per-day", "the municipality reached its daily upload volume"));
  }
  const char* p = req.data.data();
  std::size_t left = req.data.size();
  uint64_t off = req.offset;
  while (left > 0) {
    ssize_t n = ::pwrite(h->fd.get(), p, left, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return refuse(confine::error_from_errno(errno, "write", h->name));
    p += n;
    left -= static_cast<std::size_t>(n);
    off += static_cast<uint64_t>(n);
  }
  if (h->in_order && req.offset == h->hashed) {
    h->hasher.update(req.data.data(), req.data.size());
    h->hashed += req.data.size();
  } else if (req.data.size() > 0) {
    h->in_order = false;  // rehash from disk at close
  }
  h->size = std::max(h->size, end);
  reply_ok(out, req.id);
}

void SftpSession::on_read(const sftp::Request& req, Out& out) {
  Handle* h = find_handle(req.handle);
  if (!h || h->kind != Handle::Kind::read)
    return reply_error(out, req.id, make_error("bad-handle", "not a read handle"), "read");
  std::size_t want = std::min<std::size_t>(req.length, sftp::kMaxReadLength);
  std::size_t start = sftp::begin_data(out, req.id);
  std::size_t at = out.size();
  out.resize(at + want);
  std::size_t got = 0;
  // Never a short read except at end of file.
  while (got < want) {
    ssize_t n = ::pread(h->fd.get(), out.data() + at + got, want - got,
                        static_cast<off_t>(req.offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sftp::cancel_packet(out, start);
      return reply_error(out, req.id, confine::error_from_errno(errno, "read", h->name), "read");
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got == 0 && want > 0) {
    sftp::cancel_packet(out, start);
    return sftp::encode_status(out, req.id, StatusCode::eof, "end of file");
  }
  out.resize(at + got);
  sftp::end_data(out, start);
  h->bytes_read += got;
}

Status SftpSession::close_upload(Handle& h) {
  if (h.failed)
    return make_error(h.failed->code, "the upload was not stored: an earlier write was refused (" +
                                          h.failed->detail + ")");
  if (::fsync(h.fd.get()) != 0) return confine::error_from_errno(errno, "fsync", h.name);
  struct stat st {};
  if (::fstat(h.fd.get(), &st) != 0) return confine::error_from_errno(errno, "fstat", h.name);
  std::string sha;
  if (h.in_order && h.hashed == static_cast<uint64_t>(st.st_size)) {
    sha = to_hex(h.hasher.finish());
  } else {
    // Out-of-order writes: hash what is on disk now.
    KP_TRY(Fd rfd, confine::open_beneath(h.area->partial.get(), h.partial_name, O_RDONLY));
    Sha256 hasher;
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(rfd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return confine::error_from_errno(errno, "read", h.name);
      if (n == 0) break;
      hasher.update(buf.data(), static_cast<std::size_t>(n));
    }
    sha = to_hex(hasher.finish());
  }
  h.fd.reset();
  if (is_temporary_name(h.name)) {
    temps_[h.name] = TempUpload{h.partial_name, st.st_size, sha};
    h.partial_name.clear();  // owned by temps_ now
    return ok_status();
  }
  CommitRequest c{h.partial_name, h.name, st.st_size, sha};
  auto id = commit_upload(auth_, principal_, *h.area, c);
  if (!id.ok()) {
    (void)confine::unlink_beneath(h.area->partial.get(), h.partial_name);
    h.partial_name.clear();
    audit("sftp.upload", "refused", "/" + h.area->name + "/" + h.name, st.st_size, sha, id.error().code);
    return id.error();
  }
  h.partial_name.clear();
  log::event("sftp.upload", {{"actor", principal_.account}, {"municipality", principal_.municipality},
                             {"name", h.name}, {"size", std::to_string(st.st_size)}, {"sha256", sha}});
  return ok_status();
}

void SftpSession::on_close(const sftp::Request& req, Out& out) {
  auto it = handles_.find(std::string(req.handle));
  if (it == handles_.end()) return reply_error(out, req.id, make_error("bad-handle", "no such handle"), "close");
  std::unique_ptr<Handle> h = std::move(it->second);
  handles_.erase(it);
  if (h->kind == Handle::Kind::write) {
    Status s = close_upload(*h);
    if (!s.ok()) {
      if (!h->partial_name.empty()) (void)confine::unlink_beneath(h->area->partial.get(), h->partial_name);
      return reply_error(out, req.id, s.error(), "close");
    }
  } else if (h->kind == Handle::Kind::read) {
    audit("sftp.download", "success", "/" + h->area->name + "/" + h->name, static_cast<int64_t>(h->bytes_read));
  }
  reply_ok(out, req.id);
}

void SftpSession::on_opendir(const sftp::Request& req, Out& out) {
  auto t = resolve(req.path);
  if (!t.ok()) return reply_error(out, req.id, t.error(), "opendir");
  if (!t->name.empty())
    return reply_error(out, req.id, make_error("not-a-directory", t->path.str() + " is not a directory"), "opendir");
  auto h = std::make_unique<Handle>();
  h->kind = Handle::Kind::dir;
  h->area = t->area;
  if (!t->area) {
    for (const auto& a : view_.areas()) h->entries.emplace_back(a.name, dir_attrs());
  } else {
    Status allowed = check_area(*t->area, false);
    if (!allowed.ok()) return reply_error(out, req.id, allowed.error(), "opendir");
    auto list = confine::list_dir(t->area->dir.get());
    if (!list.ok()) return reply_error(out, req.id, list.error(), "opendir");
    for (const auto& e : *list)
      if (e.is_regular() && !is_hidden_name(e.name)) h->entries.emplace_back(e.name, public_attrs(e.st));
    if (t->area->can_create) {
      for (const auto& [name, temp] : temps_) {
        auto st = confine::stat_beneath(t->area->partial.get(), temp.partial_name);
        if (st.ok()) h->entries.emplace_back(name, public_attrs(*st));
      }
    }
    // A stable order for clients that show the server's order (ls -f, paramiko).
    std::sort(h->entries.begin(), h->entries.end(), [&](const auto& x, const auto& y) {
      return t->area->descending ? x.first > y.first : x.first < y.first;
    });
  }
  auto id = add_handle(std::move(h));
  if (!id.ok()) return reply_error(out, req.id, id.error(), "opendir");
  sftp::encode_handle(out, req.id, *id);
}

void SftpSession::on_readdir(const sftp::Request& req, Out& out) {
  Handle* h = find_handle(req.handle);
  if (!h || h->kind != Handle::Kind::dir)
    return reply_error(out, req.id, make_error("bad-handle", "not a directory handle"), "readdir");
  if (h->next_entry >= h->entries.size()) return sftp::encode_status(out, req.id, StatusCode::eof, "end of directory");
  std::size_t start = sftp::begin_name(out, req.id);
  uint32_t count = 0;
  std::time_t now = std::time(nullptr);
  while (h->next_entry < h->entries.size() && count < kReaddirBatch) {
    const auto& [name, attrs] = h->entries[h->next_entry++];
    sftp::add_name(out, name, sftp::longname(name, attrs, "knooppunt", "knooppunt", now), attrs);
    ++count;
  }
  sftp::end_name(out, start, count);
}

void SftpSession::on_remove(const sftp::Request& req, Out& out) {
  auto t = resolve(req.path);
  if (!t.ok()) return reply_error(out, req.id, t.error(), "remove");
  if (!t->area || t->name.empty())
    return reply_error(out, req.id, make_error("permission-denied", "cannot remove " + t->path.str()), "remove");
  Status allowed = check_area(*t->area, false);
  if (!allowed.ok()) return reply_error(out, req.id, allowed.error(), "remove");
  Area& a = *t->area;
  if (a.can_create) {
    // Only this session's own uncommitted temporary upload may be removed
    // (a client cancelling a transfer); registered uploads stay.
    auto it = temps_.find(t->name);
    if (it == temps_.end())
      return reply_error(out, req.id, make_error("permission-denied", "uploads cannot be removed"), "remove");
    (void)confine::unlink_beneath(a.partial.get(), it->second.partial_name);
    temps_.erase(it);
    return reply_ok(out, req.id);
  }
  if (!a.can_acknowledge)
    return reply_error(out, req.id, make_error("permission-denied", "/" + a.name + " is read-only"), "remove");
  // Acknowledge: move to the archive, never destroy.
  auto st = confine::stat_beneath(a.dir.get(), t->name);
  if (!st.ok() || !S_ISREG(st->st_mode))
    return reply_error(out, req.id, st.ok() ? make_error("not-found", "not a file") : st.error(), "remove");
  std::string archived = t->name;
  Status moved = confine::rename_noreplace(a.dir.get(), t->name, a.archive.get(), archived);
  if (!moved.ok() && moved.error().code == "already-exists") {
    archived = t->name + "." + std::to_string(log::now_ms());
    moved = confine::rename_noreplace(a.dir.get(), t->name, a.archive.get(), archived);
  }
  if (!moved.ok()) return reply_error(out, req.id, moved.error(), "remove");
  (void)confine::fsync_dir(a.archive.get());
  (void)confine::fsync_dir(a.dir.get());
  Status recorded = store::record_acknowledgement(auth_.db(), principal_.municipality, t->name, archived, log::now_ms());
  if (!recorded.ok()) log::event("sftp.acknowledge_unrecorded", {{"error", recorded.error().message()}});
  audit("sftp.acknowledge", "success", "/" + a.name + "/" + t->name, static_cast<int64_t>(st->st_size));
  reply_ok(out, req.id);
}

Status SftpSession::finish_temp(const std::string& temp, const std::string& final_name) {
  Area* target = view_.upload_area();
  KP_ENSURE(target, "permission-denied", "nothing can be uploaded here");
  auto it = temps_.find(temp);
  KP_ENSURE(it != temps_.end(), "permission-denied", "only an upload of this session under a temporary name can be renamed");
  if (is_temporary_name(final_name)) {
    KP_ENSURE(!temps_.count(final_name), "already-exists", final_name + " already exists");
    TempUpload t = it->second;
    temps_.erase(it);
    temps_[final_name] = t;
    return ok_status();
  }
  KP_GUARD(check_new_upload_name(auth_, principal_, final_name));
  CommitRequest c{it->second.partial_name, final_name, it->second.size, it->second.sha256_hex};
  KP_TRY(int64_t id, commit_upload(auth_, principal_, *target, c));
  (void)id;
  temps_.erase(it);
  log::event("sftp.upload", {{"actor", principal_.account}, {"municipality", principal_.municipality},
                             {"name", final_name}, {"size", std::to_string(c.size)}, {"sha256", c.sha256_hex},
                             {"renamed_from", temp}});
  return ok_status();
}

void SftpSession::on_rename(const sftp::Request& req, Out& out) {
  auto from = resolve(req.path);
  if (!from.ok()) return reply_error(out, req.id, from.error(), "rename");
  auto to = resolve(req.path2);
  if (!to.ok()) return reply_error(out, req.id, to.error(), "rename");
  if (!from->area || !to->area || from->area != to->area || from->name.empty() || to->name.empty() ||
      !from->area->can_create)
    return reply_error(out, req.id, make_error("permission-denied", "rename is only for finishing an upload"),
                       "rename");
  Status allowed = check_area(*from->area, true);
  if (!allowed.ok()) return reply_error(out, req.id, allowed.error(), "rename");
  Status s = finish_temp(from->name, to->name);
  if (!s.ok()) return reply_error(out, req.id, s.error(), "rename");
  reply_ok(out, req.id);
}

void SftpSession::on_setstat(const sftp::Request& req, Out& out) {
  // Clients set times and modes after an upload (sftp put -p, WinSCP). On
  // this session's own uncommitted uploads that is accepted and ignored;
  // everything else is refused.
  auto t = resolve(req.path);
  if (!t.ok()) return reply_error(out, req.id, t.error(), "setstat");
  if (t->area && t->area->can_create && temps_.count(t->name)) return reply_ok(out, req.id);
  reply_error(out, req.id, make_error("permission-denied", "attributes cannot be changed"), "setstat");
}

void SftpSession::on_fsetstat(const sftp::Request& req, Out& out) {
  Handle* h = find_handle(req.handle);
  if (h && h->kind == Handle::Kind::write) return reply_ok(out, req.id);
  reply_error(out, req.id, make_error("permission-denied", "attributes cannot be changed"), "fsetstat");
}

void SftpSession::on_refused(const sftp::Request& req, Out& out) {
  reply_error(out, req.id,
              make_error("permission-denied", sftp::type_name(static_cast<uint8_t>(req.type)) + " is not allowed"),
              sftp::type_name(static_cast<uint8_t>(req.type)));
}

void SftpSession::on_extended(const sftp::Request& req, Out& out) {
  switch (req.ext) {
    case sftp::Ext::posix_rename:
      return on_rename(req, out);
    case sftp::Ext::limits: {
      sftp::Limits l;
      l.max_open_handles = static_cast<uint64_t>(settings_.max_open_handles);
      return sftp::encode_limits(out, req.id, l);
    }
    case sftp::Ext::statvfs: {
      auto t = resolve(req.path);
      if (!t.ok()) return reply_error(out, req.id, t.error(), "statvfs");
      Area* a = t->area ? t->area : (view_.areas().empty() ? nullptr : view_.find(view_.areas()[0].name));
      struct statvfs v {};
      if (!a || ::fstatvfs(a->dir.get(), &v) != 0)
        return reply_error(out, req.id, make_error("failed", "statvfs failed"), "statvfs");
      return sftp::encode_statvfs(out, req.id, sftp::statvfs_from(v));
    }
    case sftp::Ext::fsync: {
      Handle* h = find_handle(req.handle);
      if (!h || h->kind != Handle::Kind::write)
        return reply_error(out, req.id, make_error("bad-handle", "not an upload handle"), "fsync");
      if (::fsync(h->fd.get()) != 0)
        return reply_error(out, req.id, confine::error_from_errno(errno, "fsync", h->name), "fsync");
      return reply_ok(out, req.id);
    }
    default:
      return sftp::encode_status(out, req.id, StatusCode::op_unsupported, "extension not supported");
  }
}

}  // namespace kp::gateway
