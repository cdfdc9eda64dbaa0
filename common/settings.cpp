// The settings table, the default file and the loader; see settings.h.
#include "common/settings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <charconv>
#include <functional>
#include <map>
#include <sstream>

namespace kp {

namespace {

using Apply = std::function<bool(Settings&, const std::string&)>;

struct Entry {
  SettingInfo info;
  Apply apply;  // false = bad value
};

Apply integer(int64_t Settings::*field, int64_t min, int64_t max) {
  return [=](Settings& s, const std::string& v) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < min || n > max) return false;
    s.*field = n;
    return true;
  };
}

bool valid_host_port(const std::string& v) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int port = -1;
  auto [p, ec] = std::from_chars(v.data() + colon + 1, v.data() + v.size(), port);
  return ec == std::errc() && p == v.data() + v.size() && port >= 0 && port <= 65535;
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = {
      {{"listen", "127.0.0.1:2222", "SSH/SFTP listen address (host:port); --listen overrides"},
       [](Settings& s, const std::string& v) { return valid_host_port(v) && (s.listen = v, true); }},
      {{"http", "127.0.0.1:8080", "health/metrics HTTP address (host:port), empty = off; --http overrides"},
       [](Settings& s, const std::string& v) { return (v.empty() || valid_host_port(v)) && (s.http = v, true); }},
      {{"login_grace_seconds", "30", "seconds a connection may take to authenticate"},
       integer(&Settings::login_grace_seconds, 1, 600)},
      {{"idle_timeout_seconds", "900", "seconds without any SFTP request before a session is closed"},
       integer(&Settings::idle_timeout_seconds, 10, 86400)},
      {{"max_auth_tries", "6", "authentication attempts per connection"},
       integer(&Settings::max_auth_tries, 1, 20)},
      {{"max_sessions_per_connection", "4", "SSH channels (sessions) per connection"},
       integer(&Settings::max_sessions_per_connection, 1, 64)},
      {{"max_connections", "512", "concurrent connections overall"},
       integer(&Settings::max_connections, 1, 100000)},
      {{"max_connections_per_source", "64", "concurrent connections per source address"},
       integer(&Settings::max_connections_per_source, 1, 100000)},
      {{"ban_after_failures", "10", "failed logins from one source within ban_window_seconds before it is refused"},
       integer(&Settings::ban_after_failures, 1, 100000)},
      {{"ban_window_seconds", "600", "window for counting failed logins (and how long a ban lasts)"},
       integer(&Settings::ban_window_seconds, 1, 86400 * 30)},
      {{"ban_safelist", "", "comma-separated source addresses that are never banned"},
       [](Settings& s, const std::string& v) {
         s.ban_safelist.clear();
         std::stringstream ss(v);
         std::string item;
         while (std::getline(ss, item, ','))
           if (!item.empty()) s.ban_safelist.push_back(item);
         return true;
       }},
      {{"max_file_size", "4294967296", "largest single upload in bytes, per municipality"},
       integer(&Settings::max_file_size, 1, int64_t(1) << 50)},
      {{"max_files_per_day", "10000", "uploads per municipality per UTC day"},
       integer(&Settings::max_files_per_day, 1, int64_t(1) << 40)},
      {{"max_bytes_per_day", "68719476736", "bytes uploaded per municipality per UTC day"},
       integer(&Settings::max_bytes_per_day, 1, int64_t(1) << 60)},
      {{"max_open_handles", "64", "open SFTP file/dir handles per session"},
       integer(&Settings::max_open_handles, 1, 1024)},
      {{"workers", "4", "intake worker processes serve starts (0 = run `knooppunt worker` separately)"},
       integer(&Settings::workers, 0, 64)},
      {{"intake_rotation_grace_days", "14", "days the previous intake identity still opens packages after `keys rotate`"},
       integer(&Settings::intake_rotation_grace_days, 0, 3650)},
  };
  return table;
}

}  // namespace

std::vector<SettingInfo> setting_table() {
  std::vector<SettingInfo> out;
  for (const auto& e : entries()) out.push_back(e.info);
  return out;
}

std::string default_settings_file() {
  std::string out =
      "# knooppunt settings. Every setting is listed with its default; edit the value\n"
      "# and restart `knooppunt serve`. Unknown keys and bad values are refused.\n";
  for (const auto& e : entries()) {
    out += "\n# " + e.info.comment + "\n" + e.info.key + " = " + e.info.default_value + "\n";
  }
  return out;
}

Result<Settings> load_settings(const std::string& path) {
  Settings s;
  std::map<std::string, const Entry*> by_key;
  for (const auto& e : entries()) by_key[e.info.key] = &e;
  try {
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
        new Poco::Util::PropertyFileConfiguration(path));
    std::vector<std::string> keys;
    cfg->keys(keys);
    for (const auto& k : keys) {
      auto it = by_key.find(k);
      if (it == by_key.end())
        return make_error("settings-unknown-key", "unknown setting '" + k + "' in " + path);
      std::string v = cfg->getRawString(k);
      if (!it->second->apply(s, v))
        return make_error("settings-bad-value", "bad value '" + v + "' for setting '" + k + "'");
    }
  } catch (const Poco::Exception& e) {
    return make_error("settings-unreadable", path + ": " + e.displayText());
  }
  return s;
}

}  // namespace kp
