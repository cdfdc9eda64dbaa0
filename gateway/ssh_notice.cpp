// Messages to an SSH client; see ssh_notice.h.
#include "gateway/ssh_notice.h"

#include <fcntl.h>
#include <libssh/server.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/handles.h"

namespace kp::gateway {

namespace {

std::string printable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 512)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

void send_auth_banner(ssh_session session, const std::string& text) {
  std::string line = printable(text) + "\r\n";
  SshWireString s(ssh_string_from_char(line.c_str()));
  if (s) ssh_send_issue_banner(session, s.get());
}

void disconnect_with(ssh_session session, const std::string& text) {
  // libssh closes its socket right after the packet; a close with unread
  // client bytes (the client pipelines) would send a reset that can destroy
  // the message before the client reads it. A second descriptor keeps the
  // socket open: end our side with a FIN, read what the client still sends
  // (two seconds at most), then close.
  int fd = ssh_get_fd(session);
  Fd keep(fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1);
  ssh_session_set_disconnect_message(session, printable(text).c_str());
  // libssh 0.10 writes a packet at once only while its socket is known to
  // be writable, learns that from a poll, and forgets it at every write;
  // ssh_disconnect queues its packet and closes without a poll, so the
  // packet would be lost after any earlier write (the banner). One poll
  // first makes the socket writable again for it.
  if (SshEvent ev(ssh_event_new()); ev && ssh_event_add_session(ev.get(), session) == SSH_OK) {
    ssh_event_dopoll(ev.get(), 100);
    ssh_event_remove_session(ev.get(), session);
  }
  ssh_disconnect(session);
  if (!keep.valid()) return;
  ::shutdown(keep.get(), SHUT_WR);
  char sink[4096];
  for (int i = 0; i < 20; ++i) {
    pollfd pfd{keep.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) < 0) return;
    if (pfd.revents && ::read(keep.get(), sink, sizeof sink) <= 0) return;
  }
}

}  // namespace kp::gateway
