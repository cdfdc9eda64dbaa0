// The settings table, the default file and the loader; see settings.h.
#include "common/settings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <charconv>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

namespace kp {

namespace {

// A century: long enough for any period a data protection officer sets, and
// far from overflowing when added to a time in milliseconds.
constexpr int64_t kMaxRetentionSeconds = int64_t(36525) * 86400;

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

Apply yes_no(bool Settings::*field) {
  return [=](Settings& s, const std::string& v) {
    if (v != "yes" && v != "no") return false;
    s.*field = v == "yes";
    return true;
  };
}

// A duration setting, kept in seconds, within [min, max] seconds.
Apply duration(int64_t Settings::*field, int64_t min, int64_t max) {
  return [=](Settings& s, const std::string& v) {
    auto n = parse_duration(v);
    if (!n.ok() || *n < min || *n > max) return false;
    s.*field = *n;
    return true;
  };
}

// A value that ends up in a mail header or a host name: printable ASCII, no
// spaces (so never a CR or LF that could start a header of its own).
bool printable_word(const std::string& v) {
  for (unsigned char c : v)
    if (c <= ' ' || c >= 0x7f) return false;
  return true;
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
      {{"http", "127.0.0.1:8080",
        "HTTP address (host:port) for /healthz, /metrics and the auditors' page /auditor/, empty = off; --http overrides"},
       [](Settings& s, const std::string& v) { return (v.empty() || valid_host_port(v)) && (s.http = v, true); }},
      {{"login_grace_seconds", "30", "seconds a connection may take to authenticate"},
       integer(&Settings::login_grace_seconds, 1, 600)},
      {{"idle_timeout_seconds", "900", "seconds without any SFTP request, or without any channel, before the connection is closed"},
       integer(&Settings::idle_timeout_seconds, 10, 86400)},
      {{"max_auth_tries", "6", "authentication attempts per connection"},
       integer(&Settings::max_auth_tries, 1, 20)},
      {{"max_sessions_per_connection", "4", "SSH channels (sessions) per connection"},
       integer(&Settings::max_sessions_per_connection, 1, 64)},
      {{"max_connections", "512", "concurrent connections overall"},
       integer(&Settings::max_connections, 1, 100000)},
      {{"max_connections_per_source", "64", "concurrent connections per source address"},
       integer(&Settings::max_connections_per_source, 1, 100000)},
      {{"max_startups", "64", "connections not yet authenticated, overall; from half of it on, new ones are dropped at random, more often as it fills"},
       integer(&Settings::max_startups, 1, 100000)},
      {{"max_startups_per_source", "8", "connections not yet authenticated per source address"},
       integer(&Settings::max_startups_per_source, 1, 100000)},
      {{"ban_after_failures", "10", "failures from one source (an IPv4 address, an IPv6 /64) within ban_window_seconds before it is banned: a connection that ended without authenticating (however many keys it offered) or outlived the login grace, a refused web login"},
       integer(&Settings::ban_after_failures, 1, 100000)},
      {{"ban_window_seconds", "600", "window for counting failures, from the first"},
       integer(&Settings::ban_window_seconds, 1, 86400 * 30)},
      {{"ban_seconds", "600", "length of a source's first ban; each further ban doubles it"},
       integer(&Settings::ban_seconds, 1, 86400 * 30)},
      {{"ban_max_seconds", "86400", "longest ban; a source without ban or failure for this long is forgotten"},
       integer(&Settings::ban_max_seconds, 1, 86400 * 365)},
      {{"ban_safelist", "", "comma-separated source addresses (or IPv6 /64 blocks) that are never banned"},
       [](Settings& s, const std::string& v) {
         s.ban_safelist.clear();
         std::stringstream ss(v);
         std::string item;
         while (std::getline(ss, item, ','))
           if (!item.empty()) s.ban_safelist.push_back(item);
         return true;
       }},
      {{"http_header_timeout_seconds", "10", "seconds an HTTP client has for a request's line and headers (also the bound on each read and write)"},
       integer(&Settings::http_header_timeout_seconds, 1, 600)},
      {{"http_body_timeout_seconds", "10", "seconds an HTTP client has for a request's body, once its headers are in"},
       integer(&Settings::http_body_timeout_seconds, 1, 600)},
      {{"http_max_connections_per_source", "8", "concurrent HTTP connections per source address (IPv6: per /64)"},
       integer(&Settings::http_max_connections_per_source, 1, 1000)},
      {{"max_file_size", "4294967296", "largest single upload in bytes, per municipality"},
       integer(&Settings::max_file_size, 1, int64_t(1) << 50)},
      {{"max_files_per_day", "10000", "uploads per municipality per UTC day"},
       integer(&Settings::max_files_per_day, 1, int64_t(1) << 40)},
      {{"max_bytes_per_day", "68719476736", "bytes uploaded per municipality per UTC day"},
       integer(&Settings::max_bytes_per_day, 1, int64_t(1) << 60)},
      {{"max_open_handles", "64", "open SFTP file/dir handles per session"},
       integer(&Settings::max_open_handles, 1, 1024)},
      {{"max_temp_uploads", "16", "uploads under a temporary name (.part, .filepart, ...) a session keeps before renaming them"},
       integer(&Settings::max_temp_uploads, 0, 1024)},
      {{"max_write_gap", "268435456", "how far beyond the bytes received so far a WRITE may start (bytes); no sparse uploads"},
       integer(&Settings::max_write_gap, 0, int64_t(1) << 40)},
      {{"workers", "4", "intake worker processes serve starts (0 = run `knooppunt worker` separately)"},
       integer(&Settings::workers, 0, 64)},
      {{"intake_rotation_grace_days", "14", "days the previous intake identity still opens packages after `keys rotate`"},
       integer(&Settings::intake_rotation_grace_days, 0, 3650)},
      {{"case_capacity_per_year", "500", "cases the hub can take for enrichment per calendar year (queue take)"},
       integer(&Settings::case_capacity_per_year, 0, 1000000)},
      {{"smtp_host", "",
        "mail server for notifications of new outbox items (empty = send none; they wait)"},
       [](Settings& s, const std::string& v) {
         return printable_word(v) && (s.smtp_host = v, true);
       }},
      {{"smtp_port", "25", "mail server port"}, integer(&Settings::smtp_port, 1, 65535)},
      {{"smtp_sender", "knooppunt@localhost", "From address of notification mail"},
       [](Settings& s, const std::string& v) {
         return printable_word(v) && v.find('@') != std::string::npos && (s.smtp_sender = v, true);
       }},
      {{"smtp_starttls", "yes",
        "yes = require STARTTLS with a verified certificate (never falls back to plaintext)"},
       yes_no(&Settings::smtp_starttls)},
      {{"smtp_timeout_seconds", "10",
        "seconds for connecting to the mail server and for each reply"},
       integer(&Settings::smtp_timeout_seconds, 1, 300)},
      {{"smtp_ca_file", "",
        "PEM file of the CA that signed the mail server's certificate (empty = system CAs)"},
       [](Settings& s, const std::string& v) { return (s.smtp_ca_file = v, true); }},
      {{"notify_max_attempts", "12", "delivery attempts per notification before it is given up"},
       integer(&Settings::notify_max_attempts, 1, 100)},
      {{"notify_retry_seconds", "30",
        "wait after the first failed attempt; doubles after each further one"},
       integer(&Settings::notify_retry_seconds, 1, 86400)},
      {{"notify_retry_max_seconds", "3600", "longest wait between two attempts"},
       integer(&Settings::notify_retry_max_seconds, 1, 7 * 86400)},
      // Retention (GDPR: keep no longer than needed). Each period starts when
      // the item stops being needed; policy/retention.h has the rules.
      {{"retention_inbox", "7d",
        "how long an upload's original stays in the inbox after it was accepted (the queue holds "
        "the resealed copy)"},
       duration(&Settings::retention_inbox_seconds, 1, kMaxRetentionSeconds)},
      {{"retention_quarantine", "30d",
        "how long a rejected upload stays in quarantine after its verdict"},
       duration(&Settings::retention_quarantine_seconds, 1, kMaxRetentionSeconds)},
      {{"retention_queue", "90d",
        "how long a case's queued package and its enrichment replies stay after the case was "
        "closed or declined"},
       duration(&Settings::retention_queue_seconds, 1, kMaxRetentionSeconds)},
      {{"retention_outbox", "30d",
        "how long a SIP, enrichment request or notice stays in the archive after the municipality "
        "acknowledged it"},
       duration(&Settings::retention_outbox_seconds, 1, kMaxRetentionSeconds)},
      {{"retention_receipts", "365d",
        "how long a receipt (archived file, signature and the hub's stored copy) stays after it "
        "was acknowledged"},
       duration(&Settings::retention_receipts_seconds, 1, kMaxRetentionSeconds)},
      {{"retention_audit_log", "1827d",
        "how long transfer-log records must be kept; shown by `retention show`, never deleted "
        "automatically"},
       duration(&Settings::retention_audit_log_seconds, 1, kMaxRetentionSeconds)},
      {{"retention_sweep_interval", "1m",
        "how often workers look for expired items (and once at start)"},
       duration(&Settings::retention_sweep_interval_seconds, 1, 86400)},
      {{"parser_timeout", "5m",
        "how long the sandboxed parser of one package may run before the package is refused "
        "(package-parser-timeout)"},
       duration(&Settings::parser_timeout_seconds, 1, 86400)},
      // eHerkenning: the SAML service provider on the HTTP endpoint.
      {{"eherkenning_broker_metadata", "",
        "the eHerkenning broker's SAML metadata file (empty = no eHerkenning login)"},
       [](Settings& s, const std::string& v) { return (s.eherkenning_broker_metadata = v, true); }},
      {{"eherkenning_entity_id", "", "our SAML entity id as registered with the broker"},
       [](Settings& s, const std::string& v) { return printable_word(v) && (s.eherkenning_entity_id = v, true); }},
      {{"eherkenning_base_url", "",
        "the public URL of the HTTP endpoint (https://host); the broker posts to BASE/eherkenning/acs"},
       [](Settings& s, const std::string& v) {
         return printable_word(v) && (v.empty() || v.rfind("https://", 0) == 0 || v.rfind("http://", 0) == 0) &&
                (s.eherkenning_base_url = v, true);
       }},
      {{"eherkenning_service_id", "", "the eHerkenning ServiceID of the service we requested"},
       [](Settings& s, const std::string& v) { return printable_word(v) && (s.eherkenning_service_id = v, true); }},
      {{"eherkenning_service_uuid", "", "the eHerkenning ServiceUUID of that service"},
       [](Settings& s, const std::string& v) { return printable_word(v) && (s.eherkenning_service_uuid = v, true); }},
      {{"eherkenning_min_level", "loa3", "lowest assurance level accepted: loa3 or loa4"},
       [](Settings& s, const std::string& v) {
         return (v == "loa3" || v == "loa4") && (s.eherkenning_min_level = v, true);
       }},
      {{"eherkenning_clock_skew", "2m", "clock difference allowed when checking an assertion's time window"},
       duration(&Settings::eherkenning_clock_skew_seconds, 1, 600)},
      {{"eherkenning_mandate_period", "365d",
        "how long a mandate learned from an eHerkenning login stays valid without a fresh login"},
       duration(&Settings::eherkenning_mandate_period_seconds, 3600, kMaxRetentionSeconds)},
      {{"eherkenning_certificate_validity", "12h",
        "how long an SSH user certificate issued after an eHerkenning login is valid (never beyond the mandate)"},
       duration(&Settings::eherkenning_certificate_validity_seconds, 60, 7 * 86400)},
      {{"eherkenning_contact_confirm_validity", "24h",
        "how long the link mailed to confirm an eHerkenning person's e-mail address works, from the mail"},
       duration(&Settings::eherkenning_contact_confirm_validity_seconds, 60, 7 * 86400)},
      {{"witnesses", "",
        "comma-separated witnesses of the transfer log, each `URL VKEY` (http://host:port and the "
        "witness's cosigner key); workers ask each to cosign every checkpoint"},
       [](Settings& s, const std::string& v) {
         s.witnesses.clear();
         std::stringstream ss(v);
         std::string item;
         while (std::getline(ss, item, ',')) {
           const std::size_t a = item.find_first_not_of(' '), b = item.find_last_not_of(' ');
           if (a == std::string::npos) continue;
           item = item.substr(a, b - a + 1);
           const std::size_t sp = item.find(' ');
           if (item.rfind("http://", 0) != 0 || sp == std::string::npos ||
               item.find_first_not_of(' ', sp) == std::string::npos)
             return false;
           s.witnesses.push_back(item);
         }
         return true;
       }},
      {{"witness_quorum", "0",
        "cosignatures a checkpoint needs before `audit proof` cites it and receipts get a proof against it "
        "(NAME.receipt.tlog-proof; 0 = the log's signature alone)"},
       integer(&Settings::witness_quorum, 0, 100)},
      {{"intake_max_attempts", "5",
        "failed attempts to process an upload or staff submission before it is rejected with "
        "intake-failed (a full disk waits and does not count)"},
       integer(&Settings::intake_max_attempts, 1, 100)},
      {{"intake_retry", "30s", "wait after a failed attempt before the next; doubles after each further one"},
       duration(&Settings::intake_retry_seconds, 1, 86400)},
      {{"intake_retry_max", "15m", "longest wait between two attempts"},
       duration(&Settings::intake_retry_max_seconds, 1, 7 * 86400)},
      {{"health_min_free_bytes", "1073741824",
        "/healthz fails (disk) when less than this many bytes are free on the data directory's file system"},
       integer(&Settings::health_min_free_bytes, 0, int64_t(1) << 60)},
      {{"health_checkpoint_max_age", "5m",
        "/healthz fails (checkpoint) when a transfer-log record has waited longer than this for a signed checkpoint"},
       duration(&Settings::health_checkpoint_max_age_seconds, 1, 30 * 86400)},
      {{"staff_warning_interval", "1h",
        "while no staff member with an age recipient is registered, serve warns at start and this often"},
       duration(&Settings::staff_warning_interval_seconds, 1, 30 * 86400)},
      {{"hub_key_grace", "14d",
        "after `keys rotate --hub`: how long the replaced hub key stays published and accepted on hub-signed "
        "submissions made before the rotation"},
       duration(&Settings::hub_key_grace_seconds, 0, 3650 * 86400LL)},
      {{"log_key_grace", "14d",
        "after `keys rotate --log`: how long the replaced log key cosigns every new checkpoint, so witnesses "
        "and monitors holding it keep verifying while they switch"},
       duration(&Settings::log_key_grace_seconds, 0, 3650 * 86400LL)},
      {{"host_name", "", "the gateway's host name as clients reach it (known_hosts line of `keys show`, default "
                         "log origin); empty = the listen address, or the machine's name for a wildcard address"},
       [](Settings& s, const std::string& v) { return printable_word(v) && (s.host_name = v, true); }},
      {{"log_origin", "",
        "the transfer log's checkpoint origin; empty = the one fixed at init (<host name>/transfer-log); cannot "
        "change once the log has records"},
       [](Settings& s, const std::string& v) {
         return printable_word(v) && v.find('+') == std::string::npos && (s.log_origin = v, true);
       }},
  };
  return table;
}

}  // namespace

Result<int64_t> parse_duration(std::string_view text) {
  auto bad = [&] {
    return make_error("usage", "bad duration '" + std::string(text) +
                                   "' (want a whole number and d, h, m or s: 30d, 12h, 15m, 10s)");
  };
  if (text.size() < 2) return bad();
  int64_t unit = 0;
  switch (text.back()) {
    case 'd':
      unit = 86400;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'm':
      unit = 60;
      break;
    case 's':
      unit = 1;
      break;
    default:
      return bad();
  }
  std::string_view digits = text.substr(0, text.size() - 1);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return bad();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || p != digits.data() + digits.size()) return bad();
  if (n > std::numeric_limits<int64_t>::max() / unit) return bad();
  return n * unit;
}

std::string format_duration(int64_t seconds) {
  for (auto [unit, suffix] : {std::pair<int64_t, const char*>{86400, "d"}, {3600, "h"}, {60, "m"}})
    if (seconds != 0 && seconds % unit == 0) return std::to_string(seconds / unit) + suffix;
  return std::to_string(seconds) + "s";
}

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
