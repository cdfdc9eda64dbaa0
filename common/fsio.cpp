// File-system calls with a fault hook; see fsio.h.
#include "common/fsio.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

namespace kp::fsio {

FaultHook g_fault_hook = nullptr;

namespace {

// True when the hook fails this call (errno set).
bool injected(Op op, std::size_t* n = nullptr) {
  if (!g_fault_hook) return false;
  std::size_t ignored = 0;
  const int err = g_fault_hook(op, n ? n : &ignored);
  if (err == 0) return false;
  errno = err;
  return true;
}

}  // namespace

int open(const char* path, int flags, mode_t mode) {
  if ((flags & (O_WRONLY | O_RDWR | O_CREAT)) && injected(Op::open)) return -1;
  return ::open(path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, mode_t mode) {
  if ((flags & (O_WRONLY | O_RDWR | O_CREAT)) && injected(Op::open)) return -1;
  return ::openat(dirfd, path, flags, mode);
}

ssize_t write(int fd, const void* p, std::size_t n) {
  if (injected(Op::write, &n)) return -1;
  return ::write(fd, p, n);
}

ssize_t pwrite(int fd, const void* p, std::size_t n, off_t at) {
  if (injected(Op::write, &n)) return -1;
  return ::pwrite(fd, p, n, at);
}

bool write_all(int fd, const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    if (w == 0) {
      errno = EIO;
      return false;
    }
    c += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool pwrite_all(int fd, const void* p, std::size_t n, off_t at) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = pwrite(fd, c, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    if (w == 0) {
      errno = EIO;
      return false;
    }
    c += w;
    at += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

int fsync(int fd) {
  for (;;) {
    if (injected(Op::fsync)) {
      if (errno == EINTR) continue;
      return -1;
    }
    const int rc = ::fsync(fd);
    if (rc != 0 && errno == EINTR) continue;
    return rc;
  }
}

int rename(const char* from, const char* to) {
  if (injected(Op::rename)) return -1;
  return ::rename(from, to);
}

int renameat2(int fromdir, const char* from, int todir, const char* to, unsigned flags) {
  if (injected(Op::rename)) return -1;
  return ::renameat2(fromdir, from, todir, to, flags);
}

int link(const char* from, const char* to) {
  if (injected(Op::link)) return -1;
  return ::link(from, to);
}

int linkat(int fromdir, const char* from, int todir, const char* to, int flags) {
  if (injected(Op::link)) return -1;
  return ::linkat(fromdir, from, todir, to, flags);
}

int unlink(const char* path) {
  if (injected(Op::unlink)) return -1;
  return ::unlink(path);
}

int unlinkat(int dirfd, const char* path, int flags) {
  if (injected(Op::unlink)) return -1;
  return ::unlinkat(dirfd, path, flags);
}

}  // namespace kp::fsio
