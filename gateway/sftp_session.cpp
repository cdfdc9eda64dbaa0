// The SFTP request handlers and their dispatch table; see sftp_session.h.
#include "gateway/sftp_session.h"

#include "common/fsio.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <utility>

#include "common/dates.h"
#include "common/log.h"
#include "common/pair_file.h"
#include "common/confine.h"
#include "gateway/public_attrs.h"
#include "gateway/test_hooks.h"
#include "gateway/vpath.h"

namespace kp::gateway {

using monitor::Op;
using sftp::Fxp;
using sftp::StatusCode;

struct SftpSession::Handle {
  enum class Kind { dir, read, write } kind = Kind::dir;
  std::string name;    // the client's path, for messages
  uint32_t token = 0;  // the monitor's name for it (0: none, or already discarded)
  Fd fd;
  // dir: a snapshot of entries taken at OPENDIR, handed out in batches
  std::vector<monitor::Entry> entries;
  std::size_t next_entry = 0;
  // write: the byte ranges received (sorted, merged; [begin, end)), so the
  // hash never covers a byte the client did not send
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  uint64_t received = 0;
  // write: the hash of the bytes written in order
  Sha256 hasher;
  uint64_t hashed = 0;
  bool in_order = true;
  uint64_t size = 0;
  uint64_t day_bytes_before = 0;  // the municipality's bytes today before this upload
  std::optional<Error> failed;    // a refused or failed WRITE: the upload can never commit
  // read: the served file is `prefix`, then fd's bytes from `skip`
  // (a two-part file, common/pair_file.h; empty and 0 for an ordinary one)
  uint64_t bytes_read = 0;
  std::string prefix;
  uint64_t skip = 0;
  sftp::Attrs attrs;
};

namespace {

constexpr std::size_t kReaddirBatch = 100;
// A status message stays short enough for a client that prints it on one
// line; the cut never splits a UTF-8 sequence.
constexpr std::size_t kMaxClientMessage = 300;
// Lines on the client's stderr per session, so a loop of refused requests
// cannot flood it.
constexpr int kMaxNotices = 64;

std::string client_message(const Error& e) {
  std::string m = e.message();
  if (m.size() <= kMaxClientMessage) return m;
  std::size_t cut = kMaxClientMessage - 3;
  while (cut > 0 && (static_cast<unsigned char>(m[cut]) & 0xC0) == 0x80) --cut;
  return m.substr(0, cut) + "...";
}
constexpr std::size_t kMaxRanges = 1024;

// Adds [b, e) to the sorted, merged `ranges`; returns how many bytes they cover now.
uint64_t add_range(std::vector<std::pair<uint64_t, uint64_t>>& ranges, uint64_t b, uint64_t e) {
  if (b < e) {
    auto it = std::lower_bound(ranges.begin(), ranges.end(), std::make_pair(b, uint64_t(0)));
    if (it != ranges.begin() && std::prev(it)->second >= b) --it;
    while (it != ranges.end() && it->first <= e) {
      b = std::min(b, it->first);
      e = std::max(e, it->second);
      it = ranges.erase(it);
    }
    ranges.insert(it, {b, e});
  }
  uint64_t covered = 0;
  for (const auto& [x, y] : ranges) covered += y - x;
  return covered;
}

struct Route {
  Fxp type;
  void (SftpSession::*fn)(const sftp::Request&, std::vector<uint8_t>&);
};

monitor::Request path_request(Op op, std::string_view path, std::string_view path2 = {}) {
  monitor::Request q;
  q.op = op;
  q.path = std::string(path);
  q.path2 = std::string(path2);
  return q;
}

}  // namespace

SftpSession::SftpSession(const Settings& settings, MonitorClient& monitor, SessionLabel label)
    : settings_(settings), monitor_(monitor), label_(std::move(label)) {}

SftpSession::~SftpSession() { finish(); }

void SftpSession::finish() {
  if (finished_) return;
  finished_ = true;
  handles_.clear();
  monitor::Request q;
  q.op = Op::session_end;
  (void)monitor_.call(q);  // a monitor that is gone drops the uploads itself
}

bool SftpSession::handle(const sftp::Request& req, Out& out) {
  static const Route kRoutes[] = {
      {Fxp::realpath, &SftpSession::on_realpath},
      {Fxp::stat, &SftpSession::on_stat},
      {Fxp::lstat, &SftpSession::on_stat},
      {Fxp::fstat, &SftpSession::on_fstat},
      {Fxp::open, &SftpSession::on_open},
      {Fxp::close, &SftpSession::on_close},
      {Fxp::read, &SftpSession::on_read},
      {Fxp::write, &SftpSession::on_write},
      {Fxp::opendir, &SftpSession::on_opendir},
      {Fxp::readdir, &SftpSession::on_readdir},
      {Fxp::remove, &SftpSession::on_remove},
      {Fxp::rename, &SftpSession::on_rename},
      {Fxp::setstat, &SftpSession::on_setstat},
      {Fxp::fsetstat, &SftpSession::on_fsetstat},
      {Fxp::mkdir, &SftpSession::on_refused},
      {Fxp::rmdir, &SftpSession::on_refused},
      {Fxp::symlink, &SftpSession::on_refused},
      {Fxp::readlink, &SftpSession::on_refused},
      {Fxp::extended, &SftpSession::on_extended},
  };
  if (req.type == Fxp::init) {
    if (initialised_) return false;  // a second INIT is a protocol violation
    on_init(req, out);
    return true;
  }
  if (!initialised_) return false;
  // The monitor found the principal no longer entitled: nothing more, not
  // even reads and writes on descriptors already held.
  if (std::string why = monitor_.revoked(); !why.empty()) {
    reply_error(out, req.id, make_error(why, "this session is no longer entitled"),
                sftp::type_name(static_cast<uint8_t>(req.type)));
    return true;
  }
  bool handled = false;
  for (const Route& r : kRoutes) {
    if (r.type == req.type) {
      (this->*r.fn)(req, out);
      handled = true;
      break;
    }
  }
  if (!handled) sftp::encode_status(out, req.id, StatusCode::op_unsupported, "operation not supported");
  return !monitor_.broken();
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
  log::event("sftp.refused", {{"actor", label_.account}, {"municipality", label_.municipality},
                              {"op", op}, {"reason", e.code}, {"detail", e.detail}});
  const std::string message = client_message(e);
  sftp::encode_status(out, id, code, message);
  // "No such file" answers the probes every client makes (does the target
  // exist?): not worth a line on the user's screen.
  if (code != StatusCode::no_such_file && notices_sent_ < kMaxNotices) {
    ++notices_sent_;
    notices_ += "knooppunt: " + message + "\r\n";
  }
}

std::string SftpSession::take_notices() { return std::exchange(notices_, {}); }

void SftpSession::simple(Op op, std::string_view path, std::string_view path2, const sftp::Request& req,
                         Out& out, std::string_view what) {
  auto r = monitor_.call(path_request(op, path, path2));
  if (!r.ok()) return reply_error(out, req.id, r.error(), what);
  if (r->error) return reply_error(out, req.id, *r->error, what);
  reply_ok(out, req.id);
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

void SftpSession::on_realpath(const sftp::Request& req, Out& out) {
  auto path = canonicalise(req.path);
  if (!path.ok()) return reply_error(out, req.id, path.error(), "realpath");
  sftp::NameEntry e{path->str(), path->str(), dir_attrs()};
  sftp::encode_name(out, req.id, std::span<const sftp::NameEntry>(&e, 1));
}

void SftpSession::on_stat(const sftp::Request& req, Out& out) {
  auto r = monitor_.call(path_request(Op::stat, req.path));
  if (!r.ok()) return reply_error(out, req.id, r.error(), "stat");
  if (r->error) return reply_error(out, req.id, *r->error, "stat");
  sftp::encode_attrs(out, req.id, r->attrs);
}

void SftpSession::on_fstat(const sftp::Request& req, Out& out) {
  Handle* h = find_handle(req.handle);
  if (!h) return reply_error(out, req.id, make_error("bad-handle", "no such handle"), "fstat");
  if (h->kind == Handle::Kind::dir) return sftp::encode_attrs(out, req.id, dir_attrs());
  if (h->kind == Handle::Kind::read) return sftp::encode_attrs(out, req.id, h->attrs);
  struct stat st {};
  if (::fstat(h->fd.get(), &st) != 0)
    return reply_error(out, req.id, confine::error_from_errno(errno, "fstat", h->name), "fstat");
  sftp::encode_attrs(out, req.id, public_attrs(st));
}

void SftpSession::on_open(const sftp::Request& req, Out& out) {
  if (handles_.size() >= static_cast<std::size_t>(settings_.max_open_handles))
    return reply_error(out, req.id, make_error("limit-handles", "too many open handles"), "open");
  bool writing = req.pflags & (sftp::pflag::write | sftp::pflag::creat | sftp::pflag::trunc |
                               sftp::pflag::append);
  auto h = std::make_unique<Handle>();
  h->name = std::string(req.path);
  auto r = monitor_.call(path_request(writing ? Op::open_write : Op::open_read, req.path), &h->fd);
  if (!r.ok()) return reply_error(out, req.id, r.error(), "open");
  if (r->error) return reply_error(out, req.id, *r->error, "open");
  if (!h->fd.valid()) return reply_error(out, req.id, make_error("monitor-gone", "no descriptor came"), "open");
  h->kind = writing ? Handle::Kind::write : Handle::Kind::read;
  h->token = r->token;
  if (writing) {
    h->day_bytes_before = r->value;
  } else {
    h->skip = r->value;
    h->prefix = std::move(r->prefix);
    h->attrs = r->attrs;
  }
  auto id = add_handle(std::move(h));
  if (!id.ok()) return reply_error(out, req.id, id.error(), "open");
  sftp::encode_handle(out, req.id, *id);
}

void SftpSession::discard(Handle& h, const Error& why, uint64_t end) {
  if (h.token == 0) return;
  monitor::Request q;
  q.op = Op::discard;
  q.token = h.token;
  q.size = end;
  q.reason = why.code.substr(0, monitor::kMaxReason);
  h.token = 0;
  (void)monitor_.call(q);
}

void SftpSession::on_write(const sftp::Request& req, Out& out) {
  Handle* h = find_handle(req.handle);
  if (!h || h->kind != Handle::Kind::write)
    return reply_error(out, req.id, make_error("bad-handle", "not an upload handle"), "write");
  // Once a WRITE was refused the upload can never be complete: the monitor
  // drops the partial file at once, every later WRITE fails, CLOSE too.
  uint64_t end = req.offset + req.data.size();
  auto refuse = [&](Error e) {
    if (!h->failed) {
      h->failed = e;
      discard(*h, e, end);
    }
    reply_error(out, req.id, *h->failed, "write");
  };
  if (h->failed) return refuse(*h->failed);
  // No sparse uploads: a write starts within max_write_gap of the bytes
  // received so far, so a 1-byte write at 1 GiB costs nothing to refuse.
  if (req.offset > h->received + static_cast<uint64_t>(settings_.max_write_gap))
    return refuse(make_error("upload-sparse", "a write may start at most " + std::to_string(settings_.max_write_gap) +
                                                  " bytes beyond the bytes sent so far"));
  if (end < req.offset || end > static_cast<uint64_t>(settings_.max_file_size))
    return refuse(make_error("limit-file-size", "uploads are limited to " +
                                                    std::to_string(settings_.max_file_size) + " bytes"));
  if (h->day_bytes_before + std::max(end, h->size) > static_cast<uint64_t>(settings_.max_bytes_per_day))
    return refuse(make_error("limit-bytes-per-day", "the municipality reached its daily upload volume; " +
                                                        daily_reset_text(log::now_ms())));
  if (h->ranges.size() >= kMaxRanges && !req.data.empty())
    return refuse(make_error("upload-fragmented", "too many separate pieces; send the file in order"));
  const char* p = req.data.data();
  std::size_t left = req.data.size();
  uint64_t off = req.offset;
  while (left > 0) {
    ssize_t n = fsio::pwrite(h->fd.get(), p, left, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return refuse(confine::error_from_errno(n < 0 ? errno : ENOSPC, "write", h->name));
    p += n;
    left -= static_cast<std::size_t>(n);
    off += static_cast<uint64_t>(n);
  }
  h->received = add_range(h->ranges, req.offset, end);
  if (h->in_order && req.offset == h->hashed) {
    h->hasher.update(req.data.data(), req.data.size());
    h->hashed += req.data.size();
  } else if (req.data.size() > 0) {
    h->in_order = false;  // rehash from the file at close
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
  // Never a short read except at end of file.
  const long n = pair_file::read_at(h->prefix, h->skip, h->fd.get(), req.offset,
                                    reinterpret_cast<uint8_t*>(out.data() + at), want);
  if (n < 0) {
    sftp::cancel_packet(out, start);
    return reply_error(out, req.id, confine::error_from_errno(static_cast<int>(-n), "read", h->name), "read");
  }
  const auto got = static_cast<std::size_t>(n);
  if (got == 0 && want > 0) {
    sftp::cancel_packet(out, start);
    return sftp::encode_status(out, req.id, StatusCode::eof, "end of file");
  }
  out.resize(at + got);
  sftp::end_data(out, start);
  h->bytes_read += got;
}

Result<std::string> SftpSession::upload_sha256(Handle& h, uint64_t size) {
  if (h.in_order && h.hashed == size) return to_hex(h.hasher.finish());
  // Out-of-order writes: hash what the file holds now.
  Sha256 hasher;
  std::vector<char> buf(1 << 20);
  for (uint64_t off = 0;;) {
    ssize_t n = ::pread(h.fd.get(), buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return confine::error_from_errno(errno, "read", h.name);
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<std::size_t>(n));
    off += static_cast<uint64_t>(n);
  }
  return to_hex(hasher.finish());
}

void SftpSession::on_close(const sftp::Request& req, Out& out) {
  auto it = handles_.find(std::string(req.handle));
  if (it == handles_.end()) return reply_error(out, req.id, make_error("bad-handle", "no such handle"), "close");
  std::unique_ptr<Handle> h = std::move(it->second);
  handles_.erase(it);
  if (h->kind == Handle::Kind::dir) return reply_ok(out, req.id);
  monitor::Request q;
  q.token = h->token;
  if (h->kind == Handle::Kind::read) {
    q.op = Op::close_read;
    q.size = h->bytes_read;
  } else {
    if (h->failed)
      return reply_error(out, req.id,
                         make_error(h->failed->code, "the upload was not stored: an earlier write was refused (" +
                                                         h->failed->detail + ")"),
                         "close");
    struct stat st {};
    if (::fstat(h->fd.get(), &st) != 0) {
      Error e = confine::error_from_errno(errno, "fstat", h->name);
      discard(*h, e, 0);
      return reply_error(out, req.id, e, "close");
    }
    // Every byte of the file came from the client: no hole is left.
    bool whole = st.st_size == 0 ? h->ranges.empty()
                                 : h->ranges.size() == 1 && h->ranges[0].first == 0 &&
                                       h->ranges[0].second == static_cast<uint64_t>(st.st_size);
    if (!whole) {
      Error e = make_error("upload-incomplete", "parts of the file were never sent; upload it again");
      discard(*h, e, 0);
      return reply_error(out, req.id, e, "close");
    }
    auto sha = upload_sha256(*h, static_cast<uint64_t>(st.st_size));
    if (!sha.ok()) {
      discard(*h, sha.error(), 0);
      return reply_error(out, req.id, sha.error(), "close");
    }
    q.op = Op::close_write;
    q.size = static_cast<uint64_t>(st.st_size);
    q.sha256_hex = *sha;
  }
  h->fd.reset();
  auto r = monitor_.call(q);
  if (!r.ok()) return reply_error(out, req.id, r.error(), "close");
  if (r->error) return reply_error(out, req.id, *r->error, "close");
  reply_ok(out, req.id);
}

void SftpSession::on_opendir(const sftp::Request& req, Out& out) {
  if (handles_.size() >= static_cast<std::size_t>(settings_.max_open_handles))
    return reply_error(out, req.id, make_error("limit-handles", "too many open handles"), "opendir");
  auto r = monitor_.call(path_request(Op::list, req.path));
  if (!r.ok()) return reply_error(out, req.id, r.error(), "opendir");
  if (r->error) return reply_error(out, req.id, *r->error, "opendir");
  auto h = std::make_unique<Handle>();
  h->kind = Handle::Kind::dir;
  h->name = std::string(req.path);
  h->entries = std::move(r->entries);
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
    const auto& e = h->entries[h->next_entry++];
    sftp::add_name(out, e.name, sftp::longname(e.name, e.attrs, "knooppunt", "knooppunt", now), e.attrs);
    ++count;
  }
  sftp::end_name(out, start, count);
}

void SftpSession::on_remove(const sftp::Request& req, Out& out) { simple(Op::remove, req.path, {}, req, out, "remove"); }

void SftpSession::on_rename(const sftp::Request& req, Out& out) {
  simple(Op::rename, req.path, req.path2, req, out, "rename");
}

void SftpSession::on_setstat(const sftp::Request& req, Out& out) {
  simple(Op::setstat, req.path, {}, req, out, "setstat");
}

void SftpSession::on_fsetstat(const sftp::Request& req, Out& out) {
  // Times and modes a client sets on its own open upload are accepted and ignored.
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
      auto r = monitor_.call(path_request(Op::statvfs, req.path));
      if (!r.ok()) return reply_error(out, req.id, r.error(), "statvfs");
      if (r->error) return reply_error(out, req.id, *r->error, "statvfs");
      return sftp::encode_statvfs(out, req.id, r->vfs);
    }
    case sftp::Ext::fsync: {
      Handle* h = find_handle(req.handle);
      if (!h || h->kind != Handle::Kind::write)
        return reply_error(out, req.id, make_error("bad-handle", "not an upload handle"), "fsync");
      if (fsio::fsync(h->fd.get()) != 0)
        return reply_error(out, req.id, confine::error_from_errno(errno, "fsync", h->name), "fsync");
      return reply_ok(out, req.id);
    }
    default:
      if (g_sftp_extension_hook && g_sftp_extension_hook(req.ext_name, req.id, out)) return;
      return sftp::encode_status(out, req.id, StatusCode::op_unsupported, "extension not supported");
  }
}

}  // namespace kp::gateway
