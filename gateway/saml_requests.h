// The AuthnRequests our SP sent and the browsers they were sent for, kept
// by the HTTP monitor (gateway/eherkenning_monitor.h), which issues every
// request (op eh_request) and decides every login. A broker's Response must
// answer one of them (its InResponseTo), from the browser that started it
// (the SHA-256 of that browser's kp_eh_login cookie, which the sandboxed
// HTTP process sets with the redirect), once.
//
// Why the monitor and not the web session: the monitor already decides
// every login and holds the replay cache; the HTTP process that parses the
// Response could otherwise claim any binding it liked. Memory only: a
// restart forgets pending requests (a person then logs in again). Bounded:
// at most kMaxSamlRequests, each for kSamlRequestMs; when full, the oldest
// goes first (a flood of /eherkenning/login can end other people's pending
// logins early, never let a response in).
//
// Refusal codes of answer():
//   eh-unsolicited           the Response answers no request (no InResponseTo)
//   eh-request-unknown       not a request we sent, or it expired / was forgotten
//   eh-request-used          the request was answered before
//   eh-request-other-browser sent for another browser (no or another cookie)
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace kp::gateway {

inline constexpr int64_t kSamlRequestMs = 15 * 60 * 1000;
inline constexpr std::size_t kMaxSamlRequests = 4096;

// SHA-256 of the browser's kp_eh_login cookie value; all zero: no cookie.
using BrowserTag = std::array<uint8_t, 32>;

class SamlRequests {
 public:
  // Remembers request `id`, sent for `browser`, until now + kSamlRequestMs.
  void issue(const std::string& id, const BrowserTag& browser, int64_t now_ms);
  // "" when `in_response_to` is a live, unanswered request of `browser`
  // (it is used up); else the refusal code above.
  std::string answer(const std::string& in_response_to, const BrowserTag& browser, int64_t now_ms);
  std::size_t size() const { return by_id_.size(); }

 private:
  struct Entry {
    BrowserTag browser{};
    int64_t expires_ms = 0;
    bool used = false;
  };
  void expire(int64_t now_ms);
  std::map<std::string, Entry> by_id_;
};

}  // namespace kp::gateway
