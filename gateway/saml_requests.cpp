// The AuthnRequests our SP sent; see saml_requests.h.
#include "gateway/saml_requests.h"

#include <sodium.h>

#include <algorithm>
#include <iterator>

namespace kp::gateway {

void SamlRequests::expire(int64_t now_ms) {
  for (auto it = by_id_.begin(); it != by_id_.end();)
    it = it->second.expires_ms <= now_ms ? by_id_.erase(it) : std::next(it);
}

void SamlRequests::issue(const std::string& id, const BrowserTag& browser, int64_t now_ms) {
  expire(now_ms);
  if (by_id_.size() >= kMaxSamlRequests) {
    auto oldest = std::min_element(by_id_.begin(), by_id_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_ms < b.second.expires_ms;
    });
    by_id_.erase(oldest);
  }
  by_id_[id] = Entry{browser, now_ms + kSamlRequestMs, false};
}

std::string SamlRequests::answer(const std::string& in_response_to, const BrowserTag& browser,
                                 int64_t now_ms) {
  expire(now_ms);
  if (in_response_to.empty()) return "eh-unsolicited";
  auto it = by_id_.find(in_response_to);
  if (it == by_id_.end()) return "eh-request-unknown";
  if (it->second.used) return "eh-request-used";
  if (browser == BrowserTag{} ||
      sodium_memcmp(browser.data(), it->second.browser.data(), browser.size()) != 0)
    return "eh-request-other-browser";
  it->second.used = true;
  return {};
}

}  // namespace kp::gateway
