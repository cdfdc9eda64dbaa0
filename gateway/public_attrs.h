// The attributes the gateway shows a client: directories are synthetic, and
// host uid/gid are never shown (they say nothing useful and leak host
// details). Shared by the session child and its monitor.
#pragma once

#include <sys/stat.h>

#include "gateway/sftp_codec.h"

namespace kp::gateway {

// A directory (the root or an area): mode 0755, times now.
sftp::Attrs dir_attrs();
// A file's attributes from its stat, without uid and gid.
sftp::Attrs public_attrs(const struct stat& st);

}  // namespace kp::gateway
