// Descriptor passing; see fd_passing.h.
#include "common/fd_passing.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace kp {

Status send_with_fds(int sock, std::span<const uint8_t> bytes, std::span<const int> fds) {
  KP_ENSURE(fds.size() <= kMaxFds, "fd-passing-io", "too many descriptors");
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  if (!fds.empty()) {
    mh.msg_control = control;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    const ssize_t n = ::sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return make_error("fd-passing-closed", "the peer is gone");
    KP_ENSURE(n == static_cast<ssize_t>(bytes.size()), "fd-passing-io", std::strerror(errno));
    return ok_status();
  }
}

Result<ReceivedMessage> recv_with_fds(int sock, std::size_t max_bytes, std::size_t max_fds) {
  ReceivedMessage m;
  m.bytes.resize(max_bytes + 1);  // one more, so an oversized datagram shows as MSG_TRUNC or size
  iovec iov{m.bytes.data(), m.bytes.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n == 0 || (n < 0 && errno == ECONNRESET)) return make_error("fd-passing-closed", "the peer is gone");
  KP_ENSURE(n > 0, "fd-passing-io", std::strerror(errno));
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      m.fds.emplace_back(fd);
    }
  }
  KP_ENSURE(!(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && static_cast<std::size_t>(n) <= max_bytes,
            "fd-passing-io", "truncated or oversized message");
  KP_ENSURE(m.fds.size() <= max_fds, "fd-passing-io", "more descriptors than expected");
  m.bytes.resize(static_cast<std::size_t>(n));
  return m;
}

}  // namespace kp
