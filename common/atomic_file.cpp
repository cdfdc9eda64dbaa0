// Atomic file publication; see atomic_file.h.
#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/handles.h"
#include "common/fsio.h"

namespace kp {

Status write_all(int fd, std::string_view data, const std::string& name) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t w = fsio::write(fd, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    KP_ENSURE(w > 0, "io-failed", "cannot write " + name);
    off += static_cast<std::size_t>(w);
  }
  return ok_status();
}

Status write_file_atomic(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  auto write_all = [&]() -> Status {
    Fd fd(fsio::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    KP_ENSURE(fd.valid(), "io-failed", "cannot create " + tmp);
    KP_ENSURE(::fchmod(fd.get(), mode) == 0, "io-failed", "cannot set the mode of " + tmp);
    KP_GUARD(kp::write_all(fd.get(), data, tmp));
    KP_ENSURE(fsio::fsync(fd.get()) == 0, "io-failed", "cannot sync " + tmp);
    KP_ENSURE(fsio::rename(tmp.c_str(), path.c_str()) == 0, "io-failed",
              "cannot rename " + tmp + " to " + path);
    return ok_status();
  };
  Status s = write_all();
  if (!s.ok() && fsio::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return make_error(s.error().code, s.error().detail + "; " + tmp + " stays");
  return s;
}

}  // namespace kp
