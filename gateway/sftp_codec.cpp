// SFTP v3 framing, request decoding and reply encoding (see sftp_codec.h).
//
// Every client byte goes through a bounded kp::Reader: each field has a cap,
// a failed read poisons the reader, and a packet is accepted only when the
// reader is still ok AND exactly at its end. Nothing is reserved from a
// client-stated count, so a count of 2^32-1 costs nothing.
#include "gateway/sftp_codec.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/bytes.h"

namespace kp::sftp {

namespace {

// Header of every reply: uint32 length (patched last), then the type byte.
std::size_t begin_packet(std::vector<uint8_t>& out, Fxp type) {
  std::size_t start = out.size();
  Writer w(out);
  w.u32(0);
  w.u8(static_cast<uint8_t>(type));
  return start;
}

void end_packet(std::vector<uint8_t>& out, std::size_t start) {
  Writer(out).patch_u32(start, static_cast<uint32_t>(out.size() - start - 4));
}

void put_attrs(Writer& w, const Attrs& a) {
  uint32_t flags = a.flags;
  // Never send a flag whose fields we would not write.
  if (a.extended.empty()) flags &= ~attr::extended;
  w.u32(flags);
  if (flags & attr::size) w.u64(a.size);
  if (flags & attr::uidgid) {
    w.u32(a.uid);
    w.u32(a.gid);
  }
  if (flags & attr::permissions) w.u32(a.permissions);
  if (flags & attr::acmodtime) {
    w.u32(a.atime);
    w.u32(a.mtime);
  }
  if (flags & attr::extended) {
    std::size_t n = a.extended.size() < kMaxExtPairs ? a.extended.size() : kMaxExtPairs;
    w.u32(static_cast<uint32_t>(n));
    for (std::size_t i = 0; i < n; ++i) {
      w.str(a.extended[i].name);
      w.str(a.extended[i].data);
    }
  }
}

// Reads an ATTRS structure; on any violation poisons the reader.
void get_attrs(Reader& r, Attrs& a) {
  a.flags = r.u32();
  if (a.flags & attr::size) a.size = r.u64();
  if (a.flags & attr::uidgid) {
    a.uid = r.u32();
    a.gid = r.u32();
  }
  if (a.flags & attr::permissions) a.permissions = r.u32();
  if (a.flags & attr::acmodtime) {
    a.atime = r.u32();
    a.mtime = r.u32();
  }
  if (a.flags & attr::extended) {
    uint32_t count = r.u32();
    if (count > kMaxExtPairs) {
      r.fail();
      return;
    }
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
      std::string_view name = r.str(kMaxPacket);
      std::string_view data = r.str(kMaxPacket);
      if (r.ok()) a.extended.push_back({name, data});
    }
  }
}

Error bad_message(std::string_view what) {
  return make_error("sftp-bad-message", "malformed " + std::string(what) + " packet");
}

}  // namespace

// ---------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------

Result<std::size_t> frame_one(std::string_view buf, std::string_view& body, std::size_t max_body) {
  body = {};
  if (buf.size() < 4) return std::size_t{0};
  Reader r(buf);
  uint32_t len = r.u32();
  KP_ENSURE(len != 0, "sftp-bad-length", "packet length 0");
  KP_ENSURE(len <= max_body, "sftp-bad-length",
            "packet length " + std::to_string(len) + " exceeds " + std::to_string(max_body));
  if (buf.size() - 4 < len) return std::size_t{0};
  body = buf.substr(4, len);
  return std::size_t{4} + len;
}

void Framer::compact() {
  if (head_ == 0) return;
  std::size_t n = end_ - head_;
  if (n) std::memmove(buf_.data(), buf_.data() + head_, n);
  head_ = 0;
  end_ = n;
}

std::span<uint8_t> Framer::prepare(std::size_t n) {
  compact();
  if (buf_.size() < end_ + n) buf_.resize(end_ + n);
  return {buf_.data() + end_, n};
}

void Framer::commit(std::size_t k) {
  // Defensive: never count bytes beyond the room prepare() gave.
  end_ = (end_ + k <= buf_.size()) ? end_ + k : buf_.size();
}

void Framer::feed(const void* data, std::size_t n) {
  if (n == 0) return;
  std::span<uint8_t> room = prepare(n);
  std::memcpy(room.data(), data, n);
  commit(n);
}

Result<std::string_view> Framer::next() {
  KP_ENSURE(!failed_, "sftp-bad-length", "stream already failed");
  std::string_view avail(reinterpret_cast<const char*>(buf_.data()) + head_, end_ - head_);
  std::string_view body;
  auto used = frame_one(avail, body, max_body_);
  if (!used.ok()) {
    failed_ = true;
    return used.error();
  }
  head_ += *used;
  if (head_ == end_) head_ = end_ = 0;  // cheap reset, no memmove next time
  return body;
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

Result<Request> decode_request(std::string_view body) {
  Request q;
  KP_ENSURE(!body.empty(), "sftp-bad-message", "empty packet");
  Reader r(body);
  uint8_t t = r.u8();
  q.type = static_cast<Fxp>(t);

  if (q.type == Fxp::init) {
    q.version = r.u32();
    // Extension pairs from the client: validated for shape, then ignored.
    for (std::size_t n = 0; r.ok() && !r.at_end(); ++n) {
      if (n == kMaxExtPairs) r.fail();
      r.str(kMaxPacket);
      r.str(kMaxPacket);
    }
    if (!r.ok()) return bad_message("init");
    return q;
  }

  q.id = r.u32();
  switch (q.type) {
    case Fxp::open:
      q.path = r.str(kMaxPathBytes);
      q.pflags = r.u32();
      get_attrs(r, q.attrs);
      break;
    case Fxp::close:
    case Fxp::fstat:
    case Fxp::readdir:
      q.handle = r.str(kMaxHandleBytes);
      break;
    case Fxp::read:
      q.handle = r.str(kMaxHandleBytes);
      q.offset = r.u64();
      q.length = r.u32();
      break;
    case Fxp::write:
      q.handle = r.str(kMaxHandleBytes);
      q.offset = r.u64();
      q.data = r.str(kMaxWriteLength);
      break;
    case Fxp::lstat:
    case Fxp::stat:
    case Fxp::opendir:
    case Fxp::remove:
    case Fxp::rmdir:
    case Fxp::realpath:
    case Fxp::readlink:
      q.path = r.str(kMaxPathBytes);
      break;
    case Fxp::setstat:
    case Fxp::mkdir:
      q.path = r.str(kMaxPathBytes);
      get_attrs(r, q.attrs);
      break;
    case Fxp::fsetstat:
      q.handle = r.str(kMaxHandleBytes);
      get_attrs(r, q.attrs);
      break;
    case Fxp::rename:
    case Fxp::symlink:
      q.path = r.str(kMaxPathBytes);
      q.path2 = r.str(kMaxPathBytes);
      break;
    case Fxp::extended:
      q.ext_name = r.str(kMaxExtNameBytes);
      if (!r.ok()) break;
      if (q.ext_name == kExtPosixRename) {
        q.ext = Ext::posix_rename;
        q.path = r.str(kMaxPathBytes);
        q.path2 = r.str(kMaxPathBytes);
      } else if (q.ext_name == kExtStatvfs) {
        q.ext = Ext::statvfs;
        q.path = r.str(kMaxPathBytes);
      } else if (q.ext_name == kExtFsync) {
        q.ext = Ext::fsync;
        q.handle = r.str(kMaxHandleBytes);
      } else if (q.ext_name == kExtLimits) {
        q.ext = Ext::limits;
      } else {
        // Unknown extension: its arguments have an unknown shape, so they
        // are not examined; the session answers OP_UNSUPPORTED.
        q.ext = Ext::unknown;
        if (!r.ok()) return bad_message("extended");
        return q;
      }
      break;
    default:
      // Not a request type we know (or a reply type sent by a client): keep
      // the id so the session can answer OP_UNSUPPORTED to it.
      if (!r.ok()) return bad_message(type_name(t));
      q.known = false;
      return q;
  }
  // Bytes after a WRITE's data are ignored, as OpenSSH's sftp-server
  // ignores the rest of any packet: rclone (pkg/sftp 1.13.5) sends the
  // last, short chunk of an upload in a packet padded to its full chunk
  // size. The data length field says what is data; the packet is already
  // bounded by the framer. Every other request must end where it ends.
  if (!r.ok() || (!r.at_end() && q.type != Fxp::write)) return bad_message(type_name(t));
  return q;
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

void encode_version(std::vector<uint8_t>& out, uint32_t version,
                    std::span<const ExtPair> extensions) {
  std::size_t start = begin_packet(out, Fxp::version);
  Writer w(out);
  w.u32(version);
  for (const ExtPair& e : extensions) {
    w.str(e.name);
    w.str(e.data);
  }
  end_packet(out, start);
}

void encode_status(std::vector<uint8_t>& out, uint32_t id, StatusCode code,
                   std::string_view message) {
  std::size_t start = begin_packet(out, Fxp::status);
  Writer w(out);
  w.u32(id);
  w.u32(static_cast<uint32_t>(code));
  w.str(message.empty() ? status_text(code) : message);
  w.str("");  // language tag
  end_packet(out, start);
}

void encode_handle(std::vector<uint8_t>& out, uint32_t id, std::string_view handle) {
  std::size_t start = begin_packet(out, Fxp::handle);
  Writer w(out);
  w.u32(id);
  w.str(handle);
  end_packet(out, start);
}

void encode_data(std::vector<uint8_t>& out, uint32_t id, std::string_view bytes) {
  std::size_t start = begin_data(out, id);
  Writer(out).raw(bytes);
  end_data(out, start);
}

// DATA layout: [len u32][type u8][id u32][data-len u32][data...]
std::size_t begin_data(std::vector<uint8_t>& out, uint32_t id) {
  std::size_t start = begin_packet(out, Fxp::data);
  Writer w(out);
  w.u32(id);
  w.u32(0);  // data length, patched by end_data
  return start;
}

void end_data(std::vector<uint8_t>& out, std::size_t start) {
  constexpr std::size_t kHeader = 4 + 1 + 4 + 4;
  Writer(out).patch_u32(start + 9, static_cast<uint32_t>(out.size() - start - kHeader));
  end_packet(out, start);
}

void cancel_packet(std::vector<uint8_t>& out, std::size_t start) {
  if (start <= out.size()) out.resize(start);
}

// NAME layout: [len u32][type u8][id u32][count u32]{filename longname attrs}*
std::size_t begin_name(std::vector<uint8_t>& out, uint32_t id) {
  std::size_t start = begin_packet(out, Fxp::name);
  Writer w(out);
  w.u32(id);
  w.u32(0);  // count, patched by end_name
  return start;
}

void add_name(std::vector<uint8_t>& out, std::string_view filename, std::string_view longname,
              const Attrs& attrs) {
  Writer w(out);
  w.str(filename);
  w.str(longname);
  put_attrs(w, attrs);
}

void end_name(std::vector<uint8_t>& out, std::size_t start, uint32_t count) {
  Writer(out).patch_u32(start + 9, count);
  end_packet(out, start);
}

void encode_name(std::vector<uint8_t>& out, uint32_t id, std::span<const NameEntry> entries) {
  std::size_t start = begin_name(out, id);
  for (const NameEntry& e : entries) add_name(out, e.filename, e.longname, e.attrs);
  end_name(out, start, static_cast<uint32_t>(entries.size()));
}

void encode_attrs(std::vector<uint8_t>& out, uint32_t id, const Attrs& attrs) {
  std::size_t start = begin_packet(out, Fxp::attrs);
  Writer w(out);
  w.u32(id);
  put_attrs(w, attrs);
  end_packet(out, start);
}

void encode_statvfs(std::vector<uint8_t>& out, uint32_t id, const StatVfs& v) {
  std::size_t start = begin_packet(out, Fxp::extended_reply);
  Writer w(out);
  w.u32(id);
  for (uint64_t f : {v.bsize, v.frsize, v.blocks, v.bfree, v.bavail, v.files, v.ffree, v.favail,
                     v.fsid, v.flag, v.namemax})
    w.u64(f);
  end_packet(out, start);
}

void encode_limits(std::vector<uint8_t>& out, uint32_t id, const Limits& v) {
  std::size_t start = begin_packet(out, Fxp::extended_reply);
  Writer w(out);
  w.u32(id);
  w.u64(v.max_packet_length);
  w.u64(v.max_read_length);
  w.u64(v.max_write_length);
  w.u64(v.max_open_handles);
  end_packet(out, start);
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

Attrs attrs_from_stat(const struct stat& st) {
  Attrs a;
  a.flags = attr::size | attr::uidgid | attr::permissions | attr::acmodtime;
  a.size = static_cast<uint64_t>(st.st_size);
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.permissions = st.st_mode;
  a.atime = static_cast<uint32_t>(st.st_atime);
  a.mtime = static_cast<uint32_t>(st.st_mtime);
  return a;
}

StatVfs statvfs_from(const struct statvfs& st) {
  StatVfs v;
  v.bsize = st.f_bsize;
  v.frsize = st.f_frsize;
  v.blocks = st.f_blocks;
  v.bfree = st.f_bfree;
  v.bavail = st.f_bavail;
  v.files = st.f_files;
  v.ffree = st.f_ffree;
  v.favail = st.f_favail;
  v.fsid = st.f_fsid;
  v.flag = ((st.f_flag & ST_RDONLY) ? vfsflag::rdonly : 0) |
           ((st.f_flag & ST_NOSUID) ? vfsflag::nosuid : 0);
  v.namemax = st.f_namemax;
  return v;
}

namespace {

// BSD strmode(3) as OpenSSH uses it: type letter, nine permission letters
// with set-id and sticky bits folded in, then a space (where BSD marks ACLs).
std::string mode_string(uint32_t m) {
  std::string s(11, '-');
  switch (m & S_IFMT) {
    case S_IFDIR:
      s[0] = 'd';
      break;
    case S_IFREG:
      s[0] = '-';
      break;
    case S_IFLNK:
      s[0] = 'l';
      break;
    case S_IFCHR:
      s[0] = 'c';
      break;
    case S_IFBLK:
      s[0] = 'b';
      break;
    case S_IFIFO:
      s[0] = 'p';
      break;
    case S_IFSOCK:
      s[0] = 's';
      break;
    default:
      s[0] = '?';
      break;
  }
  if (m & S_IRUSR) s[1] = 'r';
  if (m & S_IWUSR) s[2] = 'w';
  s[3] = (m & S_ISUID) ? ((m & S_IXUSR) ? 's' : 'S') : ((m & S_IXUSR) ? 'x' : '-');
  if (m & S_IRGRP) s[4] = 'r';
  if (m & S_IWGRP) s[5] = 'w';
  s[6] = (m & S_ISGID) ? ((m & S_IXGRP) ? 's' : 'S') : ((m & S_IXGRP) ? 'x' : '-');
  if (m & S_IROTH) s[7] = 'r';
  if (m & S_IWOTH) s[8] = 'w';
  s[9] = (m & S_ISVTX) ? ((m & S_IXOTH) ? 't' : 'T') : ((m & S_IXOTH) ? 'x' : '-');
  s[10] = ' ';
  return s;
}

// Left-justified in at least `width` columns.
void pad_right(std::string& out, std::string_view s, std::size_t width) {
  out += s;
  if (s.size() < width) out.append(width - s.size(), ' ');
}

// Right-justified in at least `width` columns.
void pad_left(std::string& out, std::string_view s, std::size_t width) {
  if (s.size() < width) out.append(width - s.size(), ' ');
  out += s;
}

}  // namespace

std::string longname(std::string_view name, const Attrs& attrs, std::string_view owner,
                     std::string_view group, std::time_t now) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (now == 0) now = std::time(nullptr);
  std::string uid = owner.empty() ? std::to_string(attrs.uid) : std::string(owner);
  std::string gid = group.empty() ? std::to_string(attrs.gid) : std::string(group);

  // Month names by hand: strftime's %b follows the process locale.
  std::time_t mt = static_cast<std::time_t>(attrs.mtime);
  struct tm tm {};
  gmtime_r(&mt, &tm);
  char date[32];
  bool recent = now > mt && now - mt < (365 * 24 * 60 * 60) / 2;
  if (recent)
    std::snprintf(date, sizeof date, "%s %2d %02d:%02d", kMonths[tm.tm_mon % 12], tm.tm_mday,
                  tm.tm_hour, tm.tm_min);
  else
    std::snprintf(date, sizeof date, "%s %2d  %d", kMonths[tm.tm_mon % 12], tm.tm_mday,
                  tm.tm_year + 1900);

  std::string s = mode_string(attrs.permissions);
  s += ' ';
  pad_left(s, "1", 3);
  s += ' ';
  pad_right(s, uid, 8);
  s += ' ';
  pad_right(s, gid, 8);
  s += ' ';
  pad_left(s, std::to_string(attrs.size), 8);
  s += ' ';
  s += date;
  s += ' ';
  s += name;
  return s;
}

std::string_view status_text(StatusCode code) {
  switch (code) {
    case StatusCode::ok:
      return "Success";
    case StatusCode::eof:
      return "End of file";
    case StatusCode::no_such_file:
      return "No such file";
    case StatusCode::permission_denied:
      return "Permission denied";
    case StatusCode::failure:
      return "Failure";
    case StatusCode::bad_message:
      return "Bad message";
    case StatusCode::no_connection:
      return "No connection";
    case StatusCode::connection_lost:
      return "Connection lost";
    case StatusCode::op_unsupported:
      return "Operation unsupported";
  }
  return "Unknown error";
}

StatusCode status_from_errno(int err) {
  switch (err) {
    case 0:
      return StatusCode::ok;
    case ENOENT:
    case ENOTDIR:
    case EBADF:
    case ELOOP:
      return StatusCode::no_such_file;
    case EPERM:
    case EACCES:
    case EFAULT:
      return StatusCode::permission_denied;
    case ENAMETOOLONG:
    case EINVAL:
      return StatusCode::bad_message;
    case ENOSYS:
      return StatusCode::op_unsupported;
    default:
      return StatusCode::failure;
  }
}

StatusCode status_from_error(const Error& e) {
  struct Row {
    std::string_view code;
    StatusCode status;
  };
  // Codes from common/confine.h and gateway/vpath.h. Refusals the client
  // provoked on purpose (symlinks, escapes) read as "Permission denied";
  // names that cannot exist in the virtual tree read as "No such file".
  static constexpr Row kTable[] = {
      {"not-found", StatusCode::no_such_file},
      {"not-a-directory", StatusCode::no_such_file},
      {"path-too-deep", StatusCode::no_such_file},
      {"permission-denied", StatusCode::permission_denied},
      {"symlink-refused", StatusCode::permission_denied},
      {"outside-root", StatusCode::permission_denied},
      {"bad-name", StatusCode::permission_denied},
      {"path-nul", StatusCode::bad_message},
      {"path-backslash", StatusCode::bad_message},
      {"path-control-char", StatusCode::bad_message},
      {"path-not-utf8", StatusCode::bad_message},
      {"path-component-too-long", StatusCode::bad_message},
      {"path-too-long", StatusCode::bad_message},
      {"path-too-many-components", StatusCode::bad_message},
      {"name-too-long", StatusCode::bad_message},
      {"sftp-bad-message", StatusCode::bad_message},
      {"unsupported", StatusCode::op_unsupported},
  };
  for (const Row& row : kTable)
    if (row.code == e.code) return row.status;
  return StatusCode::failure;
}

std::string type_name(uint8_t type) {
  static constexpr const char* kNames[] = {
      nullptr, "init",  "version",  "open",     "close",   "read",     "write",
      "lstat", "fstat", "setstat",  "fsetstat", "opendir", "readdir",  "remove",
      "mkdir", "rmdir", "realpath", "stat",     "rename",  "readlink", "symlink"};
  if (type >= 1 && type <= 20) return kNames[type];
  switch (static_cast<Fxp>(type)) {
    case Fxp::status:
      return "status";
    case Fxp::handle:
      return "handle";
    case Fxp::data:
      return "data";
    case Fxp::name:
      return "name";
    case Fxp::attrs:
      return "attrs";
    case Fxp::extended:
      return "extended";
    case Fxp::extended_reply:
      return "extended-reply";
    default:
      return "type-" + std::to_string(type);
  }
}

}  // namespace kp::sftp
