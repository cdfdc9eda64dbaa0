// The monitor's answers to the session child; see session_monitor.h.
#include "gateway/session_monitor.h"

#include "common/fsio.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/digest.h"
#include "common/dates.h"
#include "common/log.h"
#include "common/pair_file.h"
#include "store/cases.h"
#include "common/confine.h"
#include "gateway/public_attrs.h"
#include "gateway/upload.h"
#include "gateway/vpath.h"
#include "store/outbox.h"
#include "store/uploads.h"

namespace kp::gateway {

struct SessionMonitor::Open {
  bool writing = false;
  Area* area = nullptr;
  std::string name;          // in the area
  std::string partial_name;  // writing: in area->partial
  Fd fd;                     // writing: the monitor's own descriptor on the partial file
  int64_t size = 0;          // reading: the file's size when opened
};

namespace {

// NAME in `a` as served: a two-part file (a rewrapped package in the
// queue, common/pair_file.h), or nullopt for an ordinary file.
Result<std::optional<pair_file::Opened>> open_pair(const Area& a, const std::string& name) {
  using Pair = std::optional<pair_file::Opened>;
  if (!a.payloads.valid()) return Pair();
  auto payload = confine::open_beneath(a.payloads.get(), name, O_RDONLY);
  if (!payload.ok()) {
    if (payload.error().code == "not-found") return Pair();
    return payload.error();
  }
  KP_TRY(Fd head, confine::open_beneath(a.dir.get(), name, O_RDONLY));
  KP_TRY(pair_file::Opened o, pair_file::open(std::move(head), std::move(*payload)));
  return Pair(std::move(o));
}

int64_t utc_day_start_ms() {
  int64_t now = log::now_ms();
  return now - now % 86400000;
}

// The receipt is NAME.receipt.json.minisig in the same folder: a name too
// long for it would be accepted and never answered.
Status receipt_name_fits(const std::string& name) {
  constexpr std::size_t kLongest = 255 - (sizeof(".receipt.json.minisig") - 1);
  KP_ENSURE(name.size() <= kLongest, "name-too-long",
            "upload names are at most " + std::to_string(kLongest) + " bytes, so that the receipt's name fits");
  return ok_status();
}

std::string random_hex(std::size_t bytes) {
  uint8_t buf[16];
  randombytes_buf(buf, bytes);
  return to_hex(buf, bytes);
}

}  // namespace

SessionMonitor::SessionMonitor(const Settings& settings, Authority& auth, Principal principal, View view,
                               monitor::SharedFlag* flag)
    : settings_(settings), auth_(auth), principal_(std::move(principal)), view_(std::move(view)), flag_(flag) {}

SessionMonitor::~SessionMonitor() { drop_uncommitted(); }

void SessionMonitor::drop_uncommitted() {
  // Uploads that were never committed were never acknowledged: drop them.
  for (auto& [token, o] : opens_)
    if (o->writing) drop_partial(*o->area, o->partial_name);
  opens_.clear();
  if (Area* target = view_.upload_area())
    for (auto& [name, t] : temps_) drop_partial(*target, t.partial_name);
  temps_.clear();
}

std::string SessionMonitor::serve(int sock, pid_t child) {
  for (;;) {
    if (revoked_ && log::now_ms() - revoked_at_ms_ > kRevokedGraceSeconds * 1000) {
      ::kill(child, SIGKILL);
      return "revoked";
    }
    pollfd p{sock, POLLIN, 0};
    int n = ::poll(&p, 1, 250);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      // Idle: look for a revocation, so reads and writes on held
      // descriptors stop too (a recheck costs no query while nothing commits).
      if (!revoked_) {
        Status s = auth_.recheck(principal_, std::nullopt);
        if (!s.ok()) set_revoked(s.error());
      }
      continue;
    }
    auto m = monitor::recv_message(sock);
    if (!m.ok()) return m.error().code == "monitor-closed" ? "closed" : m.error().message();
    std::string violation;
    auto q = monitor::decode_request(m->bytes);
    Reply reply;
    int fd = -1;
    if (m->fd.valid()) violation = "a descriptor came with a request";
    else if (!q.ok()) violation = q.error().message();
    else if (!dispatch(*q, reply, fd, sock)) violation = "request out of place: " + std::string(monitor::op_name(q->op));
    if (!violation.empty()) {
      log::event("monitor.violation", {{"actor", principal_.account}, {"municipality", principal_.municipality},
                                       {"reason", violation}});
      ::kill(child, SIGKILL);
      return "violation";
    }
    if (q->op == monitor::Op::list && !reply.error) continue;  // on_list sent its messages
    Status sent = monitor::send_message(sock, monitor::encode_reply(q->op, reply), fd);
    if (!sent.ok()) return sent.error().message();
  }
}

void SessionMonitor::set_revoked(const Error& e) {
  if (revoked_) return;
  revoked_ = e;
  revoked_at_ms_ = log::now_ms();
  if (flag_) {
    std::size_t n = std::min(e.code.size(), sizeof flag_->reason - 1);
    std::memcpy(flag_->reason, e.code.data(), n);
    flag_->reason[n] = 0;
    __atomic_store_n(&flag_->revoked, 1u, __ATOMIC_RELEASE);
  }
  log::event("monitor.revoked", {{"actor", principal_.account}, {"municipality", principal_.municipality},
                                 {"reason", e.code}});
}

Status SessionMonitor::entitled() {
  if (revoked_) return *revoked_;
  Status s = auth_.recheck(principal_, std::nullopt);
  if (!s.ok()) set_revoked(s.error());
  return s;
}

bool SessionMonitor::dispatch(const Request& q, Reply& reply, int& fd, int sock) {
  using monitor::Op;
  if (q.op == Op::session_end) {
    drop_uncommitted();
    return true;
  }
  if (q.op == Op::channel_refused) {
    on_channel_refused(q, reply);
    return true;
  }
  // The one permission check before any handler: the principal is still
  // entitled (a revoked mandate ends access at the very next operation).
  Status ok = entitled();
  if (!ok.ok()) {
    audit("sftp.denied", "refused", std::nullopt, {}, {}, ok.error().code);
    if (q.op == Op::close_write || q.op == Op::close_read || q.op == Op::discard) {
      auto it = opens_.find(q.token);
      if (it == opens_.end()) return false;
      if (it->second->writing) drop_partial(*it->second->area, it->second->partial_name);
      opens_.erase(it);
    }
    reply.error = ok.error();
    return true;
  }
  switch (q.op) {
    case Op::stat: on_stat(q, reply); return true;
    case Op::open_read: on_open_read(q, reply, fd); return true;
    case Op::open_write: on_open_write(q, reply, fd); return true;
    case Op::close_write: return on_close_write(q, reply);
    case Op::close_read: return on_close_read(q, reply);
    case Op::discard: return on_discard(q, reply);
    case Op::list: on_list(q, reply, sock); return true;
    case Op::remove: on_remove(q, reply); return true;
    case Op::rename: on_rename(q, reply); return true;
    case Op::setstat: on_setstat(q, reply); return true;
    case Op::statvfs: on_statvfs(q, reply); return true;
    default: return false;
  }
}

void SessionMonitor::audit(const std::string& event, const std::string& outcome,
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

Result<SessionMonitor::Target> SessionMonitor::resolve(const std::string& client_path) {
  KP_TRY(VPath path, canonicalise(client_path));
  Target t;
  t.path = path.str();
  if (path.is_root()) return t;
  t.area = view_.find(path.area());
  KP_ENSURE(t.area, "not-found", "no such file or directory: " + path.str());
  if (path.depth() == 2) {
    KP_ENSURE(!is_hidden_name(path.name()), "not-found", "no such file: " + path.str());
    t.name = std::string(path.name());
  }
  return t;
}

Result<SessionMonitor::Target> SessionMonitor::resolve_file(const std::string& client_path,
                                                            std::string_view refusal) {
  KP_TRY(Target t, resolve(client_path));
  KP_ENSURE(t.area && !t.name.empty(), "permission-denied", std::string(refusal) + t.path);
  return t;
}

Status SessionMonitor::check_area(const Area& area, bool writing) {
  if (area.scope && !auth_.has_scope(principal_, *area.scope)) {
    audit("sftp.denied", "refused", "/" + area.name, {}, {}, std::string("mandate-scope-missing"));
    return make_error("mandate-scope-missing", "the mandate does not include " +
                                                   std::string(policy::scope_name(*area.scope)));
  }
  if (writing) KP_ENSURE(area.can_create, "read-only", "/" + area.name + " is read-only");
  return ok_status();
}

Result<sftp::Attrs> SessionMonitor::stat_target(const Target& t) {
  if (!t.area || t.name.empty()) return dir_attrs();
  KP_GUARD(check_area(*t.area, false));
  if (auto it = temps_.find(t.name); it != temps_.end() && t.area->can_create) {
    KP_TRY(struct stat st, confine::stat_beneath(t.area->partial.get(), it->second.partial_name));
    return public_attrs(st);
  }
  KP_TRY(auto pair, open_pair(*t.area, t.name));
  if (pair) return public_attrs(pair->st);
  KP_TRY(struct stat st, confine::stat_beneath(t.area->dir.get(), t.name));
  KP_ENSURE(S_ISREG(st.st_mode), "not-found", "no such file: " + t.path);
  return public_attrs(st);
}

void SessionMonitor::on_stat(const Request& q, Reply& reply) {
  auto t = resolve(q.path);
  if (!t.ok()) return void(reply.error = t.error());
  auto attrs = stat_target(*t);
  if (!attrs.ok()) return void(reply.error = attrs.error());
  reply.attrs = *attrs;
}

void SessionMonitor::on_open_read(const Request& q, Reply& reply, int& fd) {
  auto t = resolve_file(q.path, "not a file: ");
  if (!t.ok()) return void(reply.error = t.error());
  Status allowed = check_area(*t->area, false);
  if (!allowed.ok()) return void(reply.error = allowed.error());
  if (!t->area->can_read)
    return void(reply.error = make_error("no-read-back", "/" + t->area->name + " cannot be read"));
  if (opens_.size() >= static_cast<std::size_t>(settings_.max_open_handles))
    return void(reply.error = make_error("limit-handles", "too many open handles"));
  auto o = std::make_unique<Open>();
  struct stat st {};
  auto pair = open_pair(*t->area, t->name);
  if (!pair.ok()) return void(reply.error = pair.error());
  if (*pair) {
    // The child gets the head's bytes and the payload's descriptor.
    st = (*pair)->st;
    reply.prefix = std::move((*pair)->prefix);
    reply.value = (*pair)->skip;
    o->fd = std::move((*pair)->payload);
  } else {
    auto file = confine::open_beneath(t->area->dir.get(), t->name, O_RDONLY);
    if (!file.ok()) return void(reply.error = file.error());
    if (::fstat(file->get(), &st) != 0 || !S_ISREG(st.st_mode))
      return void(reply.error = make_error("not-found", "not a regular file"));
    o->fd = std::move(*file);
  }
  o->area = t->area;
  o->name = t->name;
  o->size = st.st_size;
  fd = o->fd.get();
  reply.token = next_token_++;
  reply.attrs = public_attrs(st);
  opens_[reply.token] = std::move(o);
}

Result<store::DayUsage> SessionMonitor::check_daily_limits(const std::string& object, int64_t adding_bytes,
                                                           bool counting_file, const std::string& excluding_temp) {
  KP_TRY(store::DayUsage usage, usage_today(excluding_temp));
  if (counting_file && usage.files >= settings_.max_files_per_day) {
    audit("limit.hit", "refused", object, {}, {}, std::string("limit-files-per-day"));
    return make_error("limit-files-per-day", "the municipality reached its limit of " +
                                                 std::to_string(settings_.max_files_per_day) + " uploads today; " +
                                                 daily_reset_text(log::now_ms()));
  }
  if (usage.bytes + adding_bytes > settings_.max_bytes_per_day) {
    audit("limit.hit", "refused", object, adding_bytes, {}, std::string("limit-bytes-per-day"));
    return make_error("limit-bytes-per-day",
                      "the municipality reached its daily upload volume; " + daily_reset_text(log::now_ms()));
  }
  return usage;
}

Result<store::DayUsage> SessionMonitor::usage_today(const std::string& excluding_temp) {
  KP_TRY(store::DayUsage usage, store::usage_on_day(auth_.db(), principal_.municipality, utc_day_start_ms()));
  // Uploads kept under a temporary name count from their first byte.
  for (const auto& [name, t] : temps_) {
    if (name == excluding_temp) continue;
    usage.files += 1;
    usage.bytes += t.size;
  }
  return usage;
}

void SessionMonitor::on_open_write(const Request& q, Reply& reply, int& fd) {
  auto fail = [&](Error e) { reply.error = std::move(e); };
  auto t = resolve_file(q.path, "not a file: ");
  if (!t.ok()) return fail(t.error());
  Status allowed = check_area(*t->area, true);
  if (!allowed.ok()) return fail(allowed.error());
  if (temps_.count(t->name)) return fail(make_error("already-exists", t->name + " already exists"));
  if (!is_temporary_name(t->name)) {
    Status fits = receipt_name_fits(t->name);
    if (!fits.ok()) return fail(fits.error());
  }
  Status fresh = check_new_upload_name(auth_, principal_, t->name);
  if (!fresh.ok()) return fail(fresh.error());
  if (confine::stat_beneath(t->area->dir.get(), t->name).ok())
    return fail(make_error("already-exists", t->name + " already exists"));
  std::string object = "/" + t->area->name + "/" + t->name;
  if (is_temporary_name(t->name)) {
    std::size_t kept = temps_.size();
    for (const auto& [token, o] : opens_)
      if (o->writing && is_temporary_name(o->name)) ++kept;
    if (kept >= static_cast<std::size_t>(settings_.max_temp_uploads)) {
      audit("limit.hit", "refused", object, {}, {}, std::string("limit-temp-uploads"));
      return fail(make_error("limit-temp-uploads", "this session keeps " + std::to_string(kept) +
                                                       " uploads under a temporary name; rename or remove one first"));
    }
  }
  auto usage = check_daily_limits(object, 0, true, "");
  if (!usage.ok()) return fail(usage.error());
  if (opens_.size() >= static_cast<std::size_t>(settings_.max_open_handles))
    return fail(make_error("limit-handles", "too many open handles"));
  auto o = std::make_unique<Open>();
  o->writing = true;
  o->area = t->area;
  o->name = t->name;
  o->partial_name = std::to_string(::getpid()) + "-" + random_hex(8) + ".part";
  // Read-write: the child rehashes from it when a client wrote out of order.
  auto file = confine::open_beneath(t->area->partial.get(), o->partial_name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (!file.ok()) return fail(file.error());
  o->fd = std::move(*file);
  fd = o->fd.get();
  reply.token = next_token_++;
  reply.value = static_cast<uint64_t>(usage->bytes);
  opens_[reply.token] = std::move(o);
}

void SessionMonitor::drop_partial(Area& area, const std::string& partial_name) {
  if (partial_name.empty()) return;
  Status s = confine::unlink_beneath(area.partial.get(), partial_name);
  if (!s.ok() && s.error().code != "not-found")
    log::event("monitor.partial_left", {{"name", partial_name}, {"error", s.error().message()}});
}

Status SessionMonitor::commit(Area& area, const TempUpload& t, const std::string& final_name,
                              const std::string& renamed_from) {
  std::string object = "/" + area.name + "/" + final_name;
  // Limits hold at commit, whatever was true at open: handles opened at
  // once, or a temporary upload renamed later, count here.
  KP_GUARD(receipt_name_fits(final_name));
  auto limits = check_daily_limits(object, t.size, true, renamed_from);
  if (!limits.ok()) return limits.error();
  KP_GUARD(check_new_upload_name(auth_, principal_, final_name));
  CommitRequest c{t.partial_name, final_name, t.size, t.sha256_hex};
  if (principal_.role == Role::person) {
    // Checked again inside the commit's transaction: other connections of
    // the municipality may commit between the check above and this one.
    store::DayLimits l{settings_.max_files_per_day, settings_.max_bytes_per_day, 0, 0};
    for (const auto& [name, kept] : temps_) {
      if (name == renamed_from) continue;
      l.pending_files += 1;
      l.pending_bytes += kept.size;
    }
    c.limits = l;
  }
  auto id = commit_upload(auth_, principal_, area, c);
  if (!id.ok()) {
    bool limit = id.error().code.rfind("limit-", 0) == 0;
    audit(limit ? "limit.hit" : "sftp.upload", "refused", object, t.size, limit ? std::optional<std::string>() : std::optional<std::string>(t.sha256_hex),
          id.error().code);
    return id.error();
  }
  std::string size = std::to_string(t.size);
  if (renamed_from.empty())
    log::event("sftp.upload", {{"actor", principal_.account}, {"municipality", principal_.municipality},
                               {"name", final_name}, {"size", size}, {"sha256", t.sha256_hex}});
  else
    log::event("sftp.upload", {{"actor", principal_.account}, {"municipality", principal_.municipality},
                               {"name", final_name}, {"size", size}, {"sha256", t.sha256_hex},
                               {"renamed_from", renamed_from}});
  // Remembered (boundedly) so that setting its time right after is a no-op.
  if (own_uploads_.size() >= kMaxOwnUploads) own_uploads_.erase(own_uploads_.begin());
  own_uploads_.insert(final_name);
  return ok_status();
}

bool SessionMonitor::on_close_write(const Request& q, Reply& reply) {
  auto it = opens_.find(q.token);
  if (it == opens_.end() || !it->second->writing) return false;
  std::unique_ptr<Open> o = std::move(it->second);
  opens_.erase(it);
  auto fail = [&](Error e) {
    drop_partial(*o->area, o->partial_name);
    reply.error = std::move(e);
  };
  if (fsio::fsync(o->fd.get()) != 0) {
    fail(confine::error_from_errno(errno, "fsync", o->name));
    return true;
  }
  struct stat st {};
  if (::fstat(o->fd.get(), &st) != 0) {
    fail(confine::error_from_errno(errno, "fstat", o->name));
    return true;
  }
  if (static_cast<uint64_t>(st.st_size) != q.size) {
    // An honest child reports what it wrote: this one lies.
    drop_partial(*o->area, o->partial_name);
    return false;
  }
  if (st.st_size > settings_.max_file_size) {
    audit("limit.hit", "refused", "/" + o->area->name + "/" + o->name, st.st_size, {}, std::string("limit-file-size"));
    fail(make_error("limit-file-size", "uploads are limited to " + std::to_string(settings_.max_file_size) + " bytes"));
    return true;
  }
  o->fd.reset();
  TempUpload t{o->partial_name, st.st_size, q.sha256_hex};
  if (is_temporary_name(o->name)) {
    if (temps_.count(o->name)) {
      fail(make_error("already-exists", o->name + " already exists"));
      return true;
    }
    temps_[o->name] = t;
    return true;
  }
  Status s = commit(*o->area, t, o->name, "");
  if (!s.ok()) fail(s.error());
  return true;
}

bool SessionMonitor::on_close_read(const Request& q, Reply&) {
  auto it = opens_.find(q.token);
  if (it == opens_.end() || it->second->writing) return false;
  // The byte count is the child's word; what was opened is the monitor's.
  audit("sftp.download", "success", "/" + it->second->area->name + "/" + it->second->name,
        static_cast<int64_t>(q.size));
  opens_.erase(it);
  return true;
}

bool SessionMonitor::on_discard(const Request& q, Reply&) {
  auto it = opens_.find(q.token);
  if (it == opens_.end() || !it->second->writing) return false;
  std::unique_ptr<Open> o = std::move(it->second);
  opens_.erase(it);
  drop_partial(*o->area, o->partial_name);
  // A limit hit is audited only when the monitor can confirm it.
  std::string object = "/" + o->area->name + "/" + o->name;
  int64_t end = static_cast<int64_t>(std::min<uint64_t>(q.size, INT64_MAX));
  bool confirmed = false;
  if (q.reason == "limit-file-size") {
    confirmed = end > settings_.max_file_size;
  } else if (q.reason == "limit-bytes-per-day") {
    auto usage = usage_today("");
    confirmed = usage.ok() && usage->bytes + end > settings_.max_bytes_per_day;
  }
  if (confirmed) audit("limit.hit", "refused", object, end, {}, q.reason);
  return true;
}

void SessionMonitor::on_list(const Request& q, Reply& reply, int sock) {
  auto t = resolve(q.path);
  std::vector<monitor::Entry> entries;
  if (!t.ok()) reply.error = t.error();
  else if (!t->name.empty()) reply.error = make_error("not-a-directory", t->path + " is not a directory");
  else if (!t->area) {
    for (const auto& a : view_.areas()) entries.push_back({a.name, dir_attrs()});
  } else {
    Status allowed = check_area(*t->area, false);
    if (!allowed.ok()) reply.error = allowed.error();
    else {
      auto list = confine::list_dir(t->area->dir.get());
      if (!list.ok()) reply.error = list.error();
      else {
        // /queue and /decided split DATA/queue by the state of each file's case.
        std::set<std::string> decided;
        if (t->area->cases != Area::Cases::all) {
          auto d = store::decided_queue_files(auth_.db());
          if (d.ok()) decided = std::move(*d);
        }
        auto shown = [&](const std::string& name) {
          if (t->area->cases == Area::Cases::all) return true;
          return decided.count(name) == (t->area->cases == Area::Cases::decided ? 1u : 0u);
        };
        for (const auto& e : *list) {
          if (!e.is_regular() || is_hidden_name(e.name) || !shown(e.name)) continue;
          auto pair = open_pair(*t->area, e.name);
          entries.push_back({e.name, public_attrs(pair.ok() && *pair ? (*pair)->st : e.st)});
        }
        if (t->area->can_create)
          for (const auto& [name, temp] : temps_) {
            auto st = confine::stat_beneath(t->area->partial.get(), temp.partial_name);
            if (st.ok()) entries.push_back({name, public_attrs(*st)});
          }
        // A stable order for clients that show the server's order (ls -f, paramiko).
        bool down = t->area->descending;
        std::sort(entries.begin(), entries.end(),
                  [&](const auto& x, const auto& y) { return down ? x.name > y.name : x.name < y.name; });
      }
    }
  }
  if (reply.error) return;  // the caller sends the error reply
  // In messages below the cap; the last one says no more follow.
  std::size_t i = 0;
  do {
    Reply part;
    std::size_t bytes = 16;
    while (i < entries.size() && bytes + monitor::entry_cost(entries[i]) < monitor::kMaxMessage) {
      bytes += monitor::entry_cost(entries[i]);
      part.entries.push_back(std::move(entries[i++]));
    }
    part.more = i < entries.size();
    if (!monitor::send_message(sock, monitor::encode_reply(monitor::Op::list, part)).ok()) return;
  } while (i < entries.size());
}

void SessionMonitor::on_remove(const Request& q, Reply& reply) {
  auto t = resolve_file(q.path, "cannot remove ");
  if (!t.ok()) return void(reply.error = t.error());
  Status allowed = check_area(*t->area, false);
  if (!allowed.ok()) return void(reply.error = allowed.error());
  Area& a = *t->area;
  if (a.can_create) {
    // Only this session's own uncommitted temporary upload may be removed
    // (a client cancelling a transfer); registered uploads stay.
    auto it = temps_.find(t->name);
    if (it == temps_.end()) return void(reply.error = make_error("permission-denied", "uploads cannot be removed"));
    drop_partial(a, it->second.partial_name);
    temps_.erase(it);
    return;
  }
  if (!a.can_acknowledge) return void(reply.error = make_error("permission-denied", "/" + a.name + " is read-only"));
  // Acknowledge: move to the archive, never destroy; the client hears OK
  // only once the move is durable and recorded, else the file goes back.
  auto st = confine::stat_beneath(a.dir.get(), t->name);
  if (!st.ok() || !S_ISREG(st->st_mode))
    return void(reply.error = st.ok() ? make_error("not-found", "not a file") : st.error());
  // An archive name in use already (acknowledged before): a timestamped one.
  std::string archived = t->name;
  if (confine::stat_beneath(a.archive.get(), archived).ok()) archived = t->name + "." + std::to_string(log::now_ms());
  Status moved = confine::rename_noreplace(a.dir.get(), t->name, a.archive.get(), archived);
  if (!moved.ok()) return void(reply.error = moved.error());
  Status done = confine::fsync_dir(a.archive.get());
  if (done.ok()) done = confine::fsync_dir(a.dir.get());
  // The acknowledgement and its audit record commit together, before the OK.
  if (done.ok()) done = record_acknowledgement(a, t->name, archived, static_cast<int64_t>(st->st_size));
  if (!done.ok()) {
    Status back = confine::rename_noreplace(a.archive.get(), archived, a.dir.get(), t->name);
    log::event("sftp.acknowledge_failed", {{"name", t->name}, {"error", done.error().message()},
                                           {"restored", back.ok() ? "yes" : back.error().message()}});
    return void(reply.error = make_error("acknowledge-failed", "the removal could not be recorded; try again"));
  }
}

Status SessionMonitor::record_acknowledgement(const Area& a, const std::string& name, const std::string& archived,
                                              int64_t size) {
  KP_TRY(store::Transaction tx, store::Transaction::begin(auth_.db()));
  KP_GUARD(store::record_acknowledgement(auth_.db(), principal_.municipality, name, archived, log::now_ms()));
  store::AuditEvent e;
  e.event = "sftp.acknowledge";
  e.outcome = "success";
  e.object = "/" + a.name + "/" + name;
  e.size = size;
  KP_GUARD(auth_.audit_checked(principal_, std::move(e)));
  return tx.commit();
}

void SessionMonitor::on_rename(const Request& q, Reply& reply) {
  auto from = resolve(q.path);
  if (!from.ok()) return void(reply.error = from.error());
  auto to = resolve(q.path2);
  if (!to.ok()) return void(reply.error = to.error());
  if (!from->area || !to->area || from->area != to->area || from->name.empty() || to->name.empty() ||
      !from->area->can_create)
    return void(reply.error = make_error("permission-denied", "rename is only for finishing an upload"));
  Status allowed = check_area(*from->area, true);
  if (!allowed.ok()) return void(reply.error = allowed.error());
  auto it = temps_.find(from->name);
  if (it == temps_.end())
    return void(reply.error = make_error("permission-denied",
                                         "only an upload of this session under a temporary name can be renamed"));
  const std::string& final_name = to->name;
  if (is_temporary_name(final_name)) {
    if (temps_.count(final_name)) return void(reply.error = make_error("already-exists", final_name + " already exists"));
    TempUpload t = it->second;
    temps_.erase(it);
    temps_[final_name] = t;
    return;
  }
  Status s = commit(*from->area, it->second, final_name, from->name);
  if (!s.ok()) return void(reply.error = s.error());
  temps_.erase(it);
}

void SessionMonitor::on_setstat(const Request& q, Reply& reply) {
  // Clients set times and modes after an upload (sftp put -p, WinSCP,
  // rclone). On this session's own uploads -- uncommitted, or committed by
  // this session -- that is accepted and ignored; everything else is refused.
  auto t = resolve(q.path);
  if (!t.ok()) return void(reply.error = t.error());
  if (t->area && t->area->can_create && temps_.count(t->name)) return;
  // The same for an upload this session just committed: rclone and others
  // set its modification time after the close and treat a refusal as a
  // failed upload. Nothing changes; the gateway's own time stays.
  if (t->area && t->area->can_create && own_uploads_.count(t->name)) return;
  reply.error = make_error("permission-denied", "attributes cannot be changed");
}

void SessionMonitor::on_statvfs(const Request& q, Reply& reply) {
  // What this principal may still upload today, never the host's disk
  // (its size and free space are nobody's business over SFTP). One block
  // is one byte, one inode one upload.
  auto t = resolve(q.path);
  if (!t.ok()) return void(reply.error = t.error());
  auto usage = usage_today("");
  if (!usage.ok()) return void(reply.error = usage.error());
  bool uploads = view_.upload_area() != nullptr;
  uint64_t bytes = static_cast<uint64_t>(settings_.max_bytes_per_day);
  uint64_t files = static_cast<uint64_t>(settings_.max_files_per_day);
  uint64_t bytes_left = uploads ? bytes - std::min<uint64_t>(bytes, static_cast<uint64_t>(usage->bytes)) : 0;
  uint64_t files_left = uploads ? files - std::min<uint64_t>(files, static_cast<uint64_t>(usage->files)) : 0;
  reply.vfs.bsize = reply.vfs.frsize = 1;
  reply.vfs.blocks = bytes;
  reply.vfs.bfree = reply.vfs.bavail = bytes_left;
  reply.vfs.files = files;
  reply.vfs.ffree = reply.vfs.favail = files_left;
  reply.vfs.namemax = 255;
}

void SessionMonitor::on_channel_refused(const Request& q, Reply&) {
  // Bounded: a child cannot fill the transfer log with these.
  if (++channel_refusals_ > 16) return;
  auth_.audit(principal_, store::AuditEvent{0, 0, "ssh." + q.reason, "refused", {}, {}, {}, {}, {}, {}, {},
                                            std::string("ssh"), std::string("channel-type-refused")});
}

}  // namespace kp::gateway
