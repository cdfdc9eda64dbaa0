// The SFTP protocol version 3 wire codec (draft-ietf-secsh-filexfer-02 plus
// the OpenSSH extensions posix-rename@, statvfs@, fsync@ and limits@).
//
// This file holds everything that turns channel bytes into requests and
// replies into channel bytes, and nothing that touches files: the session
// (gateway/sftp_session.cpp) decides what a request may do, common/confine.h
// does it. Keeping the codec pure makes it easy to fuzz
// (tests/fuzz/sftp_codec_fuzz.cpp) and to test every byte position.
//
// Three pieces:
//   * framing: cut the byte stream into packets (uint32 length + body), with
//     a hard cap on the length; a bad length is a protocol error that ends
//     the session (as in OpenSSH's sftp-server).
//   * decoding: every request is decoded FULLY into one flat `Request`
//     before anything acts on it; a short field, an over-long field or a
//     trailing byte makes the whole packet malformed ("sftp-bad-message"),
//     which also ends the session.
//   * encoding: replies are appended to a std::vector<uint8_t> as complete
//     packets (the length is written last), so many replies can be batched
//     in one buffer and written to the channel at once. DATA replies can be
//     filled in place by pread() (begin_data / end_data), so file bytes are
//     copied once, from the page cache into the output buffer.
//
// Zero copy on input: a decoded Request borrows from the packet bytes (its
// string_views point into them). It is valid while those bytes are; see
// Framer::next for how long that is.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kp::sftp {

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

inline constexpr uint32_t kProtocolVersion = 3;

// The largest packet body (the part after the uint32 length) we accept and
// advertise in limits@openssh.com. Room for a 256 KiB WRITE plus its header.
inline constexpr std::size_t kMaxPacket = 256 * 1024 + 1024;
// Largest READ we answer and largest WRITE we accept (payload bytes).
inline constexpr std::size_t kMaxReadLength = 256 * 1024;
inline constexpr std::size_t kMaxWriteLength = 256 * 1024;
// Field caps for client-supplied strings.
inline constexpr std::size_t kMaxPathBytes = 4096;
inline constexpr std::size_t kMaxHandleBytes = 256;
inline constexpr std::size_t kMaxExtNameBytes = 256;
// Largest number of extension pairs (INIT) or extended attributes (ATTRS).
inline constexpr std::size_t kMaxExtPairs = 64;

// Packet types. The numeric values are the wire values; a byte that is not
// one of these still decodes (as a Request of that raw type with `known`
// false) so the session can answer SSH_FX_OP_UNSUPPORTED.
enum class Fxp : uint8_t {
  init = 1,
  version = 2,
  open = 3,
  close = 4,
  read = 5,
  write = 6,
  lstat = 7,
  fstat = 8,
  setstat = 9,
  fsetstat = 10,
  opendir = 11,
  readdir = 12,
  remove = 13,
  mkdir = 14,
  rmdir = 15,
  realpath = 16,
  stat = 17,
  rename = 18,
  readlink = 19,
  symlink = 20,
  status = 101,
  handle = 102,
  data = 103,
  name = 104,
  attrs = 105,
  extended = 200,
  extended_reply = 201,
};

// SSH_FX_* status codes of version 3 (the only ones a v3 client knows).
enum class StatusCode : uint32_t {
  ok = 0,
  eof = 1,
  no_such_file = 2,
  permission_denied = 3,
  failure = 4,
  bad_message = 5,
  no_connection = 6,
  connection_lost = 7,
  op_unsupported = 8,
};

// SSH_FILEXFER_ATTR_* flags: which ATTRS fields are present.
namespace attr {
inline constexpr uint32_t size = 0x00000001;
inline constexpr uint32_t uidgid = 0x00000002;
inline constexpr uint32_t permissions = 0x00000004;
inline constexpr uint32_t acmodtime = 0x00000008;
inline constexpr uint32_t extended = 0x80000000;
}  // namespace attr

// SSH_FXF_* open flags (OPEN pflags).
namespace pflag {
inline constexpr uint32_t read = 0x00000001;
inline constexpr uint32_t write = 0x00000002;
inline constexpr uint32_t append = 0x00000004;
inline constexpr uint32_t creat = 0x00000008;
inline constexpr uint32_t trunc = 0x00000010;
inline constexpr uint32_t excl = 0x00000020;
}  // namespace pflag

// statvfs@openssh.com f_flag bits.
namespace vfsflag {
inline constexpr uint64_t rdonly = 0x1;
inline constexpr uint64_t nosuid = 0x2;
}  // namespace vfsflag

// Extension names we decode (and may advertise in VERSION with data "1",
// except statvfs which OpenSSH advertises as "2").
inline constexpr std::string_view kExtPosixRename = "posix-rename@openssh.com";
inline constexpr std::string_view kExtStatvfs = "statvfs@openssh.com";
inline constexpr std::string_view kExtFsync = "fsync@openssh.com";
inline constexpr std::string_view kExtLimits = "limits@openssh.com";

// ---------------------------------------------------------------------------
// Decoded values
// ---------------------------------------------------------------------------

// A (name, data) pair: INIT/VERSION extensions and ATTRS extended attributes.
// The views borrow from the packet (decode) or the caller (encode).
struct ExtPair {
  std::string_view name;
  std::string_view data;
};

// File attributes (SSH_FXP_ATTRS layout). Only the fields named in `flags`
// are meaningful / encoded.
struct Attrs {
  uint32_t flags = 0;
  uint64_t size = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t permissions = 0;  // st_mode bits, file type included
  uint32_t atime = 0;
  uint32_t mtime = 0;
  std::vector<ExtPair> extended;  // at most kMaxExtPairs; empty = no allocation

  bool has(uint32_t f) const { return (flags & f) != 0; }
};

// Which extended request an SSH_FXP_EXTENDED packet carries.
enum class Ext : uint8_t {
  none,          // the packet is not SSH_FXP_EXTENDED
  unknown,       // a name we do not implement: answer SSH_FX_OP_UNSUPPORTED
  posix_rename,  // path = old, path2 = new
  statvfs,       // path
  fsync,         // handle
  limits,        // no arguments
};

// One decoded request. Flat on purpose: the session's dispatch table is
// indexed by `type`, and each handler reads the fields its type fills in:
//
//   type       fields set
//   init       version (+ extension pairs skipped after validation)
//   open       id, path, pflags, attrs
//   close      id, handle
//   read       id, handle, offset, length (the client's ask; clamp it to
//              kMaxReadLength, the protocol lets a server return less)
//   write      id, handle, offset, data (a view into the packet, <= 256 KiB)
//   lstat, stat, opendir, remove, rmdir, realpath, readlink
//              id, path
//   fstat, readdir
//              id, handle
//   setstat, mkdir
//              id, path, attrs
//   fsetstat   id, handle, attrs
//   rename     id, path (old), path2 (new)
//   symlink    id, path, path2 in wire order. OpenSSH sends (target, link),
//              the reverse of the draft's (linkpath, targetpath); which one
//              a client meant is therefore unknowable -- refuse SYMLINK.
//   extended   id, ext_name, ext (+ the fields listed at `Ext`)
//   other      id; known == false (answer SSH_FX_OP_UNSUPPORTED)
//
// Paths are raw client bytes: canonicalise them (gateway/vpath.h) before use.
// Offsets are the client's u64; values above INT64_MAX do not fit off_t and
// must be refused by the caller before pread/pwrite.
struct Request {
  Fxp type = Fxp::init;
  bool known = true;
  uint32_t id = 0;
  uint32_t version = 0;
  std::string_view path;
  std::string_view path2;
  std::string_view handle;
  uint32_t pflags = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  std::string_view data;
  Attrs attrs;
  Ext ext = Ext::none;
  std::string_view ext_name;
};

// ---------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------

// Cuts one packet from the front of `buf` (bytes as received from the
// channel). On success returns the number of bytes the packet occupies
// (4 + body length) and sets `body` (type byte + payload) to a view into
// `buf`; returns 0 when `buf` does not yet hold a whole packet. A length of 0
// or above `max_body` is error "sftp-bad-length": end the session.
// This is the zero-copy form, for callers that can leave unconsumed bytes
// in the transport's buffer (a libssh channel data callback returns how many
// bytes it consumed).
Result<std::size_t> frame_one(std::string_view buf, std::string_view& body,
                              std::size_t max_body = kMaxPacket);

// An accumulating framer for callers that receive the stream in arbitrary
// pieces. It copies bytes in once (feed, or prepare/commit to read straight
// into its buffer) and hands out packet bodies without copying.
class Framer {
 public:
  explicit Framer(std::size_t max_body = kMaxPacket) : max_body_(max_body) {}

  // Appends received bytes. Invalidates views returned by earlier next().
  void feed(const void* data, std::size_t n);

  // Zero-copy receive: returns writable room for up to `n` bytes at the end
  // of the buffer; after writing k <= n bytes there, call commit(k).
  // Invalidates views returned by earlier next().
  std::span<uint8_t> prepare(std::size_t n);
  void commit(std::size_t k);

  // The next complete packet body (type byte + payload), or an empty view
  // when more bytes are needed (a real body is never empty). The view stays
  // valid until the next feed()/prepare(). An error ("sftp-bad-length") is
  // sticky: the stream cannot be resynchronised, end the session.
  Result<std::string_view> next();

  // Bytes received but not yet returned as packets.
  std::size_t buffered() const { return end_ - head_; }

 private:
  void compact();

  std::vector<uint8_t> buf_;
  std::size_t head_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;   // one past the last received byte
  std::size_t max_body_;
  bool failed_ = false;
};

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

// Decodes one packet body (as returned by frame_one / Framer::next) fully.
// Errors: "sftp-bad-message" for any short field, over-cap field, count
// above its cap or trailing byte (the detail names the packet type and the
// field); the session must end, as a desynchronised peer cannot be trusted.
// Unknown packet types decode with known == false and their id, if the body
// has one; unknown EXTENDED names decode as Ext::unknown (their arguments
// are not examined). The result borrows from `body`.
Result<Request> decode_request(std::string_view body);

// ---------------------------------------------------------------------------
// Encoding (each function appends one complete packet to `out`)
// ---------------------------------------------------------------------------

// SSH_FXP_VERSION with our version and the extensions we implement.
void encode_version(std::vector<uint8_t>& out, uint32_t version,
                    std::span<const ExtPair> extensions);

// SSH_FXP_STATUS. An empty `message` is replaced by status_text(code); the
// language tag is always "".
void encode_status(std::vector<uint8_t>& out, uint32_t id, StatusCode code,
                   std::string_view message = {});

// SSH_FXP_HANDLE. `handle` must be at most kMaxHandleBytes (the session's
// own opaque bytes).
void encode_handle(std::vector<uint8_t>& out, uint32_t id, std::string_view handle);

// SSH_FXP_DATA from a span the caller already has.
void encode_data(std::vector<uint8_t>& out, uint32_t id, std::string_view bytes);

// SSH_FXP_DATA filled in place, so pread() writes file bytes straight into
// the output buffer:
//
//   std::size_t start = begin_data(out, id);
//   std::size_t at = out.size();
//   out.resize(at + want);
//   ssize_t n = pread(fd, out.data() + at, want, off);
//   if (n <= 0) { cancel_packet(out, start); encode_status(...); }
//   else { out.resize(at + n); end_data(out, start); }
//
// begin_data appends the header and returns the packet's start offset;
// end_data takes every byte appended since as the payload and fills in both
// lengths. The payload must not exceed kMaxReadLength.
std::size_t begin_data(std::vector<uint8_t>& out, uint32_t id);
void end_data(std::vector<uint8_t>& out, std::size_t start);

// Drops a packet begun at `start` (begin_data / begin_name), e.g. when the
// read fails and a STATUS goes out instead.
void cancel_packet(std::vector<uint8_t>& out, std::size_t start);

// One entry of an SSH_FXP_NAME reply.
struct NameEntry {
  std::string_view filename;
  std::string_view longname;
  Attrs attrs;
};

// SSH_FXP_NAME with all `entries`.
void encode_name(std::vector<uint8_t>& out, uint32_t id, std::span<const NameEntry> entries);

// SSH_FXP_NAME built entry by entry (READDIR batches), without holding the
// entries: begin_name returns the start offset, add_name appends one entry,
// end_name writes the count and the length. The caller keeps the packet
// under the client's limit (stop adding at, say, 64 KiB).
std::size_t begin_name(std::vector<uint8_t>& out, uint32_t id);
void add_name(std::vector<uint8_t>& out, std::string_view filename, std::string_view longname,
              const Attrs& attrs);
void end_name(std::vector<uint8_t>& out, std::size_t start, uint32_t count);

// SSH_FXP_ATTRS.
void encode_attrs(std::vector<uint8_t>& out, uint32_t id, const Attrs& attrs);

// The 11 fields of a statvfs@openssh.com reply, in wire order.
struct StatVfs {
  uint64_t bsize = 0, frsize = 0, blocks = 0, bfree = 0, bavail = 0, files = 0, ffree = 0,
           favail = 0, fsid = 0, flag = 0, namemax = 0;
};
// SSH_FXP_EXTENDED_REPLY to statvfs@openssh.com.
void encode_statvfs(std::vector<uint8_t>& out, uint32_t id, const StatVfs& v);

// The 4 fields of a limits@openssh.com reply, in wire order.
struct Limits {
  uint64_t max_packet_length = kMaxPacket;
  uint64_t max_read_length = kMaxReadLength;
  uint64_t max_write_length = kMaxWriteLength;
  uint64_t max_open_handles = 0;  // 0 = no stated limit
};
// SSH_FXP_EXTENDED_REPLY to limits@openssh.com.
void encode_limits(std::vector<uint8_t>& out, uint32_t id, const Limits& v);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

// ATTRS from a struct stat: size, uid/gid, permissions (with the file type
// bits), atime/mtime (truncated to u32 as v3 requires). The session may
// blank uid/gid so host ids do not leak.
Attrs attrs_from_stat(const struct stat& st);

// StatVfs from a struct statvfs, with ST_RDONLY/ST_NOSUID mapped to the wire
// flag bits.
StatVfs statvfs_from(const struct statvfs& st);

// The `ls -l` style longname OpenSSH's server puts in NAME replies:
//   "-rw-r--r--    1 owner    group        1234 Nov 22 10:15 a.pdf"
// owner/group default to the numeric uid/gid; the date is UTC, as
// "Mon dd HH:MM" within six months of `now` and "Mon dd  YYYY" otherwise
// (now == 0 means the current time). The link count is not in v3 ATTRS and
// is printed as 1.
std::string longname(std::string_view name, const Attrs& attrs, std::string_view owner = {},
                     std::string_view group = {}, std::time_t now = 0);

// The default English text for a status code ("No such file", ...).
std::string_view status_text(StatusCode code);

// errno -> SFTP status, OpenSSH's errno_to_portable: a safe default of
// SSH_FX_FAILURE for anything not listed.
StatusCode status_from_errno(int err);

// kp::Error code (from common/confine.h or gateway/vpath.h) -> SFTP status,
// with the same safe default of SSH_FX_FAILURE.
StatusCode status_from_error(const Error& e);

// The packet type's name for logs ("open", "extended", "type-77").
std::string type_name(uint8_t type);

}  // namespace kp::sftp
