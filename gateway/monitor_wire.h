// The privilege-separation protocol between a connection's monitor and its
// sandboxed session child (OpenSSH's monitor.c idea, our own format).
//
// The child speaks SSH and SFTP to the client but can open nothing: every
// file it touches reaches it as a descriptor the monitor passes with
// SCM_RIGHTS after checking the principal and the mandate for that one
// operation. The channel is a SOCK_SEQPACKET socketpair, so a message is one
// datagram (at most kMaxMessage bytes, at most one descriptor) and a
// truncated or oversized one is seen as such. Requests are decoded with the
// same bounded Reader as the SFTP codec, fully, before the monitor acts; an
// unknown op, a field over its cap, a bad token or a trailing byte is
// "monitor-bad-request" and ends the connection.
//
// The fixed list of requests (the child sends one and waits for its reply):
//
//   op             fields                           reply (ok)
//   stat           path                             attrs
//   open_read      path                             token, attrs + fd (read-only)
//   open_write     path                             token, day bytes so far + fd (the partial file)
//   close_write    token, size, sha256 (hex)        -   (monitor: fsync, limits, row, audit, rename)
//   close_read     token, bytes read                -   (monitor: download audit)
//   discard        token, reason                    -   (monitor: unlink the partial, audit a limit hit)
//   list           path                             entries, in one or more messages (`more`)
//   remove         path                             -   (acknowledge, or drop an own temporary upload)
//   rename         path, path2                      -   (finish an upload under a temporary name)
//   setstat        path                             -
//   statvfs        path                             statvfs fields
//   channel_refused what (exec, shell, subsystem)   -   (audit)
//   session_end    -                                -   (an SFTP session ended: drop its uncommitted uploads)
//
// Every reply is either ok + the fields above or an error (code, detail),
// which the child shows the client. Paths are client bytes: the monitor
// canonicalises and resolves them itself against the principal's view.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/handles.h"
#include "common/result.h"
#include "gateway/sftp_codec.h"

namespace kp::gateway::monitor {

inline constexpr std::size_t kMaxMessage = 64 * 1024;
inline constexpr std::size_t kMaxPath = sftp::kMaxPathBytes;
inline constexpr std::size_t kMaxReason = 64;

enum class Op : uint8_t {
  stat = 1,
  open_read = 2,
  open_write = 3,
  close_write = 4,
  close_read = 5,
  discard = 6,
  list = 7,
  remove = 8,
  rename = 9,
  setstat = 10,
  statvfs = 11,
  channel_refused = 12,
  session_end = 13,
};
std::string_view op_name(Op op);

struct Request {
  Op op = Op::stat;
  std::string path;    // stat, open_*, list, remove, rename (from), setstat, statvfs
  std::string path2;   // rename (to)
  uint32_t token = 0;  // close_*, discard
  uint64_t size = 0;   // close_write: size; close_read: bytes read; discard: the refused end offset
  std::string sha256_hex;  // close_write: 64 lowercase hex digits
  std::string reason;      // discard: the refusal code; channel_refused: what was asked
};

struct Entry {
  std::string name;
  sftp::Attrs attrs;
};

struct Reply {
  std::optional<Error> error;  // set: refused
  uint32_t token = 0;
  uint64_t value = 0;          // open_write: the municipality's bytes today before this upload;
                               // open_read: where the descriptor's served bytes start (after prefix)
  std::string prefix;          // open_read: bytes served before the descriptor's (common/pair_file.h)
  sftp::Attrs attrs;
  std::vector<Entry> entries;  // list: this message's share
  bool more = false;           // list: another message follows
  sftp::StatVfs vfs;
};

std::vector<uint8_t> encode_request(const Request& r);
// Decodes a request fully. Error "monitor-bad-request".
Result<Request> decode_request(std::span<const uint8_t> msg);

std::vector<uint8_t> encode_reply(Op op, const Reply& r);
// Decodes the reply to `op`. Error "monitor-bad-reply".
Result<Reply> decode_reply(Op op, std::span<const uint8_t> msg);

// Bytes a list entry costs in a reply, so the monitor can split a listing
// into messages below kMaxMessage.
std::size_t entry_cost(const Entry& e);

// One datagram with at most one descriptor (common/fd_passing). Errors "monitor-io" (the
// detail has strerror), "monitor-closed" (the peer is gone).
Status send_message(int sock, const std::vector<uint8_t>& msg, int fd = -1);
struct Message {
  std::vector<uint8_t> bytes;
  Fd fd;  // invalid when none came
};
Result<Message> recv_message(int sock);

// A word in memory shared by the monitor and its child (an anonymous
// MAP_SHARED page made before the fork). The monitor sets it when the
// principal lost its entitlement, so that reads and writes on descriptors
// the child already holds are refused from then on without a round trip.
// It is a courtesy to an honest child: the monitor does not rely on it (it
// refuses every request itself and ends the connection soon after).
struct SharedFlag {
  volatile uint32_t revoked = 0;
  char reason[kMaxReason] = {};
};
// Maps one SharedFlag; nullptr when mmap fails.
SharedFlag* map_shared_flag();

}  // namespace kp::gateway::monitor
