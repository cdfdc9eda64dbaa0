// Reading a password from the terminal; see terminal.h.
#include "cli/terminal.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kp::cli {

Result<SecretBytes> read_password_from_terminal(const std::string& prompt) {
  Fd tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  KP_ENSURE(tty.valid() && ::isatty(tty.get()), "password-needed",
            "the key is password-protected and there is no terminal to ask; give --password-file FILE");
  struct termios old {};
  KP_ENSURE(::tcgetattr(tty.get(), &old) == 0, "password-needed", "cannot read the terminal's settings");
  struct termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  (void)!::write(tty.get(), prompt.data(), prompt.size());
  ::tcsetattr(tty.get(), TCSAFLUSH, &quiet);
  SecretBytes buf(1024);
  std::size_t n = 0;
  bool ok = true;
  while (n < buf.size()) {
    char c = 0;
    ssize_t r = ::read(tty.get(), &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ok = r == 0 && n > 0;
      break;
    }
    if (c == '\n' || c == '\r') break;
    buf.data()[n++] = static_cast<uint8_t>(c);
  }
  ::tcsetattr(tty.get(), TCSAFLUSH, &old);
  (void)!::write(tty.get(), "\n", 1);
  KP_ENSURE(ok, "password-needed", "no password was typed");
  SecretBytes out(n);
  std::copy(buf.data(), buf.data() + n, out.data());
  return out;
}

}  // namespace kp::cli
