// The file-system calls whose failure must never go unnoticed -- writes,
// fsyncs, renames, links, unlinks of store files, uploads, worker outputs
// and keys -- through one small interface that a test build can make fail.
//
// Each function is the POSIX call of the same name (same return value and
// errno), except write_all/pwrite_all, which loop over EINTR and short
// writes and return false with errno set. In `knooppunt` the fault hook is
// null and nothing else happens. In `knooppunt-test`, tests/hooks/
// fault_injection.cpp sets it from the environment (KP_FAULTS, see there),
// and unit tests set it directly: then the Nth call of an operation fails
// with ENOSPC, EIO or EINTR, or writes only part of its bytes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace kp::fsio {

enum class Op : uint8_t { open, write, fsync, rename, link, unlink };

// What the hook decides for one call: 0 = go on; else fail with this errno
// (without making the call). For writes it may instead lower *n (a short write).
using FaultHook = int (*)(Op op, std::size_t* n);
extern FaultHook g_fault_hook;

int open(const char* path, int flags, mode_t mode = 0);
int openat(int dirfd, const char* path, int flags, mode_t mode = 0);
ssize_t write(int fd, const void* p, std::size_t n);
ssize_t pwrite(int fd, const void* p, std::size_t n, off_t at);
bool write_all(int fd, const void* p, std::size_t n);
bool pwrite_all(int fd, const void* p, std::size_t n, off_t at);
int fsync(int fd);  // retried on EINTR
int rename(const char* from, const char* to);
int renameat2(int fromdir, const char* from, int todir, const char* to, unsigned flags);
int link(const char* from, const char* to);
int linkat(int fromdir, const char* from, int todir, const char* to, int flags);
int unlink(const char* path);
int unlinkat(int dirfd, const char* path, int flags);

}  // namespace kp::fsio
