// Client-facing attributes; see public_attrs.h.
#include "gateway/public_attrs.h"

#include <ctime>

namespace kp::gateway {

sftp::Attrs dir_attrs() {
  sftp::Attrs a;
  a.flags = sftp::attr::permissions | sftp::attr::acmodtime;
  a.permissions = S_IFDIR | 0755;
  a.atime = a.mtime = static_cast<uint32_t>(std::time(nullptr));
  return a;
}

sftp::Attrs public_attrs(const struct stat& st) {
  sftp::Attrs a = sftp::attrs_from_stat(st);
  a.flags &= ~sftp::attr::uidgid;
  a.uid = a.gid = 0;
  return a;
}

}  // namespace kp::gateway
