// `knooppunt backup DIR` and `knooppunt restore DIR`: a consistent copy of
// a live data directory, and a new data directory made from one.
//
// backup: the database first (store/backup.h), then the files it refers
// to, the keys and the settings (cli/backup_set.h says what and why), then
// DATA/audit written anew from the copied database; then every file of the
// backup is read back and hashed into the manifest (cli/backup_manifest.h),
// and every file the database records a size and SHA-256 for must match
// them. The manifest is written last. A file the copied database refers to
// that is gone by the time it is copied starts the backup again (at most
// kAttempts times) with a fresh database copy.
//
// restore: the manifest is read and the whole backup checked against it
// before anything is written; the target must be new or empty. Files get
// the modes they had (keys 0600, public keys 0644, folders 0700); run as
// root, the worker user gets the private keys as `init` hands them over.
// The settings file is written last (as `init` does, it marks a complete
// data directory), and the restored database is opened once, which
// migrates a backup from an older release to this one's schema.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "audit/daily_export.h"
#include "cli/backup_manifest.h"
#include "cli/backup_set.h"
#include "cli/context.h"
#include "cli/handlers.h"
#include "common/atomic_file.h"
#include "common/handles.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/settings.h"
#include "keys/keystore.h"
#include "store/backup.h"
#include "store/registry.h"
#include "workers/witnessing.h"

namespace kp::cli {

namespace {

namespace fs = std::filesystem;

constexpr int kAttempts = 3;

// Files at the top of a data directory that are never copied: the live
// database (copied through SQLite instead) and the lock of a running serve.
const std::set<std::string> kTopSkipped = {"knooppunt.db", "knooppunt.db-wal", "knooppunt.db-shm",
                                           "knooppunt.db-journal", "serve.lock"};
// Folders whose files are copied only as the database refers to them, or
// written anew (audit).
const std::set<std::string> kDataFolders = {"boxes", "queue", "quarantine", "outgoing", "outgoing-partial",
                                            "work", "audit"};

bool is_empty_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_empty(path, ec) && !ec;
}

// Copies files from one tree into another, relative path by relative path,
// keeping hard links as hard links and remembering the modes of the source.
class Copier {
 public:
  Copier(std::string from, std::string to) : from_(std::move(from)), to_(std::move(to)) {}

  // Copies FROM/src to TO/dst; false (nothing done) when FROM/src does not exist.
  Result<bool> file(const std::string& src, const std::string& dst) {
    const std::string in_path = from_ + "/" + src;
    Fd in(::open(in_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in.valid() && errno == ENOENT) return false;
    KP_ENSURE(in.valid(), "io-failed", "cannot read " + in_path + ": " + std::strerror(errno));
    struct stat st {};
    KP_ENSURE(::fstat(in.get(), &st) == 0 && S_ISREG(st.st_mode), "io-failed", in_path + " is not a regular file");
    KP_GUARD(dir(parent(dst)));
    const std::string out_path = to_ + "/" + dst;
    if (::access(out_path.c_str(), F_OK) == 0) return true;  // two references to one file
    modes[dst] = st.st_mode & 07777;
    auto key = std::make_pair(st.st_dev, st.st_ino);
    if (auto it = links_.find(key); it != links_.end()) {
      KP_ENSURE(::link((to_ + "/" + it->second).c_str(), out_path.c_str()) == 0, "io-failed",
                "cannot link " + out_path + ": " + std::strerror(errno));
      return true;
    }
    Fd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    KP_ENSURE(out.valid(), "io-failed", "cannot create " + out_path + ": " + std::strerror(errno));
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      KP_ENSURE(n >= 0, "io-failed", "cannot read " + in_path + ": " + std::strerror(errno));
      if (n == 0) break;
      KP_GUARD(write_all(out.get(), std::string_view(buf.data(), static_cast<std::size_t>(n)), out_path));
    }
    if (st.st_nlink > 1) links_.emplace(key, dst);
    bytes += st.st_size;
    return true;
  }

  // Makes TO/rel and its parents (0700), remembering FROM's modes.
  Status dir(const std::string& rel) {
    if (rel.empty() || made_.count(rel)) return ok_status();
    KP_GUARD(dir(parent(rel)));
    const std::string out_path = to_ + "/" + rel;
    KP_ENSURE(::mkdir(out_path.c_str(), 0700) == 0 || errno == EEXIST, "io-failed",
              "cannot create " + out_path + ": " + std::strerror(errno));
    struct stat st {};
    modes[rel] = ::lstat((from_ + "/" + rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? st.st_mode & 07777 : 0700;
    made_.insert(rel);
    return ok_status();
  }

  // Copies the folder FROM/rel with everything in it (regular files and
  // folders; anything else is not part of a data directory and is left).
  Status tree(const std::string& rel) {
    KP_GUARD(dir(rel));
    std::error_code ec;
    for (fs::directory_iterator it(from_ + "/" + rel, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string child = rel + "/" + it->path().filename().string();
      if (it->is_symlink(ec)) continue;
      if (it->is_directory(ec)) KP_GUARD(tree(child));
      else if (it->is_regular_file(ec)) KP_GUARD(file(child, child));
    }
    KP_ENSURE(!ec, "io-failed", "cannot list " + from_ + "/" + rel + ": " + ec.message());
    return ok_status();
  }

  std::map<std::string, mode_t> modes;
  int64_t bytes = 0;

 private:
  static std::string parent(const std::string& rel) {
    auto slash = rel.rfind('/');
    return slash == std::string::npos ? std::string() : rel.substr(0, slash);
  }

  std::string from_, to_;
  std::set<std::string> made_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

// Where the live database says the file of `r`'s row is now (the first
// candidate that exists), if that row still names one.
Result<std::optional<std::string>> follow(store::Db& live, const FileRef& r, const std::string& root) {
  KP_TRY(auto rows, store::stored_files(live));
  KP_TRY(auto now, file_refs(rows));
  for (const auto& n : now) {
    if (n.what != r.what) continue;
    for (const auto& c : n.candidates)
      if (::access((root + "/" + c.from).c_str(), F_OK) == 0) return std::optional<std::string>(c.from);
  }
  return std::optional<std::string>();
}

struct Copied {
  Manifest manifest;
  int64_t bytes = 0;
};

// One attempt: the database, then the files. Error "backup-file-moved"
// when a file the database copy refers to is nowhere (try again).
Result<Copied> copy_once(store::Db& live, const DataDir& data, const std::string& dir) {
  Copied result;
  result.manifest.created_ms = log::now_ms();
  const std::string db_copy = dir + "/knooppunt.db";
  KP_GUARD(store::snapshot_database(live, db_copy));
  {
    KP_TRY(store::Db copy, store::Db::open(db_copy));  // migrated to this binary's schema
    KP_GUARD(store::release_claims_of_copy(copy));
  }
  KP_TRY(store::Db snap, store::Db::open_readonly(db_copy));
  KP_GUARD(store::check_integrity(snap));
  KP_TRY(auto rows, store::stored_files(snap));
  KP_TRY(auto refs, file_refs(rows));
  KP_TRY(auto municipalities, store::list_municipalities(snap));

  Copier copy(data.root, dir);
  // The top level: the settings and any other file or folder of ours that
  // is not a data folder (keys, public).
  std::error_code ec;
  for (fs::directory_iterator it(data.root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (kTopSkipped.count(name) || kDataFolders.count(name) || name.find(".tmp") != std::string::npos) continue;
    if (it->is_symlink(ec)) continue;
    if (it->is_directory(ec)) KP_GUARD(copy.tree(name));
    else if (it->is_regular_file(ec)) KP_GUARD(copy.file(name, name));
  }
  KP_ENSURE(!ec, "io-failed", "cannot list " + data.root + ": " + ec.message());
  std::vector<std::string> codes;
  for (const auto& m : municipalities) codes.push_back(m.code);
  for (const auto& folder : standard_folders(codes)) KP_GUARD(copy.dir(folder));

  // The files the database refers to, each where it was found first.
  std::map<std::string, const FileRef*> placed;  // backup path -> its reference
  for (const auto& r : refs) {
    bool found = false;
    for (const auto& c : r.candidates) {
      KP_TRY(found, copy.file(c.from, c.to));
      if (found) {
        placed[c.to] = &r;
        break;
      }
    }
    if (!found && r.required) {
      // Moved on since the copy (an acknowledgement under a new archive
      // name): where the live database has the same row's file now, copied
      // to where the copied database has it.
      KP_TRY(auto now, follow(live, r, data.root));
      if (now) {
        KP_TRY(found, copy.file(*now, r.candidates.front().to));
        if (found) placed[r.candidates.front().to] = &r;
      }
    }
    KP_ENSURE(found || !r.required, "backup-file-moved",
              "the database refers to " + r.what + ", which is no longer at " + r.candidates.front().from);
  }

  // DATA/audit as the copied database has it: no checkpoint, tile or daily
  // export ahead of its records. No witness is asked (Settings{} names
  // none); the cosignatures the database holds are written with the checkpoint.
  const DataDir copy_dir{dir};
  KP_GUARD(workers::publish_log(snap, copy_dir, Settings{}));
  KP_TRY(int exports, audit::publish_daily_exports(snap, copy_dir, result.manifest.created_ms));
  (void)exports;

  // Read back what was written, and check it against the database.
  KP_TRY(result.manifest.entries, describe_tree(dir, copy.modes));
  std::map<std::string, const ManifestEntry*> by_path;
  for (const auto& e : result.manifest.entries) by_path[e.path] = &e;
  for (const auto& [path, r] : placed) {
    const ManifestEntry* e = by_path.count(path) ? by_path[path] : nullptr;
    if (e && e->type == 'l') e = by_path[e->link_to];
    KP_ENSURE(e, "backup-file-missing", "the backup lost " + path);
    KP_ENSURE(!r->size || *r->size == e->size, "backup-file-differs",
              data.root + "/" + path + " has " + std::to_string(e->size) + " bytes; the database recorded " +
                  std::to_string(*r->size) + " for " + r->what);
    KP_ENSURE(!r->sha256 || *r->sha256 == e->sha256, "backup-file-differs",
              data.root + "/" + path + " is not the file the database recorded for " + r->what + " (SHA-256 differs)");
  }
  KP_TRY(result.manifest.schema, store::schema_version(snap));
  result.bytes = copy.bytes;
  return result;
}

// Removes everything below `dir` (a failed attempt), keeping `dir`.
void clear(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) fs::remove_all(it->path(), ec);
}

// fsyncs every file and folder below `dir` and `dir` itself (not syncfs:
// that would flush everything else on the file system too).
Status sync_tree(const std::string& dir) {
  auto sync_one = [](const std::string& path) -> Status {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    KP_ENSURE(fd.valid() && ::fsync(fd.get()) == 0, "io-failed", "cannot sync " + path);
    return ok_status();
  };
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (!it->is_symlink(ec)) KP_GUARD(sync_one(it->path().string()));
  KP_ENSURE(!ec, "io-failed", "cannot list " + dir + ": " + ec.message());
  return sync_one(dir);
}

Status backup(const DataDir& data, const std::string& dir) {
  struct stat st {};
  KP_ENSURE(::stat(data.settings().c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::stat(data.db().c_str(), &st) == 0,
            "not-a-data-directory", data.root + " is not a knooppunt data directory (no knooppunt.conf and knooppunt.db)");
  const bool existed = ::access(dir.c_str(), F_OK) == 0;
  KP_ENSURE(!existed || is_empty_dir(dir), "backup-target-not-empty",
            dir + " exists and is not an empty folder; back up into a new or empty folder");
  KP_ENSURE(existed || ::mkdir(dir.c_str(), 0700) == 0, "io-failed", "cannot create " + dir + ": " + std::strerror(errno));
  std::error_code ec;
  const fs::path real_data = fs::canonical(data.root, ec), real_dir = fs::canonical(dir, ec);
  const auto rel = real_dir.lexically_relative(real_data);
  if (!ec && (rel.empty() || *rel.begin() != "..")) {
    if (!existed) ::rmdir(dir.c_str());
    return make_error("backup-inside-data", dir + " is inside the data directory " + data.root +
                                                "; back up to a folder outside it");
  }
  // Not migrated: a backup taken with a newer binary before an upgrade
  // must not change the live database under the running older one. The
  // copy is migrated to this binary's schema (copy_once).
  KP_TRY(store::Db live, store::Db::open(data.db(), 0));
  for (int attempt = 1;; ++attempt) {
    auto copied = copy_once(live, data, dir);
    if (copied.ok()) {
      KP_GUARD(sync_tree(dir));
      KP_GUARD(write_file_atomic(dir + "/" + kManifestName, format_manifest(copied->manifest)));
      std::size_t files = 0;
      for (const auto& e : copied->manifest.entries) files += e.type != 'd';
      std::cout << "backed up " << data.root << " to " << dir << ": " << files << " files, " << copied->bytes
                << " bytes besides the database; database schema " << copied->manifest.schema << " as of "
                << format_time(copied->manifest.created_ms) << "\n";
      return ok_status();
    }
    clear(dir);
    if (copied.error().code != "backup-file-moved" || attempt == kAttempts) {
      if (!existed) ::rmdir(dir.c_str());
      return copied.error();
    }
    log::event("backup.retry", {{"attempt", std::to_string(attempt)}, {"reason", copied.error().message()}});
  }
}

Status restore(const DataDir& data, const std::string& dir) {
  KP_ENSURE(::access((dir + "/" + kManifestName).c_str(), F_OK) == 0, "backup-incomplete",
            dir + " has no " + kManifestName + " (not a backup, or one that did not finish)");
  KP_TRY(std::string text, read_small_file(dir + "/" + kManifestName, 512u << 20));
  KP_TRY(Manifest m, parse_manifest(text));
  KP_GUARD(verify_tree(dir, m));
  std::set<std::string> listed;
  for (const auto& e : m.entries) listed.insert(e.path);
  KP_ENSURE(listed.count("knooppunt.db") && listed.count("knooppunt.conf"), "backup-incomplete",
            dir + " holds no knooppunt.db or knooppunt.conf");

  const bool existed = ::access(data.root.c_str(), F_OK) == 0;
  KP_ENSURE(!existed || is_empty_dir(data.root), "restore-target-not-empty",
            data.root + " exists and is not an empty folder; restore only into a new or empty folder");
  KP_ENSURE(existed || ::mkdir(data.root.c_str(), 0700) == 0, "io-failed",
            "cannot create " + data.root + ": " + std::strerror(errno));
  KP_ENSURE(::chmod(data.root.c_str(), 0700) == 0, "io-failed", "cannot set the mode of " + data.root);
  Copier copy(dir, data.root);
  for (const auto& e : m.entries) {
    const std::string path = data.root + "/" + e.path;
    if (e.type == 'd') {
      KP_GUARD(copy.dir(e.path));
    } else if (e.type == 'l') {
      KP_ENSURE(::link((data.root + "/" + e.link_to).c_str(), path.c_str()) == 0, "io-failed",
                "cannot link " + path + ": " + std::strerror(errno));
      continue;
    } else if (e.path != "knooppunt.conf") {  // last: it marks a complete data directory
      KP_TRY(bool found, copy.file(e.path, e.path));
      KP_ENSURE(found, "backup-file-missing", dir + "/" + e.path + " is missing from the backup");
    } else {
      continue;
    }
    // The mode the data directory had, never writable by group or others.
    KP_ENSURE(::chmod(path.c_str(), e.mode & 0755) == 0, "io-failed", "cannot set the mode of " + path);
  }
  if (::geteuid() == 0) {
    KP_GUARD(sandbox::ensure_system_users());
    KP_TRY(auto worker, sandbox::lookup_user(sandbox::kWorkerUser));
    KP_ENSURE(worker, "user-create-failed", std::string("no user ") + sandbox::kWorkerUser);
    KP_GUARD(keys::hand_keys_to(data, worker->uid, worker->gid));
  }
  {
    KP_TRY(store::Db db, store::Db::open(data.db()));  // migrates an older backup
    KP_GUARD(store::check_integrity(db));
  }
  const std::string tmp = data.settings() + ".tmp";
  KP_TRY(bool found, copy.file("knooppunt.conf", "knooppunt.conf.tmp"));
  KP_ENSURE(found, "backup-file-missing", dir + "/knooppunt.conf is missing from the backup");
  KP_ENSURE(::chmod(tmp.c_str(), 0600) == 0 && ::rename(tmp.c_str(), data.settings().c_str()) == 0, "io-failed",
            "cannot write " + data.settings());
  KP_GUARD(sync_tree(data.root));
  std::cout << "restored " << dir << " (database as of " << format_time(m.created_ms) << ", schema " << m.schema
            << ") into " << data.root << "\n";
  return ok_status();
}

}  // namespace

int cmd_backup(const Args& a) {
  auto data = data_dir_of(a);
  if (!data.ok()) return fail(data.error());
  Status s = backup(*data, a.positional.at(0));
  return s.ok() ? kExitOk : fail(s.error());
}

int cmd_restore(const Args& a) {
  auto data = data_dir_of(a);
  if (!data.ok()) return fail(data.error());
  const bool fresh = ::access(data->root.c_str(), F_OK) != 0 || is_empty_dir(data->root);
  Status s = restore(*data, a.positional.at(0));
  if (!s.ok() && fresh && ::access(data->settings().c_str(), F_OK) != 0) {
    // Half a data directory helps nobody: the folder is left as it was found.
    std::error_code ec;
    for (fs::directory_iterator it(data->root, ec), end; !ec && it != end; it.increment(ec))
      fs::remove_all(it->path(), ec);
  }
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli
