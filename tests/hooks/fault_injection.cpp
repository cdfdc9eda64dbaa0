// Fault injection for `knooppunt-test` (common/fsio.h): KP_FAULTS names
// calls that fail, as a comma-separated list of OP:N:WHAT --
//   OP    open, write, fsync, rename, link, unlink (calls through common/fsio);
//         db_write: SQLite's own writes (the database and its WAL), through
//         the unix VFS's replaceable system calls (pwrite, pwrite64, write),
//         which SQLite then reports as SQLITE_FULL / SQLITE_IOERR
//   N     the Nth such call of the process fails (1 = the first); N+ = that
//         one and every later one
//   WHAT  ENOSPC, EIO, EINTR, EDQUOT, or short (a write of half its bytes)
// e.g. KP_FAULTS=write:3:ENOSPC,fsync:1+:EIO. Each process counts its own
// calls (a worker is a process of its own; a forked child starts again at 1). The `knooppunt` binary holds
// none of this: its fault hook stays null.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include "common/fsio.h"

namespace {

using kp::fsio::Op;

struct Fault {
  Op op;
  unsigned long nth = 0;
  bool onwards = false;
  int err = 0;  // 0: a short write
};

constexpr int kOps = 7;
constexpr int kDbWrite = 6;  // not a common/fsio operation: SQLite's writes
std::vector<Fault> g_faults;
unsigned long g_calls[kOps] = {};

bool op_of(const std::string& s, Op& op) {
  static const char* const kNames[kOps] = {"open", "write", "fsync", "rename", "link", "unlink", "db_write"};
  for (int i = 0; i < kOps; ++i)
    if (s == kNames[i]) return op = static_cast<Op>(i), true;
  return false;
}

bool what_of(const std::string& s, int& err) {
  if (s == "ENOSPC") return err = ENOSPC, true;
  if (s == "EIO") return err = EIO, true;
  if (s == "EINTR") return err = EINTR, true;
  if (s == "EDQUOT") return err = EDQUOT, true;
  if (s == "short") return err = 0, true;
  return false;
}

int fault_hook(Op op, std::size_t* n) {
  const unsigned long call = ++g_calls[static_cast<int>(op)];
  for (const Fault& f : g_faults) {
    if (f.op != op || call < f.nth || (!f.onwards && call != f.nth)) continue;
    if (f.err != 0) return f.err;
    if (op == Op::write && *n > 1) *n /= 2;  // a short write; the caller must go on
  }
  return 0;
}

// SQLite's writes: the unix VFS calls these instead of the system calls.
sqlite3_syscall_ptr g_real[3] = {};
constexpr const char* kDbCalls[3] = {"pwrite", "pwrite64", "write"};

int db_fault() {
  std::size_t n = 0;
  return fault_hook(static_cast<Op>(kDbWrite), &n);
}

ssize_t db_pwrite(int fd, const void* p, size_t n, off_t at) {
  if (int err = db_fault()) return errno = err, -1;
  return reinterpret_cast<ssize_t (*)(int, const void*, size_t, off_t)>(g_real[0])(fd, p, n, at);
}
ssize_t db_pwrite64(int fd, const void* p, size_t n, off64_t at) {
  if (int err = db_fault()) return errno = err, -1;
  return reinterpret_cast<ssize_t (*)(int, const void*, size_t, off64_t)>(g_real[1])(fd, p, n, at);
}
ssize_t db_write(int fd, const void* p, size_t n) {
  if (int err = db_fault()) return errno = err, -1;
  return reinterpret_cast<ssize_t (*)(int, const void*, size_t)>(g_real[2])(fd, p, n);
}

void install_db_faults() {
  sqlite3_vfs* unix_vfs = sqlite3_vfs_find("unix");
  if (!unix_vfs || unix_vfs->iVersion < 3 || !unix_vfs->xSetSystemCall) return;
  const sqlite3_syscall_ptr ours[3] = {reinterpret_cast<sqlite3_syscall_ptr>(&db_pwrite),
                                       reinterpret_cast<sqlite3_syscall_ptr>(&db_pwrite64),
                                       reinterpret_cast<sqlite3_syscall_ptr>(&db_write)};
  for (int i = 0; i < 3; ++i) {
    g_real[i] = unix_vfs->xGetSystemCall(unix_vfs, kDbCalls[i]);
    if (g_real[i]) unix_vfs->xSetSystemCall(unix_vfs, kDbCalls[i], ours[i]);
  }
}

bool install() {
  const char* spec = std::getenv("KP_FAULTS");
  if (!spec || !*spec) return false;
  std::string all(spec);
  std::size_t at = 0;
  while (at <= all.size()) {
    std::size_t end = all.find(',', at);
    if (end == std::string::npos) end = all.size();
    const std::string item = all.substr(at, end - at);
    at = end + 1;
    const std::size_t c1 = item.find(':'), c2 = item.rfind(':');
    Fault f;
    if (c1 == std::string::npos || c2 == c1 || !op_of(item.substr(0, c1), f.op) ||
        !what_of(item.substr(c2 + 1), f.err))
      continue;  // not understood: ignored (the test then sees no fault)
    std::string n = item.substr(c1 + 1, c2 - c1 - 1);
    if (!n.empty() && n.back() == '+') {
      f.onwards = true;
      n.pop_back();
    }
    f.nth = std::strtoul(n.c_str(), nullptr, 10);
    if (f.nth > 0) g_faults.push_back(f);
  }
  if (g_faults.empty()) return false;
  kp::fsio::g_fault_hook = &fault_hook;
  // A forked child (a connection's processes) counts its own calls from 1.
  pthread_atfork(nullptr, nullptr, [] {
    for (unsigned long& c : g_calls) c = 0;
  });
  for (const Fault& f : g_faults)
    if (static_cast<int>(f.op) == kDbWrite) {
      install_db_faults();
      break;
    }
  return true;
}

[[maybe_unused]] const bool installed = install();

}  // namespace
