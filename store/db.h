// The SQLite connection and statements: the one place SQL is executed.
//
// One database per data directory (DATA/knooppunt.db), in WAL mode with
// foreign keys on, synchronous=FULL (an upload acknowledged to a client must
// survive a crash of the machine, not only of the process) and a busy
// timeout, so that the gateway's session processes, the workers and the CLI
// can all use it at once. Every statement binds its parameters; nothing
// here ever pastes a value into SQL text.
//
// Prepared statements are kept: a Stmt that goes out of scope is reset and
// returned to its connection's cache, and the next prepare() of the same SQL
// text takes it from there instead of parsing it again (parsing was a
// large part of the gateway's CPU per small upload). Since every statement
// binds its values, the set of SQL texts is fixed and so is the cache.
#pragma once

#include <array>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/handles.h"
#include "common/result.h"

namespace kp::store {

class StmtCache;

class Stmt {
 public:
  explicit Stmt(SqliteStmt st, sqlite3* db, std::shared_ptr<StmtCache> cache = nullptr)
      : st_(std::move(st)), db_(db), cache_(std::move(cache)) {}
  Stmt(Stmt&&) noexcept = default;
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  // Returns the statement to the connection's cache (reset, bindings
  // cleared) when it came from Db::prepare(), else finalizes it.
  ~Stmt();

  // Binders take 1-based indexes, like sqlite3_bind_*. They return *this so
  // calls chain; a bind failure is reported by the next step().
  Stmt& bind(int idx, std::string_view v);
  Stmt& bind(int idx, const char* v) { return bind(idx, std::string_view(v)); }
  Stmt& bind(int idx, const std::string& v) { return bind(idx, std::string_view(v)); }
  Stmt& bind(int idx, int64_t v);
  Stmt& bind(int idx, int v) { return bind(idx, static_cast<int64_t>(v)); }
  Stmt& bind(int idx, const std::optional<std::string>& v);
  Stmt& bind(int idx, const std::optional<int64_t>& v);
  Stmt& bind_null(int idx);
  Stmt& bind_double(int idx, double v);
  Stmt& bind_blob(int idx, const void* p, std::size_t n);

  // Advances: true when a row is ready, false when done; an Error on failure
  // (code "store-busy" when the database stayed locked past the timeout,
  // "store-duplicate" when a UNIQUE or PRIMARY KEY constraint refused the
  // row, "store-reference" for a FOREIGN KEY, "store-invalid" for any other
  // constraint, else "store-failed").
  Result<bool> step();
  // Runs a statement that returns no rows to completion.
  Status run();
  // Makes a finished or half-read statement ready to bind and run again
  // (for hot statements kept prepared, such as the per-operation mandate check).
  void reset();

  int64_t col_int(int i) const;
  double col_double(int i) const;
  std::string col_blob(int i) const;
  // A 32-byte blob column (tree hashes); zeros when the size is wrong.
  std::array<uint8_t, 32> col_hash(int i) const;
  std::string col_text(int i) const;
  // The text of column i without a copy (empty for NULL); valid until the
  // next step(), reset() or column call on the same column.
  std::string_view col_view(int i) const;
  std::optional<std::string> col_opt_text(int i) const;
  std::optional<int64_t> col_opt_int(int i) const;
  bool col_null(int i) const;

 private:
  void release();

  SqliteStmt st_;
  sqlite3* db_;
  std::shared_ptr<StmtCache> cache_;
  int bind_rc_ = SQLITE_OK;
};

class Db {
 public:
  // Opens (creating if needed) the database at `path` and applies every
  // pending schema migration. Errors: "store-open-failed", "store-migration-failed".
  // `migrate_up_to` stops after that many migrations (tests build databases
  // at each earlier schema version with it; everything else takes them all).
  static Result<Db> open(const std::string& path, std::size_t migrate_up_to = SIZE_MAX);
  // Opens an existing database read-only (SQLITE_OPEN_READONLY: the main
  // file's descriptor is O_RDONLY and every write is refused with
  // "store-failed"), with no migration and temp_store=MEMORY, and runs one
  // read so that the database, its -wal and its -shm are open when this
  // returns. For the sandboxed HTTP process, which opens it before it may
  // open nothing more: if SQLite later wants a file it could not get (a
  // database whose -wal was removed while no writer had it open), the open
  // fails with EACCES and the statement returns an error, never a crash.
  // SQLite's WAL readers still open -wal and -shm read-write when they can
  // (readers take read marks in the -shm). Error "store-open-failed".
  static Result<Db> open_readonly(const std::string& path);
  Db(Db&&) noexcept = default;
  Db& operator=(Db&&) noexcept = default;
  // Finalizes the cached statements before the connection closes.
  ~Db();

  // A statement for `sql`: a cached one when an idle statement with the same
  // text exists (reset, no bindings), else freshly prepared. Statements in
  // use are never shared, so nested or concurrent uses of the same SQL each
  // get their own.
  Result<Stmt> prepare(std::string_view sql);
  // Runs a script of several statements (migrations only; fixed text, no values).
  Status run_script(std::string_view sql);
  int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* raw() const { return db_.get(); }

 private:
  explicit Db(SqliteDb db);
  SqliteDb db_;
  std::shared_ptr<StmtCache> cache_;  // declared after db_: emptied before it closes
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(Db& db);
  Transaction(Transaction&& o) noexcept : db_(o.db_), open_(o.open_) { o.open_ = false; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Db* db) : db_(db), open_(true) {}
  Db* db_;
  bool open_;
};

// While it lives, commits on `db` skip the fsync (synchronous=NORMAL): for
// writes that need not survive power loss on their own (claims, "placed"
// marks). Restores FULL at the end.
class UnsyncedCommits {
 public:
  explicit UnsyncedCommits(Db& db) : db_(db), status_(db.run_script("PRAGMA synchronous=NORMAL")) {}
  ~UnsyncedCommits() { (void)db_.run_script("PRAGMA synchronous=FULL"); }
  UnsyncedCommits(const UnsyncedCommits&) = delete;
  UnsyncedCommits& operator=(const UnsyncedCommits&) = delete;
  const Status& status() const { return status_; }

 private:
  Db& db_;
  Status status_;
};

// Applies the numbered migrations in store/migrations.cpp that are newer
// than PRAGMA user_version (and at most `up_to` in all), each in its own
// transaction.
Status migrate(Db& db, std::size_t up_to = SIZE_MAX);

// The schema version this build migrates to (the number of migrations).
std::size_t latest_schema_version();

}  // namespace kp::store
