// SQLite connection, statements and transactions; see db.h.
#include "store/db.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace kp::store {

namespace {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string detail = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return make_error("store-busy", detail);
  if (primary == SQLITE_CONSTRAINT) {
    // Callers turn a duplicate into "already exists"; any other broken
    // constraint (a reference to a row that is not there, NOT NULL, CHECK)
    // is a different failure and must not read as one.
    int extended = db ? sqlite3_extended_errcode(db) : rc;
    if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY)
      return make_error("store-duplicate", detail);
    if (extended == SQLITE_CONSTRAINT_FOREIGNKEY) return make_error("store-reference", detail);
    return make_error("store-invalid", detail);
  }
  return make_error("store-failed", detail);
}

// Waits for a lock held by another connection: polls every millisecond, up
// to kBusyTimeoutMs. SQLite's own busy timeout sleeps in growing steps (up
// to 100 ms) and is not woken when the lock frees, so with the gateway and
// several workers committing side by side most of a package's latency was
// spent asleep after the lock had long been released.
constexpr int kBusyTimeoutMs = 10000;
int busy_wait(void*, int polls) {
  if (polls >= kBusyTimeoutMs) return 0;
  ::usleep(1000);
  return 1;
}

}  // namespace

// Idle prepared statements of one connection, by SQL text. Bounded: at most
// kPerText idle statements per text and kTexts texts (a safety net; the
// texts are the fixed strings of store/).
class StmtCache {
 public:
  static constexpr std::size_t kPerText = 4;
  static constexpr std::size_t kTexts = 256;

  // An idle statement for `sql`, or null.
  SqliteStmt take(std::string_view sql) {
    auto it = idle_.find(sql);
    if (it == idle_.end() || it->second.empty()) return nullptr;
    SqliteStmt st = std::move(it->second.back());
    it->second.pop_back();
    return st;
  }

  // Keeps a reset statement for reuse (or finalizes it when full or closed).
  void put(SqliteStmt st) {
    if (closed_) return;
    const char* sql = sqlite3_sql(st.get());
    if (!sql) return;
    auto it = idle_.find(std::string_view(sql));
    if (it == idle_.end()) {
      if (idle_.size() >= kTexts) return;
      it = idle_.emplace(std::string(sql), std::vector<SqliteStmt>{}).first;
    }
    if (it->second.size() < kPerText) it->second.push_back(std::move(st));
  }

  // Finalizes every idle statement; later put()s finalize theirs.
  void close() {
    closed_ = true;
    idle_.clear();
  }

 private:
  std::map<std::string, std::vector<SqliteStmt>, std::less<>> idle_;
  bool closed_ = false;
};

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    release();
    st_ = std::move(o.st_);
    db_ = o.db_;
    cache_ = std::move(o.cache_);
    bind_rc_ = o.bind_rc_;
  }
  return *this;
}

Stmt::~Stmt() {
  release();
}

void Stmt::release() {
  if (!st_ || !cache_) return;
  sqlite3_reset(st_.get());
  sqlite3_clear_bindings(st_.get());
  cache_->put(std::move(st_));
}

Stmt& Stmt::bind(int idx, std::string_view v) {
  int rc =
      sqlite3_bind_text(st_.get(), idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) bind_rc_ = rc;
  return *this;
}
Stmt& Stmt::bind(int idx, int64_t v) {
  int rc = sqlite3_bind_int64(st_.get(), idx, v);
  if (rc != SQLITE_OK) bind_rc_ = rc;
  return *this;
}
Stmt& Stmt::bind(int idx, const std::optional<std::string>& v) {
  return v ? bind(idx, std::string_view(*v)) : bind_null(idx);
}
Stmt& Stmt::bind(int idx, const std::optional<int64_t>& v) {
  return v ? bind(idx, *v) : bind_null(idx);
}
Stmt& Stmt::bind_null(int idx) {
  int rc = sqlite3_bind_null(st_.get(), idx);
  if (rc != SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_double(int idx, double v) {
  int rc = sqlite3_bind_double(st_.get(), idx, v);
  if (rc != SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_blob(int idx, const void* p, std::size_t n) {
  int rc = sqlite3_bind_blob(st_.get(), idx, p, static_cast<int>(n), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Stmt::step() {
  if (bind_rc_ != SQLITE_OK) return sqlite_error(db_, bind_rc_, "bind");
  int rc = sqlite3_step(st_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, rc, "step");
}

Status Stmt::run() {
  for (;;) {
    KP_TRY(bool row, step());
    if (!row) return ok_status();
  }
}

void Stmt::reset() {
  sqlite3_reset(st_.get());
  sqlite3_clear_bindings(st_.get());
  bind_rc_ = SQLITE_OK;
}

int64_t Stmt::col_int(int i) const {
  return sqlite3_column_int64(st_.get(), i);
}
double Stmt::col_double(int i) const {
  return sqlite3_column_double(st_.get(), i);
}
std::string Stmt::col_blob(int i) const {
  const void* p = sqlite3_column_blob(st_.get(), i);
  int n = sqlite3_column_bytes(st_.get(), i);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}
std::array<uint8_t, 32> Stmt::col_hash(int i) const {
  std::array<uint8_t, 32> h{};
  const void* p = sqlite3_column_blob(st_.get(), i);
  if (p && sqlite3_column_bytes(st_.get(), i) == 32) std::memcpy(h.data(), p, 32);
  return h;
}
std::string Stmt::col_text(int i) const {
  const unsigned char* p = sqlite3_column_text(st_.get(), i);
  int n = sqlite3_column_bytes(st_.get(), i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}
std::string_view Stmt::col_view(int i) const {
  const unsigned char* p = sqlite3_column_text(st_.get(), i);
  int n = sqlite3_column_bytes(st_.get(), i);
  return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string_view();
}
std::optional<std::string> Stmt::col_opt_text(int i) const {
  if (col_null(i)) return std::nullopt;
  return col_text(i);
}
std::optional<int64_t> Stmt::col_opt_int(int i) const {
  if (col_null(i)) return std::nullopt;
  return col_int(i);
}
bool Stmt::col_null(int i) const {
  return sqlite3_column_type(st_.get(), i) == SQLITE_NULL;
}

Result<Db> Db::open(const std::string& path, std::size_t migrate_up_to) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb owned(raw);
  if (rc != SQLITE_OK) return make_error("store-open-failed", path + ": " + sqlite3_errstr(rc));
  sqlite3_busy_handler(raw, busy_wait, nullptr);
  sqlite3_extended_result_codes(raw, 1);
  Db db(std::move(owned));
  KP_GUARD(
      db.run_script("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"));
  KP_GUARD(migrate(db, migrate_up_to));
  return db;
}

namespace {

// `path` percent-escaped for an SQLite URI (%, ?, # and anything not printable).
std::string uri_escape(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c <= 0x20 || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// The descriptors of this process open on `path` for writing.
std::vector<int> writable_fds_on(const std::string& path) {
  std::vector<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return fds;
  while (dirent* e = ::readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == ::dirfd(dir)) continue;
    char target[4096];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0 || std::string(target, static_cast<std::size_t>(n)) != path) continue;
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY) fds.push_back(fd);
  }
  ::closedir(dir);
  return fds;
}

// Replaces each of `fds`, under the same number, by a read-only descriptor
// on `path`.
Status reopen_read_only(const std::string& path, const std::vector<int>& fds) {
  for (int fd : fds) {
    int ro = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    KP_ENSURE(ro >= 0, "store-open-failed", "cannot reopen " + path + " read-only");
    int rc = ::dup3(ro, fd, O_CLOEXEC);
    ::close(ro);
    KP_ENSURE(rc == fd, "store-open-failed", "cannot swap " + path + " for a read-only descriptor");
  }
  return ok_status();
}

}  // namespace

Result<Db> Db::open_readonly(const std::string& path) {
  sqlite3* raw = nullptr;
  // readonly_shm: the -shm is mapped read-only too (SQLite then keeps this
  // reader's read mark privately); the writers keep it initialised.
  std::string uri = "file:" + uri_escape(path) + "?mode=ro&readonly_shm=1";
  const std::vector<int> writers_before = writable_fds_on(path + "-wal");  // other connections' own
  int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
  SqliteDb owned(raw);
  if (rc != SQLITE_OK) return make_error("store-open-failed", path + ": " + sqlite3_errstr(rc));
  sqlite3_busy_handler(raw, busy_wait, nullptr);
  sqlite3_extended_result_codes(raw, 1);
  Db db(std::move(owned));
  auto ready = [&]() -> Status {
    KP_GUARD(db.run_script("PRAGMA temp_store=MEMORY;"));
    // One read: opens the -wal and maps the -shm now, not later.
    KP_TRY(Stmt st, db.prepare("SELECT count(*) FROM sqlite_schema"));
    KP_TRY(bool row, st.step());
    KP_ENSURE(row, "store-failed", "no answer");
    return ok_status();
  };
  Status s = ready();
  if (!s.ok()) return make_error("store-open-failed", path + ": " + s.error().message());
  // SQLite opens a reader's -wal read-write when it may; a reader never
  // writes it, so the descriptor is swapped for a read-only one in place.
  std::vector<int> mine;
  for (int fd : writable_fds_on(path + "-wal"))
    if (std::find(writers_before.begin(), writers_before.end(), fd) == writers_before.end()) mine.push_back(fd);
  KP_GUARD(reopen_read_only(path + "-wal", mine));
  return db;
}

Db::Db(SqliteDb db) : db_(std::move(db)), cache_(std::make_shared<StmtCache>()) {}

Db::~Db() {
  if (cache_) cache_->close();
}

Result<Stmt> Db::prepare(std::string_view sql) {
  if (SqliteStmt cached = cache_->take(sql)) return Stmt(std::move(cached), db_.get(), cache_);
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_.get(), rc, "prepare");
  return Stmt(SqliteStmt(st), db_.get(), cache_);
}

Status Db::run_script(std::string_view sql) {
  const char* p = sql.data();
  const char* end = sql.data() + sql.size();
  while (p < end) {
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), p, static_cast<int>(end - p), &st, &tail);
    if (rc != SQLITE_OK) return sqlite_error(db_.get(), rc, "prepare script");
    p = tail;
    if (!st) continue;  // whitespace or comment only
    Stmt stmt(SqliteStmt(st), db_.get());
    KP_GUARD(stmt.run());
  }
  return ok_status();
}

int64_t Db::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_.get());
}
int Db::changes() const {
  return sqlite3_changes(db_.get());
}

Result<Transaction> Transaction::begin(Db& db) {
  KP_TRY(Stmt begin, db.prepare("BEGIN IMMEDIATE"));
  KP_GUARD(begin.run());
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (open_) (void)db_->run_script("ROLLBACK");
}

Status Transaction::commit() {
  KP_TRY(Stmt commit, db_->prepare("COMMIT"));
  KP_GUARD(commit.run());
  open_ = false;
  return ok_status();
}

}  // namespace kp::store
