// Admission of new SSH connections, in the accepting parent: the overall
// and per-source connection limits, a smaller budget for connections that
// have not authenticated yet (OpenSSH's MaxStartups: from half of
// max_startups on, new connections are dropped at random, more often as it
// fills; and a per-source share), and the ban on sources with too many
// failed logins.
//
// A connection process tells the gate it authenticated through one byte in
// a page shared before the fork (AuthBoard), so the parent needs no channel
// per connection. Refusals are audited as aggregates: the first refusal of a
// source for a reason in a minute is one record, and the rest of that
// minute one more record that counts them, so a flood of connects cannot
// fill the transfer log.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/settings.h"
#include "store/db.h"

namespace kp::gateway {

class Gate {
 public:
  Gate(const Settings& s, store::Db& db);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  // Why a new connection from `source` is refused, or nothing.
  std::optional<std::string> refuse(const std::string& source);
  // Records the refusal (aggregated, see above).
  void refused(const std::string& source, const std::string& why);

  // The byte the next connection process sets once it authenticated
  // (nullptr when the gate is full; refuse() said so first).
  volatile uint8_t* next_slot();
  // The connection process `pid` took the slot next_slot() returned.
  void add(pid_t pid, const std::string& source);

  // Reaps exited children; returns the pids that were not connections
  // (worker and HTTP processes), so the caller can restart them.
  std::vector<pid_t> reap();
  // Writes the counted refusals whose minute is over (all, with `all`).
  void flush(bool all = false);
  void stop_all();

 private:
  struct Conn {
    std::string source;
    std::size_t slot = 0;
  };
  struct Refusals {
    int64_t window_start_ms = 0;
    int64_t more = 0;  // refusals after the first in this window
  };
  bool authenticated(const Conn& c) const { return board_[c.slot] != 0; }

  const Settings& s_;
  store::Db& db_;
  volatile uint8_t* board_ = nullptr;  // max_connections bytes, MAP_SHARED
  std::vector<std::size_t> free_slots_;
  std::map<pid_t, Conn> by_pid_;
  std::map<std::pair<std::string, std::string>, Refusals> refusals_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace kp::gateway
