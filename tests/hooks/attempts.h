// What the escape hooks try from inside a sandboxed process, each answered
// as "refused:ERRNO" or "ALLOWED" (a hook that reports ALLOWED found a way
// out). Shared by tests/hooks/sftp_escape.cpp and parser_escape.cpp.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace kp::hooks {

inline std::string outcome(long rc) {
  if (rc >= 0) return "ALLOWED";
  return std::string("refused:") + strerrorname_np(errno);
}

inline std::string try_open(const std::string& path, int flags) {
  errno = 0;
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  std::string r = outcome(fd);
  if (fd >= 0) ::close(fd);
  return r;
}

inline std::string try_exec() {
  char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>("true"), nullptr};
  return outcome(::execve("/bin/sh", argv, nullptr));
}

// A TCP connection to 127.0.0.1:`port`.
inline std::string try_connect(uint16_t port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return outcome(s);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const long rc = ::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  std::string r = outcome(rc);
  ::close(s);
  return r;
}

// Appends "k":"v" to a JSON object under construction ("{" so far, or more).
inline void json_pair(std::string& j, const std::string& k, const std::string& v) {
  if (j.size() > 1) j += ",";
  j += "\"" + k + "\":\"" + v + "\"";
}

}  // namespace kp::hooks
