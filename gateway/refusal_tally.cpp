// Aggregated refusal records; see refusal_tally.h.
#include "gateway/refusal_tally.h"

#include "common/log.h"
#include "store/audit_events.h"

namespace kp::gateway {

namespace {
constexpr int64_t kWindowMs = 60 * 1000;
}  // namespace

void RefusalTally::write(const std::string& source, const std::string& reason, std::optional<int64_t> size,
                         std::optional<std::string> object) {
  store::AuditEvent e;
  e.event = event_;
  e.outcome = "refused";
  e.source = source;
  e.reason = reason;
  e.channel = channel_;
  e.size = size;
  e.object = std::move(object);
  auto a = store::append_audit(db_, e);
  if (!a.ok()) log::event("audit.write_failed", {{"event", e.event}, {"error", a.error().message()}});
}

void RefusalTally::add(const std::string& source, const std::string& reason) {
  int64_t now = log::now_ms();
  auto key = std::make_pair(windows_.size() < kMaxTracked ? source : std::string("*"), reason);
  auto it = windows_.find(key);
  if (it != windows_.end() && now - it->second.start_ms < kWindowMs) {
    ++it->second.more;
    return;
  }
  if (it != windows_.end()) flush();
  windows_[key] = Window{now, 0};
  write(key.first, reason, std::nullopt, std::nullopt);
}

void RefusalTally::flush(bool all) {
  int64_t now = log::now_ms();
  for (auto it = windows_.begin(); it != windows_.end();) {
    const auto& [key, w] = *it;
    if (!all && now - w.start_ms < kWindowMs) {
      ++it;
      continue;
    }
    if (w.more > 0)
      write(key.first, key.second, w.more,
            std::to_string(w.more) + " more " + what_ + " refused between " + log::format_iso8601(w.start_ms) +
                " and " + log::format_iso8601(now));
    it = windows_.erase(it);
  }
}

}  // namespace kp::gateway
