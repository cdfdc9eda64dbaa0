// Messages to an SSH client; see ssh_notice.h.
#include "gateway/ssh_notice.h"

#include <libssh/server.h>

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
  ssh_session_set_disconnect_message(session, printable(text).c_str());
  ssh_disconnect(session);
}

}  // namespace kp::gateway
