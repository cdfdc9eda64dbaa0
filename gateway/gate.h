// Admission of new SSH connections, in the accepting parent: the overall
// and per-source connection limits, a smaller budget for connections that
// have not authenticated yet (OpenSSH's MaxStartups: from half of
// max_startups on, new connections are dropped at random, more often as it
// fills; and a per-source share), and the per-source penalties
// (store/penalties.h, OpenSSH 9.8's PerSourcePenalties).
//
// A connection process tells the gate how its login went through one byte
// in a page shared before the fork (AuthBoard: kBoardAuthenticated, or
// kBoardFailed once an attempt was refused), so the parent needs no channel
// per connection. When a connection process ends, the parent counts it as
// one failure of its source if it never authenticated and either had an
// attempt refused (however many keys it offered) or outlived the login
// grace. A banned source's connection is refused; while none of its
// connections is in flight and the budget is below half, it is first told
// why (run_ban_notice in ssh_session.h), so a person sees the message
// rather than "connection reset".
//
// Refusals are audited as aggregates (gateway/refusal_tally.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/settings.h"
#include "gateway/refusal_tally.h"
#include "store/db.h"

namespace kp::gateway {

inline constexpr uint8_t kBoardUnauthenticated = 0;
inline constexpr uint8_t kBoardAuthenticated = 1;
inline constexpr uint8_t kBoardFailed = 2;

// "too many failed logins from your address; try again after 14:05 UTC"
// (the minute rounded up; the date too when the ban ends on another day).
std::string ban_message(int64_t until_ms, int64_t now_ms);

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
  // After refuse() said "source-banned": when the ban ends, if this
  // connection may be served the ban notice (then add() it with notice).
  std::optional<int64_t> ban_notice(const std::string& source);

  // The byte the next connection process sets once it authenticated
  // (nullptr when the gate is full; refuse() said so first).
  volatile uint8_t* next_slot();
  // The connection process `pid` took the slot next_slot() returned;
  // `notice`: it only tells a banned source why (never a failure).
  void add(pid_t pid, const std::string& source, bool notice = false);

  // Reaps exited children, counting the failures of connections that did
  // not authenticate; returns the pids that were not connections (worker
  // and HTTP processes), so the caller can restart them.
  std::vector<pid_t> reap();
  // Writes the counted refusals whose minute is over (all, with `all`).
  void flush(bool all = false) { tally_.flush(all); }
  void stop_all();
  // Connection processes running now, and those of them that authenticated
  // (the open SSH sessions), for /metrics (gateway/serve_status.h).
  std::size_t connections() const { return by_pid_.size(); }
  std::size_t sessions() const {
    std::size_t n = 0;
    for (const auto& [pid, c] : by_pid_) n += authenticated(c) ? 1 : 0;
    return n;
  }

 private:
  struct Conn {
    std::string source;
    std::size_t slot = 0;
    bool notice = false;
  };
  bool authenticated(const Conn& c) const { return board_[c.slot] == kBoardAuthenticated; }
  void ended(const Conn& c, int status);

  const Settings& s_;
  store::Db& db_;
  volatile uint8_t* board_ = nullptr;  // max_connections bytes, MAP_SHARED
  std::vector<std::size_t> free_slots_;
  std::map<pid_t, Conn> by_pid_;
  RefusalTally tally_;
  std::optional<int64_t> ban_until_;  // of the source refuse() last found banned
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace kp::gateway
