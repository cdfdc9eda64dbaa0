// Connection admission; see gate.h.
#include "gateway/gate.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <signal.h>

#include <algorithm>

#include "common/log.h"
#include "gateway/principal.h"
#include "store/audit_events.h"

namespace kp::gateway {

namespace {
constexpr int64_t kWindowMs = 60 * 1000;
constexpr std::size_t kMaxTrackedRefusals = 4096;
}  // namespace

Gate::Gate(const Settings& s, store::Db& db) : s_(s), db_(db) {
  std::size_t n = static_cast<std::size_t>(s_.max_connections);
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) board_ = static_cast<volatile uint8_t*>(p);
  for (std::size_t i = n; i > 0; --i) free_slots_.push_back(i - 1);
}

Gate::~Gate() {
  if (board_) ::munmap(const_cast<uint8_t*>(board_), static_cast<std::size_t>(s_.max_connections));
}

std::optional<std::string> Gate::refuse(const std::string& source) {
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
  bool safe = std::find(s_.ban_safelist.begin(), s_.ban_safelist.end(), source) != s_.ban_safelist.end();
  if (!safe) {
    auto failed = store::count_failed_logins(db_, source, log::now_ms() - s_.ban_window_seconds * 1000);
    if (failed.ok() && *failed >= s_.ban_after_failures) return "source-banned";
  }
  return std::nullopt;
}

void Gate::refused(const std::string& source, const std::string& why) {
  log::event("connection.refused", {{"source", source}, {"reason", why}});
  int64_t now = log::now_ms();
  auto key = std::make_pair(refusals_.size() < kMaxTrackedRefusals ? source : std::string("*"), why);
  auto it = refusals_.find(key);
  if (it != refusals_.end() && now - it->second.window_start_ms < kWindowMs) {
    ++it->second.more;
    return;
  }
  if (it != refusals_.end()) flush();
  refusals_[key] = Refusals{now, 0};
  audit_connection(db_, "connection.refused", "refused", key.first, std::nullopt, std::nullopt, why);
}

void Gate::flush(bool all) {
  int64_t now = log::now_ms();
  for (auto it = refusals_.begin(); it != refusals_.end();) {
    const auto& [key, r] = *it;
    if (!all && now - r.window_start_ms < kWindowMs) {
      ++it;
      continue;
    }
    if (r.more > 0) {
      store::AuditEvent e;
      e.event = "connection.refused";
      e.outcome = "refused";
      e.source = key.first;
      e.reason = key.second;
      e.channel = "ssh";
      e.size = r.more;
      e.object = std::to_string(r.more) + " more connections refused between " +
                 log::format_iso8601(r.window_start_ms) + " and " + log::format_iso8601(now);
      auto a = store::append_audit(db_, e);
      if (!a.ok()) log::event("audit.write_failed", {{"event", e.event}, {"error", a.error().message()}});
    }
    it = refusals_.erase(it);
  }
}

volatile uint8_t* Gate::next_slot() {
  if (!board_ || free_slots_.empty()) return nullptr;
  std::size_t slot = free_slots_.back();
  board_[slot] = 0;
  return board_ + slot;
}

void Gate::add(pid_t pid, const std::string& source) {
  std::size_t slot = free_slots_.back();
  free_slots_.pop_back();
  by_pid_[pid] = Conn{source, slot};
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
    if (WIFSIGNALED(status))
      log::event("session.crashed", {{"pid", std::to_string(pid)}, {"signal", std::to_string(WTERMSIG(status))}});
    board_[it->second.slot] = 0;
    free_slots_.push_back(it->second.slot);
    by_pid_.erase(it);
  }
}

void Gate::stop_all() {
  for (const auto& [pid, c] : by_pid_) ::kill(pid, SIGTERM);
}

}  // namespace kp::gateway
