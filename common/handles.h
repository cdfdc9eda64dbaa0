// RAII owners for every C handle the project uses.
//
// This is the only header with raw free/close calls for libssh, sqlite3,
// libarchive, libsodium, libseccomp and file descriptors. Everything else
// holds these types, so an early return can never leak a handle or leave a
// secret in memory.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <seccomp.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstddef>
#include <memory>
#include <utility>

namespace kp {

struct SqliteDbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteStmtDeleter {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteDbDeleter>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteStmtDeleter>;
// An online backup in progress (store/backup.h); finishing releases it.
struct SqliteBackupDeleter {
  void operator()(sqlite3_backup* b) const { sqlite3_backup_finish(b); }
};
using SqliteBackup = std::unique_ptr<sqlite3_backup, SqliteBackupDeleter>;

struct SshSessionDeleter {
  void operator()(ssh_session s) const {
    ssh_disconnect(s);
    ssh_free(s);
  }
};
struct SshBindDeleter {
  void operator()(ssh_bind b) const { ssh_bind_free(b); }
};
struct SshKeyDeleter {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
struct SshMessageDeleter {
  void operator()(ssh_message m) const { ssh_message_free(m); }
};
struct SshChannelDeleter {
  void operator()(ssh_channel c) const { ssh_channel_free(c); }
};
struct SshEventDeleter {
  void operator()(ssh_event e) const { ssh_event_free(e); }
};
struct SshStringDeleter {
  void operator()(char* s) const { ssh_string_free_char(s); }
};
struct SshWireStringDeleter {
  void operator()(ssh_string s) const { ssh_string_free(s); }
};
using SshSession = std::unique_ptr<ssh_session_struct, SshSessionDeleter>;
using SshBind = std::unique_ptr<ssh_bind_struct, SshBindDeleter>;
using SshKey = std::unique_ptr<ssh_key_struct, SshKeyDeleter>;
using SshMessage = std::unique_ptr<ssh_message_struct, SshMessageDeleter>;
using SshChannel = std::unique_ptr<ssh_channel_struct, SshChannelDeleter>;
using SshEvent = std::unique_ptr<ssh_event_struct, SshEventDeleter>;
using SshCString = std::unique_ptr<char, SshStringDeleter>;
using SshWireString = std::unique_ptr<ssh_string_struct, SshWireStringDeleter>;

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ArchiveReadDeleter>;
using ArchiveWriter = std::unique_ptr<struct archive, ArchiveWriteDeleter>;
struct ArchiveEntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryDeleter>;

// A libseccomp filter under construction (scmp_filter_ctx is a void*).
struct SeccompDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using SeccompFilter = std::unique_ptr<void, SeccompDeleter>;

// A file descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Secret bytes in sodium_malloc'd memory: guard pages, mlock'd, wiped on free.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t n)
      : p_(static_cast<unsigned char*>(sodium_malloc(n == 0 ? 1 : n))), n_(p_ ? n : 0) {}
  SecretBytes(SecretBytes&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      free_();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { free_(); }

  unsigned char* data() { return p_; }
  const unsigned char* data() const { return p_; }
  std::size_t size() const { return n_; }
  bool valid() const { return p_ != nullptr; }

 private:
  void free_() {
    if (p_) sodium_free(p_);  // sodium_free wipes before releasing
    p_ = nullptr;
    n_ = 0;
  }
  unsigned char* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace kp
