// Fault injection for `knooppunt-test` (common/fsio.h): KP_FAULTS names
// calls that fail, as a comma-separated list of OP:N:WHAT --
//   OP    open, write, fsync, rename, link, unlink (calls through common/fsio)
//   N     the Nth such call of the process fails (1 = the first); N+ = that
//         one and every later one
//   WHAT  ENOSPC, EIO, EINTR, EDQUOT, or short (a write of half its bytes)
// e.g. KP_FAULTS=write:3:ENOSPC,fsync:1+:EIO. Each process counts its own
// calls (a worker is a process of its own). The `knooppunt` binary holds
// none of this: its fault hook stays null.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/fsio.h"

namespace {

using kp::fsio::Op;

struct Fault {
  Op op;
  unsigned long nth = 0;
  bool onwards = false;
  int err = 0;  // 0: a short write
};

constexpr int kOps = 6;
std::vector<Fault> g_faults;
unsigned long g_calls[kOps] = {};

bool op_of(const std::string& s, Op& op) {
  static const char* const kNames[kOps] = {"open", "write", "fsync", "rename", "link", "unlink"};
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
  return true;
}

[[maybe_unused]] const bool installed = install();

}  // namespace
