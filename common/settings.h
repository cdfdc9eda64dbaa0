// Settings: one file in the data directory (DATA/knooppunt.conf), written by
// `knooppunt init` with every setting, its default and a one-line comment.
//
// The table in settings.cpp is the single source of truth: the file `init`
// writes, the validation `serve` applies and the README's list all come from
// it. An unknown key or a bad value is refused, naming it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace kp {

struct Settings {
  std::string listen = "127.0.0.1:2222";
  std::string http = "127.0.0.1:8080";
  int64_t login_grace_seconds = 30;
  int64_t idle_timeout_seconds = 900;
  int64_t max_auth_tries = 6;
  int64_t max_sessions_per_connection = 4;
  int64_t max_connections = 512;
  int64_t max_connections_per_source = 64;
  int64_t ban_after_failures = 10;
  int64_t ban_window_seconds = 600;
  std::vector<std::string> ban_safelist;  // exact source addresses never banned
  int64_t max_file_size = 4LL << 30;
  int64_t max_files_per_day = 10000;
  int64_t max_bytes_per_day = 64LL << 30;
  int64_t max_open_handles = 64;
  int64_t workers = 4;
  int64_t intake_rotation_grace_days = 14;
};

struct SettingInfo {
  std::string key;
  std::string default_value;
  std::string comment;
};

// Every setting with its default and comment, in file order.
std::vector<SettingInfo> setting_table();

// The text `init` writes: a header, then "# comment\nkey = default\n" for each.
std::string default_settings_file();

// Reads and validates the settings file. Errors: "settings-unreadable",
// "settings-unknown-key" (naming it), "settings-bad-value" (naming key and value).
Result<Settings> load_settings(const std::string& path);

}  // namespace kp
