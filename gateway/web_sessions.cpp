// In-memory web sessions; see web_sessions.h.
#include "gateway/web_sessions.h"

#include <sodium.h>

#include "common/digest.h"

namespace kp::gateway {

namespace {

std::string random_hex() {
  uint8_t b[32];
  randombytes_buf(b, sizeof b);
  return to_hex(b, sizeof b);
}

std::string key_of(const std::string& id) {
  return to_hex(sha256(id));
}

}  // namespace

WebSession WebSessions::create(const std::string& auditor, const store::TokenHash& token_hash,
                               int64_t now_ms, const std::array<uint8_t, 32>& grant) {
  WebSession s{random_hex(), auditor, random_hex(), now_ms + kSessionMs, token_hash, grant, {}};
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = by_hash_.begin(); it != by_hash_.end();)
    it = it->second.expires_ms <= now_ms ? by_hash_.erase(it) : std::next(it);
  while (by_hash_.size() >= kMaxSessions) {
    auto oldest = by_hash_.begin();
    for (auto it = by_hash_.begin(); it != by_hash_.end(); ++it)
      if (it->second.expires_ms < oldest->second.expires_ms) oldest = it;
    by_hash_.erase(oldest);
  }
  by_hash_[key_of(s.id)] = s;
  return s;
}

std::optional<WebSession> WebSessions::find(const std::string& id, int64_t now_ms) {
  if (id.size() != 64) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(key_of(id));
  if (it == by_hash_.end()) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

int64_t WebSessions::note_verify(const std::string& id, VerifyNote note) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(key_of(id));
  if (it == by_hash_.end()) return 0;
  note.seq = it->second.verified ? it->second.verified->seq + 1 : 1;
  it->second.verified = note;
  return note.seq;
}

void WebSessions::drop(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  by_hash_.erase(key_of(id));
}

bool csrf_matches(const WebSession& s, const std::string& given) {
  return given.size() == s.csrf.size() &&
         sodium_memcmp(given.data(), s.csrf.data(), given.size()) == 0;
}

}  // namespace kp::gateway
