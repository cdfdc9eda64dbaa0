// The confinement layer: the ONLY code that turns a validated name into file
// access.
//
// Every operation works on a directory fd the session opened for an area
// (open_dir, from server-side configuration only) plus ONE path component
// (a VPath's area or name: no '/', not "." or "..", no NUL, at most 255
// bytes). Names are checked again here, so a caller's mistake cannot widen
// access. Opening uses openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
// | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, so even a symlink or a mount
// planted on the host inside an area is refused; where the kernel lacks
// openat2 (ENOSYS) it falls back to openat(O_NOFOLLOW) on the single
// component, which gives the same answer for one component. Every fd is
// O_CLOEXEC.
//
// Hot path: one openat2 per SFTP OPEN; reads and writes then use
// pread/pwrite on the returned fd, with nothing from here in between.
//
// Hard links: a link a host planted inside an area names the same inode as
// the other name, wherever that is; path resolution cannot tell them apart
// and does not need to -- clients cannot create links (no SYMLINK, no
// hardlink@openssh.com), and what is reachable is still only the names in
// the area's directory. A caller that must refuse shared inodes can check
// st_nlink on the fstat it already does.
//
// Errors carry stable codes (gateway/sftp_codec.h maps them to SFTP status):
//   bad-name             the name is not one safe component
//   not-found            ENOENT
//   already-exists       EEXIST (also rename_noreplace onto an existing name)
//   symlink-refused      ELOOP: the name is a symlink (or a magic link)
//   outside-root         EXDEV: resolution would leave the directory or
//                        cross a mount point
//   cross-device         EXDEV from rename_noreplace (two file systems)
//   not-empty            ENOTEMPTY
//   permission-denied    EACCES, EPERM
//   not-a-directory      ENOTDIR
//   is-a-directory       EISDIR
//   no-space             ENOSPC, EDQUOT
//   name-too-long        ENAMETOOLONG
//   too-many-open-files  EMFILE, ENFILE
//   too-many-entries     list_dir found more than its cap
//   io-error             anything else (the detail has strerror)
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/handles.h"
#include "common/result.h"

namespace kp::confine {

// True when `name` is one safe path component: non-empty, at most 255
// bytes, not "." or "..", no '/' and no NUL.
bool is_single_component(std::string_view name);

// The Error for an errno from an operation (`op`, e.g. "open") on `name`,
// with the stable codes listed above.
Error error_from_errno(int err, std::string_view op, std::string_view name);

// Opens a directory the SERVER names (data-directory roots from settings),
// read-only, O_DIRECTORY | O_CLOEXEC. Never call it with client input.
Result<Fd> open_dir(const std::string& host_dir);

// Opens the single component `name` directly beneath `dirfd` (see the file
// comment for the resolve rules). `flags` are open(2) flags (O_CLOEXEC and
// O_NOFOLLOW are always added); `mode` is used only with O_CREAT/O_TMPFILE.
Result<Fd> open_beneath(int dirfd, std::string_view name, int flags, mode_t mode = 0);

// open_beneath for a subdirectory: O_RDONLY | O_DIRECTORY.
Result<Fd> open_subdir(int dirfd, std::string_view name);

// Renames fromdir/from to todir/to atomically, refusing to replace an
// existing `to` ("already-exists"), via renameat2(RENAME_NOREPLACE). Where
// the file system lacks RENAME_NOREPLACE (EINVAL) a regular file is moved
// with linkat + unlinkat, which also never replaces. Both names must be
// single components.
Status rename_noreplace(int fromdir, std::string_view from, int todir, std::string_view to);

// One directory entry: its name and its own (not followed) stat.
struct DirEntry {
  std::string name;
  struct stat st;
  bool is_regular() const { return S_ISREG(st.st_mode); }
  bool is_dir() const { return S_ISDIR(st.st_mode); }
  bool is_symlink() const { return S_ISLNK(st.st_mode); }
};

// Lists `dirfd` (through a fresh descriptor, so the caller's fd offset is
// untouched and concurrent listings do not interfere): every entry but "."
// and "..", each with fstatat(AT_SYMLINK_NOFOLLOW). Symlinks, directories,
// hidden names etc. are all returned; the caller filters by type and name.
// Entries removed between reading and stat-ing are skipped. More than
// `max_entries` entries -> "too-many-entries". Order is the directory's.
Result<std::vector<DirEntry>> list_dir(int dirfd, std::size_t max_entries = 100000);

// fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW): a symlink is reported as one
// (S_ISLNK), never followed.
Result<struct stat> stat_beneath(int dirfd, std::string_view name);

// unlinkat(dirfd, name, 0): removes a non-directory entry (a symlink itself,
// never its target).
Status unlink_beneath(int dirfd, std::string_view name);

// fsync(dirfd): makes a rename or create in the directory durable.
Status fsync_dir(int dirfd);

namespace testing {
// Forces the openat(O_NOFOLLOW) fallback as if openat2 were missing, so the
// tests cover both paths on a modern kernel. Not for production code.
void force_openat_fallback(bool on);
}  // namespace testing

}  // namespace kp::confine
