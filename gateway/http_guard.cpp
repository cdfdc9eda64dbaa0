// HTTP connection deadlines and per-source caps; see http_guard.h.
#include "gateway/http_guard.h"

#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerConnection.h>
#include <sys/socket.h>

#include "common/address.h"
#include "common/log.h"

namespace kp::gateway {

namespace {

// The guard and the connection this thread serves (Poco runs one
// connection per thread at a time).
thread_local HttpGuard* t_guard = nullptr;
thread_local int t_fd = -1;

class Guarded : public Poco::Net::TCPServerConnection {
 public:
  Guarded(const Poco::Net::StreamSocket& s, HttpGuard& guard, Poco::Net::TCPServerConnection* inner)
      : TCPServerConnection(s), guard_(guard), inner_(inner) {}
  void run() override {
    int fd = socket().impl()->sockfd();
    if (inner_) {
      t_guard = &guard_;
      t_fd = fd;
      try {
        inner_->run();
      } catch (...) {
        log::event("http.error", {{"error", "connection ended by an exception"}});
      }
      t_guard = nullptr;
      t_fd = -1;
      guard_.done(fd);
    }
  }

 private:
  HttpGuard& guard_;
  std::unique_ptr<Poco::Net::TCPServerConnection> inner_;
};

class Factory : public Poco::Net::TCPServerConnectionFactory {
 public:
  Factory(HttpGuard& guard, Poco::Net::TCPServerConnectionFactory::Ptr inner)
      : guard_(guard), inner_(std::move(inner)) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& s) override {
    std::string source;
    try {
      source = s.peerAddress().host().toString();
    } catch (...) {
      return new Guarded(s, guard_, nullptr);
    }
    if (!guard_.admit(s.impl()->sockfd(), source)) return new Guarded(s, guard_, nullptr);
    return new Guarded(s, guard_, inner_->createConnection(s));
  }

 private:
  HttpGuard& guard_;
  Poco::Net::TCPServerConnectionFactory::Ptr inner_;
};

}  // namespace

HttpGuard::HttpGuard(HttpLimits limits) : limits_(limits), watchdog_([this] { watch(); }) {}

HttpGuard::~HttpGuard() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  watchdog_.join();
}

Poco::Net::TCPServerConnectionFactory::Ptr HttpGuard::wrap(Poco::Net::TCPServerConnectionFactory::Ptr inner) {
  return new Factory(*this, std::move(inner));
}

bool HttpGuard::admit(int fd, const std::string& source) {
  std::string block = source_block(source).value_or(source);
  std::lock_guard<std::mutex> lock(mu_);
  int64_t& n = per_block_[block];
  if (n >= limits_.per_source) {
    if (n == 0) per_block_.erase(block);
    log::event("http.refused", {{"source", source}, {"reason", "limit-connections-per-source"}});
    return false;
  }
  ++n;
  live_[fd] = Live{block, log::now_ms() + limits_.header_ms, false};
  return true;
}

void HttpGuard::done(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(fd);
  if (it == live_.end()) return;
  if (--per_block_[it->second.block] <= 0) per_block_.erase(it->second.block);
  live_.erase(it);
}

void HttpGuard::set_deadline(int fd, int64_t deadline_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(fd);
  if (it != live_.end()) it->second.deadline_ms = deadline_ms;
}

void HttpGuard::headers_read(bool has_body) {
  if (!t_guard) return;
  t_guard->set_deadline(t_fd, has_body ? log::now_ms() + t_guard->limits_.body_ms : 0);
}

void HttpGuard::body_read() {
  if (t_guard) t_guard->set_deadline(t_fd, 0);
}

void HttpGuard::watch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(250));
    int64_t now = log::now_ms();
    for (auto& [fd, live] : live_) {
      if (live.shut || live.deadline_ms == 0 || live.deadline_ms > now) continue;
      // The socket stays open (its owner closes it); reads and writes on it
      // end at once, so Poco's thread is free again.
      ::shutdown(fd, SHUT_RDWR);
      live.shut = true;
      log::event("http.timeout", {{"source", live.block}});
    }
  }
}

}  // namespace kp::gateway
