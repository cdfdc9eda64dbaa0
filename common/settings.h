// Settings: one file in the data directory (DATA/knooppunt.conf), written by
// `knooppunt init` with every setting, its default and a one-line comment.
//
// The table in settings.cpp is the single source of truth: the file `init`
// writes, the validation `serve` applies and the README's list all come from
// it. An unknown key or a bad value is refused, naming it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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
  int64_t max_startups = 64;             // unauthenticated connections overall
  int64_t max_startups_per_source = 8;   // unauthenticated connections per source
  int64_t ban_after_failures = 10;
  int64_t ban_window_seconds = 600;
  int64_t ban_seconds = 600;        // the first ban of a source; each further one doubles
  int64_t ban_max_seconds = 86400;  // longest ban; a source quiet this long is forgotten
  std::vector<std::string> ban_safelist;
  int64_t http_header_timeout_seconds = 10;   // request line and headers of one HTTP request
  int64_t http_body_timeout_seconds = 10;     // its body, once the headers are in
  int64_t http_max_connections_per_source = 8;  // exact source addresses never banned
  int64_t max_file_size = 4LL << 30;
  int64_t max_files_per_day = 10000;
  int64_t max_bytes_per_day = 64LL << 30;
  int64_t max_open_handles = 64;
  int64_t max_temp_uploads = 16;
  int64_t max_write_gap = 256LL << 20;
  int64_t workers = 4;
  int64_t intake_rotation_grace_days = 14;
  int64_t case_capacity_per_year = 500;
  std::string smtp_host;  // empty = no notification mail is sent
  int64_t smtp_port = 25;
  std::string smtp_sender = "knooppunt@localhost";
  bool smtp_starttls = true;
  int64_t smtp_timeout_seconds = 10;
  std::string smtp_ca_file;  // empty = the system's CA certificates
  int64_t notify_max_attempts = 12;
  int64_t notify_retry_seconds = 30;
  int64_t notify_retry_max_seconds = 3600;
  // Retention periods in seconds (settings take a duration: 30d, 12h, 15m, 10s).
  int64_t retention_inbox_seconds = 7 * 86400;
  int64_t retention_quarantine_seconds = 30 * 86400;
  int64_t retention_queue_seconds = 90 * 86400;
  int64_t retention_outbox_seconds = 30 * 86400;
  int64_t retention_receipts_seconds = 365 * 86400;
  int64_t retention_audit_log_seconds = 1827 * 86400;
  int64_t retention_sweep_interval_seconds = 60;
  int64_t parser_timeout_seconds = 300;  // one package parser child, then package-parser-timeout
  // eHerkenning (gateway/saml_sp.h); off while eherkenning_broker_metadata is empty.
  std::string eherkenning_broker_metadata;
  std::string eherkenning_entity_id;
  std::string eherkenning_base_url;
  std::string eherkenning_service_id;
  std::string eherkenning_service_uuid;
  std::string eherkenning_min_level = "loa3";
  int64_t eherkenning_clock_skew_seconds = 120;
  int64_t eherkenning_mandate_period_seconds = 365 * 86400;
  int64_t eherkenning_certificate_validity_seconds = 12 * 3600;
  int64_t eherkenning_contact_confirm_validity_seconds = 86400;
  // Witnesses of the transfer log: "URL VKEY" each (the witness's
  // add-checkpoint prefix and its cosigner key); workers parse the keys.
  std::vector<std::string> witnesses;
  int64_t witness_quorum = 0;  // cosignatures a checkpoint needs before `audit proof` cites it
  // Failed intake attempts: retried after intake_retry_seconds, doubling up
  // to intake_retry_max_seconds; after intake_max_attempts rejected with
  // intake-failed. A full disk waits without counting attempts.
  int64_t intake_max_attempts = 5;
  int64_t intake_retry_seconds = 30;
  int64_t intake_retry_max_seconds = 900;
  // /healthz (gateway/health.h): the disk check's threshold and how long a
  // transfer-log record may wait for a checkpoint; serve's warning interval
  // while no staff recipient exists.
  int64_t health_min_free_bytes = int64_t(1) << 30;
  int64_t health_checkpoint_max_age_seconds = 300;
  int64_t staff_warning_interval_seconds = 3600;
  // Key rotation (keys/keystore.h): grace periods of the replaced hub and log keys.
  int64_t hub_key_grace_seconds = 14 * 86400;
  int64_t log_key_grace_seconds = 14 * 86400;
  std::string host_name;   // empty = the listen address, or the machine's name
  std::string log_origin;  // empty = keep the origin fixed at init
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

// A duration: a whole number and one unit, d (days), h, m or s ("30d",
// "12h", "15m", "10s"), in seconds. Error "usage" naming the text when it is
// anything else (no unit, a sign, spaces, a fraction, overflow).
Result<int64_t> parse_duration(std::string_view text);

// The shortest exact spelling of `seconds` in that syntax ("30d", "90s").
std::string format_duration(int64_t seconds);

// Reads and validates the settings file. Errors: "settings-unreadable",
// "settings-unknown-key" (naming it), "settings-bad-value" (naming key and value).
Result<Settings> load_settings(const std::string& path);

}  // namespace kp
