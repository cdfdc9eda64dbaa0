// Publishing a whole file atomically: readers (an auditor's SFTP client, a
// script) see either no file or the complete one, never a half-written one.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace kp {

// Writes `data` to a temporary name next to `path` (unique per process),
// fsyncs it and renames it over `path`; mode 0600 by default (the gateway,
// not the file mode, decides who may read it), `mode` for public files. Error "io-failed" naming the file; the
// temporary is removed on failure.
Status write_file_atomic(const std::string& path, const std::string& data, mode_t mode = 0600);

// Writes all of `data` to `fd` (retrying short writes and EINTR). Error
// "io-failed" naming `name`.
Status write_all(int fd, std::string_view data, const std::string& name);

}  // namespace kp
