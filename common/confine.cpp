// Directory-fd-relative file access for client-chosen names (see confine.h).
//
// Names are re-checked here (is_single_component) before any system call,
// and copied into a NUL-terminated stack buffer, so a string_view into a
// packet can be passed straight in without an allocation.
#include "common/confine.h"

#include "common/fsio.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace kp::confine {

namespace {

// Set once openat2 has answered ENOSYS (old kernel or a seccomp filter), so
// later opens go straight to the fallback instead of failing first.
std::atomic<bool> g_no_openat2{false};
std::atomic<bool> g_force_fallback{false};

// A NUL-terminated copy of a checked single component.
struct CName {
  std::array<char, 256> buf;
  explicit CName(std::string_view s) {
    std::memcpy(buf.data(), s.data(), s.size());  // s.size() <= 255, checked first
    buf[s.size()] = '\0';
  }
  const char* c_str() const { return buf.data(); }
};

// O_DIRECTORY is checked before O_NOFOLLOW, so a symlink opened as a
// directory reports ENOTDIR. On that error path only, look at the entry so
// the refusal names its real reason.
Error open_error(int err, int dirfd, const CName& cname, std::string_view name, int flags) {
  struct stat st;
  if (err == ENOTDIR && (flags & O_DIRECTORY) &&
      ::fstatat(dirfd, cname.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    err = ELOOP;
  return error_from_errno(err, "open", name);
}

Error bad_name(std::string_view op) {
  return make_error("bad-name", std::string(op) + ": not a single safe path component");
}

int retry_open(int dirfd, const char* name, int flags, mode_t mode) {
  int fd;
  do fd = ::openat(dirfd, name, flags, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

}  // namespace

bool is_single_component(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

Error error_from_errno(int err, std::string_view op, std::string_view name) {
  const char* code;
  switch (err) {
    case ENOENT:
      code = "not-found";
      break;
    case EEXIST:
      code = "already-exists";
      break;
    case ENOTEMPTY:
      code = "not-empty";
      break;
    case ELOOP:
      code = "symlink-refused";
      break;
    case EXDEV:
      code = (op == "rename") ? "cross-device" : "outside-root";
      break;
    case EACCES:
    case EPERM:
      code = "permission-denied";
      break;
    case ENOTDIR:
      code = "not-a-directory";
      break;
    case EISDIR:
      code = "is-a-directory";
      break;
    case ENOSPC:
    case EDQUOT:
      code = "no-space";
      break;
    case ENAMETOOLONG:
      code = "name-too-long";
      break;
    case EMFILE:
    case ENFILE:
      code = "too-many-open-files";
      break;
    default:
      code = "io-error";
      break;
  }
  std::string detail(op);
  detail += " '";
  detail += name;
  detail += "': ";
  detail += std::strerror(err);
  return make_error(code, std::move(detail));
}

Result<Fd> open_dir(const std::string& host_dir) {
  int fd = retry_open(AT_FDCWD, host_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return error_from_errno(errno, "open-dir", host_dir);
  return Fd(fd);
}

Result<Fd> open_beneath(int dirfd, std::string_view name, int flags, mode_t mode) {
  if (!is_single_component(name)) return bad_name("open");
  CName cname(name);
  // O_NONBLOCK: a FIFO a host left in an area must not hang the session on
  // open (it has no effect on regular files). O_NOFOLLOW: belt and braces.
  flags |= O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  if (!(flags & (O_CREAT | O_TMPFILE))) mode = 0;  // openat2 refuses a stray mode

  if (!g_no_openat2.load(std::memory_order_relaxed) &&
      !g_force_fallback.load(std::memory_order_relaxed)) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(static_cast<unsigned>(flags));
    how.mode = mode;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    long fd;
    int tries = 0;
    // EAGAIN: the kernel saw a concurrent rename and could not prove the
    // walk stayed beneath; a retry is safe. EINTR: a signal during open.
    do fd = ::syscall(SYS_openat2, dirfd, cname.c_str(), &how, sizeof how);
    while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 8);
    if (fd >= 0) return Fd(static_cast<int>(fd));
    if (errno != ENOSYS) return open_error(errno, dirfd, cname, name, flags);
    g_no_openat2.store(true, std::memory_order_relaxed);
  }
  // Fallback: one component, O_NOFOLLOW refuses a final symlink with ELOOP;
  // there is nothing before it to resolve.
  int fd = retry_open(dirfd, cname.c_str(), flags, mode);
  if (fd < 0) return open_error(errno, dirfd, cname, name, flags);
  return Fd(fd);
}

Result<Fd> open_subdir(int dirfd, std::string_view name) {
  return open_beneath(dirfd, name, O_RDONLY | O_DIRECTORY);
}

Status rename_noreplace(int fromdir, std::string_view from, int todir, std::string_view to) {
  if (!is_single_component(from) || !is_single_component(to)) return bad_name("rename");
  CName cfrom(from), cto(to);
  if (fsio::renameat2(fromdir, cfrom.c_str(), todir, cto.c_str(), RENAME_NOREPLACE) == 0)
    return ok_status();
  if (errno != EINVAL && errno != ENOSYS) return error_from_errno(errno, "rename", to);
  // The file system cannot do RENAME_NOREPLACE: link (which never replaces)
  // then unlink the old name. Works for regular files only.
  if (fsio::linkat(fromdir, cfrom.c_str(), todir, cto.c_str(), 0) != 0)
    return error_from_errno(errno, "rename", to);
  if (fsio::unlinkat(fromdir, cfrom.c_str(), 0) != 0) {
    int err = errno;
    // Undo: leave one name, as before. Should that fail too, both names
    // stay (the same file); the error says the rename did not happen.
    if (fsio::unlinkat(todir, cto.c_str(), 0) != 0) err = errno;
    return error_from_errno(err, "rename", from);
  }
  return ok_status();
}

Result<std::vector<DirEntry>> list_dir(int dirfd, std::size_t max_entries) {
  // A fresh open file description: getdents moves its offset, and the
  // caller's fd may be shared.
  int raw = retry_open(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (raw < 0) return error_from_errno(errno, "list", ".");
  Fd dir(raw);

  std::vector<DirEntry> out;
  alignas(8) std::array<char, 32 * 1024> buf;
  for (;;) {
    ssize_t n = ::getdents64(dir.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return error_from_errno(errno, "list", ".");
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      // Fields read by offset and memcpy: no aliasing assumptions.
      unsigned short reclen;
      std::memcpy(&reclen, buf.data() + off + offsetof(struct dirent64, d_reclen), sizeof reclen);
      const char* dname = buf.data() + off + offsetof(struct dirent64, d_name);
      std::string_view nm(dname, ::strnlen(dname, static_cast<std::size_t>(reclen)));
      off += reclen;
      if (reclen == 0) return make_error("io-error", "list: corrupt directory record");
      if (nm == "." || nm == "..") continue;
      DirEntry e;
      e.name.assign(nm);
      if (::fstatat(dir.get(), e.name.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed since getdents
        return error_from_errno(errno, "stat", e.name);
      }
      KP_ENSURE(out.size() < max_entries, "too-many-entries",
                "directory has more than " + std::to_string(max_entries) + " entries");
      out.push_back(std::move(e));
    }
  }
  return out;
}

Result<struct stat> stat_beneath(int dirfd, std::string_view name) {
  if (!is_single_component(name)) return bad_name("stat");
  CName cname(name);
  struct stat st;
  if (::fstatat(dirfd, cname.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return error_from_errno(errno, "stat", name);
  return st;
}

Status unlink_beneath(int dirfd, std::string_view name) {
  if (!is_single_component(name)) return bad_name("remove");
  CName cname(name);
  if (fsio::unlinkat(dirfd, cname.c_str(), 0) != 0) return error_from_errno(errno, "remove", name);
  return ok_status();
}

Status fsync_dir(int dirfd) {
  if (fsio::fsync(dirfd) != 0) return error_from_errno(errno, "fsync", ".");
  return ok_status();
}

namespace testing {
void force_openat_fallback(bool on) {
  g_force_fallback.store(on, std::memory_order_relaxed);
}
}  // namespace testing

}  // namespace kp::confine
