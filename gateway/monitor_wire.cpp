// The monitor protocol's encoding, decoding and descriptor passing; see monitor_wire.h.
#include "gateway/monitor_wire.h"

#include "common/pair_file.h"

#include <sys/mman.h>

#include "common/bytes.h"
#include "common/fd_passing.h"

namespace kp::gateway::monitor {

namespace {

constexpr std::size_t kMaxName = 255;

void put_attrs(Writer& w, const sftp::Attrs& a) {
  w.u32(a.flags & ~sftp::attr::uidgid);
  w.u64(a.size);
  w.u32(a.permissions);
  w.u32(a.atime);
  w.u32(a.mtime);
}

sftp::Attrs get_attrs(Reader& r) {
  sftp::Attrs a;
  a.flags = r.u32() & (sftp::attr::size | sftp::attr::permissions | sftp::attr::acmodtime);
  a.size = r.u64();
  a.permissions = r.u32();
  a.atime = r.u32();
  a.mtime = r.u32();
  return a;
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_reason(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

}  // namespace

std::string_view op_name(Op op) {
  switch (op) {
    case Op::stat: return "stat";
    case Op::open_read: return "open_read";
    case Op::open_write: return "open_write";
    case Op::close_write: return "close_write";
    case Op::close_read: return "close_read";
    case Op::discard: return "discard";
    case Op::list: return "list";
    case Op::remove: return "remove";
    case Op::rename: return "rename";
    case Op::setstat: return "setstat";
    case Op::statvfs: return "statvfs";
    case Op::channel_refused: return "channel_refused";
    case Op::session_end: return "session_end";
  }
  return "unknown";
}

std::vector<uint8_t> encode_request(const Request& q) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.u8(static_cast<uint8_t>(q.op));
  switch (q.op) {
    case Op::stat:
    case Op::open_read:
    case Op::open_write:
    case Op::list:
    case Op::remove:
    case Op::setstat:
    case Op::statvfs:
      w.str(q.path);
      break;
    case Op::rename:
      w.str(q.path);
      w.str(q.path2);
      break;
    case Op::close_write:
      w.u32(q.token);
      w.u64(q.size);
      w.str(q.sha256_hex);
      break;
    case Op::close_read:
      w.u32(q.token);
      w.u64(q.size);
      break;
    case Op::discard:
      w.u32(q.token);
      w.u64(q.size);
      w.str(q.reason);
      break;
    case Op::channel_refused:
      w.str(q.reason);
      break;
    case Op::session_end:
      break;
  }
  return out;
}

Result<Request> decode_request(std::span<const uint8_t> msg) {
  Reader r(msg.data(), msg.size());
  Request q;
  uint8_t op = r.u8();
  KP_ENSURE(r.ok() && op >= static_cast<uint8_t>(Op::stat) && op <= static_cast<uint8_t>(Op::session_end),
            "monitor-bad-request", "unknown request type " + std::to_string(op));
  q.op = static_cast<Op>(op);
  switch (q.op) {
    case Op::stat:
    case Op::open_read:
    case Op::open_write:
    case Op::list:
    case Op::remove:
    case Op::setstat:
    case Op::statvfs:
      q.path = std::string(r.str(kMaxPath));
      break;
    case Op::rename:
      q.path = std::string(r.str(kMaxPath));
      q.path2 = std::string(r.str(kMaxPath));
      break;
    case Op::close_write:
      q.token = r.u32();
      q.size = r.u64();
      q.sha256_hex = std::string(r.str(64));
      if (r.ok() && !is_sha256_hex(q.sha256_hex)) r.fail();
      break;
    case Op::close_read:
      q.token = r.u32();
      q.size = r.u64();
      break;
    case Op::discard:
      q.token = r.u32();
      q.size = r.u64();
      q.reason = std::string(r.str(kMaxReason));
      if (r.ok() && !is_reason(q.reason)) r.fail();
      break;
    case Op::channel_refused:
      q.reason = std::string(r.str(kMaxReason));
      if (r.ok() && q.reason != "exec" && q.reason != "shell" && q.reason != "subsystem") r.fail();
      break;
    case Op::session_end:
      break;
  }
  KP_ENSURE(r.at_end(), "monitor-bad-request", "malformed " + std::string(op_name(q.op)) + " request");
  return q;
}

std::size_t entry_cost(const Entry& e) { return 4 + e.name.size() + 24; }

std::vector<uint8_t> encode_reply(Op op, const Reply& p) {
  std::vector<uint8_t> out;
  Writer w(out);
  if (p.error) {
    w.u8(1);
    w.str(p.error->code.substr(0, kMaxReason));
    w.str(p.error->detail.substr(0, 1024));
    return out;
  }
  w.u8(0);
  switch (op) {
    case Op::stat:
      put_attrs(w, p.attrs);
      break;
    case Op::open_read:
      w.u32(p.token);
      put_attrs(w, p.attrs);
      w.u64(p.value);
      w.str(p.prefix);
      break;
    case Op::open_write:
      w.u32(p.token);
      w.u64(p.value);
      break;
    case Op::list:
      w.u8(p.more ? 1 : 0);
      w.u32(static_cast<uint32_t>(p.entries.size()));
      for (const auto& e : p.entries) {
        w.str(e.name);
        put_attrs(w, e.attrs);
      }
      break;
    case Op::statvfs:
      for (uint64_t v : {p.vfs.bsize, p.vfs.frsize, p.vfs.blocks, p.vfs.bfree, p.vfs.bavail, p.vfs.files,
                         p.vfs.ffree, p.vfs.favail, p.vfs.fsid, p.vfs.flag, p.vfs.namemax})
        w.u64(v);
      break;
    default:
      break;
  }
  return out;
}

Result<Reply> decode_reply(Op op, std::span<const uint8_t> msg) {
  Reader r(msg.data(), msg.size());
  Reply p;
  uint8_t status = r.u8();
  if (status == 1) {
    std::string code(r.str(kMaxReason));
    std::string detail(r.str(1024));
    KP_ENSURE(r.at_end(), "monitor-bad-reply", "malformed error reply");
    p.error = make_error(std::move(code), std::move(detail));
    return p;
  }
  KP_ENSURE(r.ok() && status == 0, "monitor-bad-reply", "bad reply status");
  switch (op) {
    case Op::stat:
      p.attrs = get_attrs(r);
      break;
    case Op::open_read:
      p.token = r.u32();
      p.attrs = get_attrs(r);
      p.value = r.u64();
      p.prefix = std::string(r.str(pair_file::kMaxPrefix));
      break;
    case Op::open_write:
      p.token = r.u32();
      p.value = r.u64();
      break;
    case Op::list: {
      p.more = r.u8() != 0;
      uint32_t n = r.u32();
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        Entry e;
        e.name = std::string(r.str(kMaxName));
        e.attrs = get_attrs(r);
        p.entries.push_back(std::move(e));
      }
      break;
    }
    case Op::statvfs:
      for (uint64_t* v : {&p.vfs.bsize, &p.vfs.frsize, &p.vfs.blocks, &p.vfs.bfree, &p.vfs.bavail,
                          &p.vfs.files, &p.vfs.ffree, &p.vfs.favail, &p.vfs.fsid, &p.vfs.flag,
                          &p.vfs.namemax})
        *v = r.u64();
      break;
    default:
      break;
  }
  KP_ENSURE(r.at_end(), "monitor-bad-reply", "malformed " + std::string(op_name(op)) + " reply");
  return p;
}

namespace {
Error as_monitor_error(const Error& e) {
  return make_error(e.code == "fd-passing-closed" ? "monitor-closed" : "monitor-io", e.detail);
}
}  // namespace

Status send_message(int sock, const std::vector<uint8_t>& msg, int fd) {
  KP_ENSURE(msg.size() <= kMaxMessage, "monitor-io", "message too large");
  const int fds[1] = {fd};
  Status s = send_with_fds(sock, msg, fd >= 0 ? std::span<const int>(fds, 1) : std::span<const int>());
  if (!s.ok()) return as_monitor_error(s.error());
  return ok_status();
}

Result<Message> recv_message(int sock) {
  auto r = recv_with_fds(sock, kMaxMessage, 1);
  if (!r.ok()) return as_monitor_error(r.error());
  Message m;
  m.bytes = std::move(r->bytes);
  if (!r->fds.empty()) m.fd = std::move(r->fds.front());
  return m;
}

SharedFlag* map_shared_flag() {
  void* p = ::mmap(nullptr, sizeof(SharedFlag), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  return new (p) SharedFlag();
}

}  // namespace kp::gateway::monitor
