// The serve parent's counts in a shared page; see serve_status.h.
#include "gateway/serve_status.h"

#include <sys/mman.h>

#include <atomic>
#include <new>

namespace kp::gateway {

struct ServeStatus::Page {
  std::atomic<int64_t> workers_expected, workers_running, worker_restarts, worker_restarts_recent, connections,
      sessions;
};
static_assert(std::atomic<int64_t>::is_always_lock_free, "the shared page needs address-free atomics");

Result<ServeStatus> ServeStatus::create() {
  void* p = ::mmap(nullptr, sizeof(Page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  KP_ENSURE(p != MAP_FAILED, "serve-status-failed", "cannot map the shared status page");
  return ServeStatus(new (p) Page{});
}

void ServeStatus::publish(const ServeCounts& c) {
  if (!page_) return;
  page_->workers_expected.store(c.workers_expected, std::memory_order_relaxed);
  page_->workers_running.store(c.workers_running, std::memory_order_relaxed);
  page_->worker_restarts.store(c.worker_restarts, std::memory_order_relaxed);
  page_->worker_restarts_recent.store(c.worker_restarts_recent, std::memory_order_relaxed);
  page_->connections.store(c.connections, std::memory_order_relaxed);
  page_->sessions.store(c.sessions, std::memory_order_relaxed);
}

ServeCounts ServeStatus::read() const {
  ServeCounts c;
  if (!page_) return c;
  c.workers_expected = page_->workers_expected.load(std::memory_order_relaxed);
  c.workers_running = page_->workers_running.load(std::memory_order_relaxed);
  c.worker_restarts = page_->worker_restarts.load(std::memory_order_relaxed);
  c.worker_restarts_recent = page_->worker_restarts_recent.load(std::memory_order_relaxed);
  c.connections = page_->connections.load(std::memory_order_relaxed);
  c.sessions = page_->sessions.load(std::memory_order_relaxed);
  return c;
}

void ServeStatus::unmap() {
  if (page_) ::munmap(page_, sizeof(Page));
  page_ = nullptr;
}

}  // namespace kp::gateway
