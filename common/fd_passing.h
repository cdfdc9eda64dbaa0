// Datagrams with descriptors (SCM_RIGHTS) on a SOCK_SEQPACKET socket, for
// the processes that hand files to a sandboxed child: the SSH session
// monitor (gateway/monitor_wire), the intake worker and its parser zygote.
//
// A message is one datagram of at most `max_bytes` with at most kMaxFds
// descriptors. The receiver takes every descriptor that arrived before it
// judges the message, so none leaks, and refuses a truncated datagram or
// more descriptors than it asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/handles.h"
#include "common/result.h"

namespace kp {

inline constexpr std::size_t kMaxFds = 4;

// Sends `bytes` with `fds` (at most kMaxFds; none negative). Errors
// "fd-passing-io" (strerror in the detail), "fd-passing-closed" (the peer
// is gone).
Status send_with_fds(int sock, std::span<const uint8_t> bytes, std::span<const int> fds);

struct ReceivedMessage {
  std::vector<uint8_t> bytes;
  std::vector<Fd> fds;  // in the order sent
};

// Receives one datagram of at most `max_bytes` (larger is an error) with at
// most `max_fds` descriptors (more is an error; all are closed). Errors as
// send_with_fds.
Result<ReceivedMessage> recv_with_fds(int sock, std::size_t max_bytes, std::size_t max_fds);

}  // namespace kp
