// Fault injection in unit tests (common/fsio.h): while a Faults object
// lives, the `nth` call of `op` (and every later one with `onwards`) fails
// with `err`, or, with err 0, writes only half its bytes.
#pragma once

#include <cstddef>

#include "common/fsio.h"

namespace kp::testing {

class Faults {
 public:
  Faults(fsio::Op op, unsigned nth, int err, bool onwards = false) {
    s_ = State{op, nth, err, onwards, 0};
    fsio::g_fault_hook = &hook;
  }
  ~Faults() { fsio::g_fault_hook = nullptr; }
  Faults(const Faults&) = delete;
  Faults& operator=(const Faults&) = delete;
  unsigned calls() const { return s_.calls; }

 private:
  struct State {
    fsio::Op op;
    unsigned nth;
    int err;
    bool onwards;
    unsigned calls;
  };
  static inline State s_{};
  static int hook(fsio::Op op, std::size_t* n) {
    if (op != s_.op) return 0;
    const unsigned call = ++s_.calls;
    if (call < s_.nth || (!s_.onwards && call != s_.nth)) return 0;
    if (s_.err != 0) return s_.err;
    if (*n > 1) *n /= 2;
    return 0;
  }
};

}  // namespace kp::testing
