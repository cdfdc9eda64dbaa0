// The serve parent's live counts, for /healthz and /metrics: intake workers
// running and restarted, connections and open SSH sessions. Only the serve
// parent knows them (it starts the workers and forks the connections), and
// the HTTP pair is forked before it starts either, so they share one page
// mapped MAP_SHARED before that fork: serve writes it, the HTTP monitor
// reads it to answer the HTTP process's `status` request
// (gateway/http_monitor.h), and the HTTP process unmaps it before its
// sandbox, so it learns the counts only through the monitor's bounded reply.
#pragma once

#include <cstdint>

#include "common/result.h"

namespace kp::gateway {

struct ServeCounts {
  int64_t workers_expected = 0;      // the `workers` setting (0: run apart, not watched)
  int64_t workers_running = 0;       // started and not yet reaped
  int64_t worker_restarts = 0;       // since serve started
  int64_t worker_restarts_recent = 0;  // within the last kRecentRestartMs
  int64_t connections = 0;           // SSH connection processes
  int64_t sessions = 0;              // of those, authenticated
};

inline constexpr int64_t kRecentRestartMs = 60 * 1000;

class ServeStatus {
 public:
  // Maps the page. Error "serve-status-failed" when mmap fails.
  static Result<ServeStatus> create();
  ServeStatus(ServeStatus&& other) noexcept : page_(other.page_) { other.page_ = nullptr; }
  ServeStatus& operator=(ServeStatus&&) = delete;
  ServeStatus(const ServeStatus&) = delete;
  ~ServeStatus() { unmap(); }

  // Each field is read and written whole (lock-free atomics in the shared
  // page); a reader may see one publish half applied, which for counts
  // that move one at a time is harmless.
  void publish(const ServeCounts& c);
  ServeCounts read() const;
  // Drops this process's mapping (the HTTP process, before its sandbox).
  void unmap();

 private:
  struct Page;
  explicit ServeStatus(Page* p) : page_(p) {}
  Page* page_ = nullptr;
};

}  // namespace kp::gateway
