// Connection admission; see gate.h.
#include "gateway/gate.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <signal.h>

#include <algorithm>
#include <ctime>

#include "common/address.h"
#include "common/log.h"
#include "store/penalties.h"

namespace kp::gateway {

std::string ban_message(int64_t until_ms, int64_t now_ms) {
  time_t until = static_cast<time_t>((until_ms + 59'999) / 60'000 * 60);
  time_t now = static_cast<time_t>(now_ms / 1000);
  std::tm u{}, n{};
  ::gmtime_r(&until, &u);
  ::gmtime_r(&now, &n);
  char buf[64];
  bool same_day = u.tm_year == n.tm_year && u.tm_yday == n.tm_yday;
  std::strftime(buf, sizeof buf, same_day ? "%H:%M UTC" : "%Y-%m-%d %H:%M UTC", &u);
  return std::string("too many failed logins from your address; try again after ") + buf;
}

Gate::Gate(const Settings& s, store::Db& db)
    : s_(s), db_(db), tally_(db, "connection.refused", "ssh", "connections") {
  std::size_t n = static_cast<std::size_t>(s_.max_connections);
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) board_ = static_cast<volatile uint8_t*>(p);
  for (std::size_t i = n; i > 0; --i) free_slots_.push_back(i - 1);
}

Gate::~Gate() {
  if (board_) ::munmap(const_cast<uint8_t*>(board_), static_cast<std::size_t>(s_.max_connections));
}

std::optional<std::string> Gate::refuse(const std::string& source) {
  ban_until_.reset();
  if (!board_ || free_slots_.empty() || static_cast<int64_t>(by_pid_.size()) >= s_.max_connections)
    return "limit-connections";
  int64_t from_source = 0, startups = 0, startups_from_source = 0;
  for (const auto& [pid, c] : by_pid_) {
    bool mine = c.source == source;
    from_source += mine;
    if (!authenticated(c)) {
      ++startups;
      startups_from_source += mine;
    }
  }
  if (from_source >= s_.max_connections_per_source) return "limit-connections-per-source";
  if (startups_from_source >= s_.max_startups_per_source) return "limit-startups-per-source";
  if (startups >= s_.max_startups) return "limit-startups";
  // Random early drop between half and all of max_startups.
  int64_t half = s_.max_startups / 2;
  if (startups >= half && s_.max_startups > half) {
    std::uniform_int_distribution<int64_t> d(0, s_.max_startups - half - 1);
    if (d(rng_) < startups - half) return "limit-startups";
  }
  if (!block_listed(s_.ban_safelist, source)) {
    auto block = source_block(source);
    auto until = store::banned_until(db_, block.value_or(source), log::now_ms());
    if (until.ok() && *until) {
      ban_until_ = **until;
      return "source-banned";
    }
  }
  return std::nullopt;
}

void Gate::refused(const std::string& source, const std::string& why) {
  log::event("connection.refused", {{"source", source}, {"reason", why}});
  tally_.add(source, why);
}

std::optional<int64_t> Gate::ban_notice(const std::string& source) {
  if (!ban_until_ || !board_ || free_slots_.empty()) return std::nullopt;
  int64_t startups = 0;
  for (const auto& [pid, c] : by_pid_) {
    if (authenticated(c)) continue;
    if (c.source == source) return std::nullopt;  // one notice at a time per source
    ++startups;
  }
  if (startups >= s_.max_startups / 2) return std::nullopt;
  return ban_until_;
}

volatile uint8_t* Gate::next_slot() {
  if (!board_ || free_slots_.empty()) return nullptr;
  std::size_t slot = free_slots_.back();
  board_[slot] = kBoardUnauthenticated;
  return board_ + slot;
}

void Gate::add(pid_t pid, const std::string& source, bool notice) {
  std::size_t slot = free_slots_.back();
  free_slots_.pop_back();
  by_pid_[pid] = Conn{source, slot, notice};
}

void Gate::ended(const Conn& c, int status) {
  uint8_t how = board_[c.slot];
  if (c.notice || how == kBoardAuthenticated) return;
  const char* reason = nullptr;
  if (how == kBoardFailed) reason = "auth-failed";
  else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) reason = "login-grace-exceeded";
  if (!reason || block_listed(s_.ban_safelist, c.source)) return;
  auto block = source_block(c.source);
  auto banned = store::add_failure(db_, block.value_or(c.source), reason, "ssh", store::penalty_rules(s_),
                                   log::now_ms());
  if (!banned.ok()) {
    log::event("penalty.write_failed", {{"source", c.source}, {"error", banned.error().message()}});
    return;
  }
  if (*banned)
    log::event("source.banned", {{"source", block.value_or(c.source)}, {"until", log::format_iso8601(**banned)},
                                 {"reason", reason}});
}

std::vector<pid_t> Gate::reap() {
  std::vector<pid_t> others;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return others;
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) {
      others.push_back(pid);
      continue;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGALRM)
      log::event("session.crashed", {{"pid", std::to_string(pid)}, {"signal", std::to_string(WTERMSIG(status))}});
    ended(it->second, status);
    board_[it->second.slot] = kBoardUnauthenticated;
    free_slots_.push_back(it->second.slot);
    by_pid_.erase(it);
  }
}

void Gate::stop_all() {
  for (const auto& [pid, c] : by_pid_) ::kill(pid, SIGTERM);
}

}  // namespace kp::gateway
