// Refusals recorded as aggregates, so a flood cannot fill the transfer log:
// the first refusal of a source for a reason in a minute is one record, and
// the rest of that minute one more record that counts them ("39 more
// connections refused from 127.0.0.9 between ... and ..."). Used by the
// gate (refused SSH connections) and the HTTP monitor (web logins from a
// banned source). At most kMaxTracked sources are told apart a minute; the
// rest share the source "*".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "store/db.h"

namespace kp::gateway {

class RefusalTally {
 public:
  // `event` and `channel` of the records; `what` names the refused thing
  // in the counted record's text ("connections", "web logins").
  RefusalTally(store::Db& db, std::string event, std::string channel, std::string what)
      : db_(db), event_(std::move(event)), channel_(std::move(channel)), what_(std::move(what)) {}
  ~RefusalTally() { flush(true); }
  RefusalTally(const RefusalTally&) = delete;
  RefusalTally& operator=(const RefusalTally&) = delete;

  // One refusal of `source` for `reason` (a reason code).
  void add(const std::string& source, const std::string& reason);
  // Writes the counted records whose minute is over (all, with `all`).
  void flush(bool all = false);

  static constexpr std::size_t kMaxTracked = 4096;

 private:
  struct Window {
    int64_t start_ms = 0;
    int64_t more = 0;  // refusals after the first in this window
  };
  void write(const std::string& source, const std::string& reason, std::optional<int64_t> size,
             std::optional<std::string> object);

  store::Db& db_;
  std::string event_, channel_, what_;
  std::map<std::pair<std::string, std::string>, Window> windows_;
};

}  // namespace kp::gateway
