// Slow clients cannot hold the HTTP process: every connection carries one
// request (no keep-alive) and has `header_ms` for its request line and
// headers, then, when the request has a body, `body_ms` for the body (the
// handler says when it has read it: body_read()); a watchdog thread shuts
// down the socket of a connection past its deadline, which frees Poco's
// thread. A source (common/address.h: an IPv4 address, an IPv6 /64) holds
// at most `per_source` connections; more are closed at once. Together with
// more threads than one source may hold, a slow-loris client (one header
// byte every few seconds) cannot keep /healthz or the auditors' page from
// answering anyone else.
#pragma once

#include <Poco/Net/TCPServerConnectionFactory.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace kp::gateway {

struct HttpLimits {
  int64_t header_ms = 10'000;
  int64_t body_ms = 10'000;
  int64_t per_source = 8;
};

class HttpGuard {
 public:
  explicit HttpGuard(HttpLimits limits);
  ~HttpGuard();
  HttpGuard(const HttpGuard&) = delete;
  HttpGuard& operator=(const HttpGuard&) = delete;

  // A connection factory that admits, times and forgets connections
  // around `inner` (Poco's HTTPServerConnectionFactory).
  Poco::Net::TCPServerConnectionFactory::Ptr wrap(Poco::Net::TCPServerConnectionFactory::Ptr inner);

  // The request on this thread's connection has its headers: `has_body`
  // gives it body_ms more, else no deadline is left (the answer is bounded
  // by the socket's send timeout).
  static void headers_read(bool has_body);
  // The request on this thread's connection has its body read.
  static void body_read();

  // Used by the wrapper (gateway/http_guard.cpp).
  bool admit(int fd, const std::string& source);
  void done(int fd);

 private:
  struct Live {
    std::string block;
    int64_t deadline_ms = 0;  // 0 = none
    bool shut = false;
  };
  void set_deadline(int fd, int64_t deadline_ms);
  void watch();

  HttpLimits limits_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<int, Live> live_;
  std::map<std::string, int64_t> per_block_;
  std::thread watchdog_;
};

}  // namespace kp::gateway
