// Login sessions of the auditors' web page, kept in the memory of the HTTP
// process only: a restart logs everyone out, and nothing about a session
// is ever written to disk. A session id and its CSRF token are 32 random
// bytes each (hex); the table is keyed by a hash of the id, so a lookup
// compares hashes, never the secret itself. Sessions expire a fixed time
// after login; the table holds at most kMaxSessions (the oldest go first).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "store/auditor_tokens.h"

namespace kp::gateway {

inline constexpr int64_t kSessionMs = 15 * 60 * 1000;
inline constexpr std::size_t kMaxSessions = 256;

// The outcome of a session's last Verify on the auditors' page. The POST
// stores it and redirects to a page naming its `seq`, which shows it: a
// reload of that page shows it again instead of verifying again.
struct VerifyNote {
  int64_t seq = 0;  // 1, 2, ... within the session
  int64_t at_ms = 0;
  bool ok = false;
  int64_t records = 0, checkpoints = 0;
  std::string error;  // "reason-code: sentence" when not ok
};

struct WebSession {
  std::string id;       // the cookie value
  std::string auditor;  // fixed at login
  std::string csrf;     // must come back in every state-changing form
  int64_t expires_ms = 0;
  store::TokenHash token_hash{};  // the auditor's token hash at login
  std::array<uint8_t, 32> grant{};  // the monitor's grant for this login (http_monitor.h)
  std::optional<VerifyNote> verified;  // the last Verify's outcome, if any
};

class WebSessions {
 public:
  // A new session for `auditor`, who logged in with the token whose stored
  // hash is `token_hash` (the monitor's `grant` for that login), valid
  // until now + kSessionMs.
  WebSession create(const std::string& auditor, const store::TokenHash& token_hash, int64_t now_ms,
                    const std::array<uint8_t, 32>& grant = {});
  // The live session with cookie value `id`, if any (expired ones are dropped).
  std::optional<WebSession> find(const std::string& id, int64_t now_ms);
  // Keeps `note` as the session's last Verify, numbered one past the one
  // before; returns that number (0 when the session is gone).
  int64_t note_verify(const std::string& id, VerifyNote note);
  // Ends the session (logout); unknown ids are ignored.
  void drop(const std::string& id);

 private:
  std::mutex mu_;
  std::map<std::string, WebSession> by_hash_;  // hash of id -> session
};

// True when `given` equals the session's CSRF token (constant time).
bool csrf_matches(const WebSession& s, const std::string& given);

}  // namespace kp::gateway
