// Unit tests for common/settings.h.
#include "common/settings.h"

#include <doctest/doctest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

using namespace kp;

namespace {
std::string write(const testing::TempDir& d, const std::string& text) {
  std::string p = d.path() + "/knooppunt.conf";
  std::ofstream(p) << text;
  return p;
}
}  // namespace

TEST_CASE("settings: the default file loads and lists every setting") {
  testing::TempDir d;
  auto s = load_settings(write(d, default_settings_file()));
  REQUIRE(s.ok());
  CHECK(s->listen == "127.0.0.1:2222");
  for (const auto& info : setting_table())
    CHECK(default_settings_file().find("\n" + info.key + " = ") != std::string::npos);
}

TEST_CASE("settings: unknown keys and bad values are refused by name") {
  testing::TempDir d;
  auto unknown = load_settings(write(d, "max_auth_trys = 3\n"));
  CHECK(unknown.error().code == "settings-unknown-key");
  CHECK(unknown.error().detail.find("max_auth_trys") != std::string::npos);
  auto bad = load_settings(write(d, "max_auth_tries = lots\n"));
  CHECK(bad.error().code == "settings-bad-value");
  CHECK(bad.error().detail.find("max_auth_tries") != std::string::npos);
  CHECK(load_settings(write(d, "max_auth_tries = 0\n")).error().code == "settings-bad-value");
  CHECK(load_settings(write(d, "listen = nowhere\n")).error().code == "settings-bad-value");
  CHECK(load_settings(d.path() + "/absent.conf").error().code == "settings-unreadable");
  auto ok = load_settings(write(d, "ban_safelist = 127.0.0.1,10.0.0.1\nmax_file_size = 5\n"));
  REQUIRE(ok.ok());
  CHECK(ok->ban_safelist.size() == 2);
  CHECK(ok->max_file_size == 5);
}

TEST_CASE("settings: mail settings are checked (they end up in SMTP commands and headers)") {
  testing::TempDir d;
  auto defaults = load_settings(write(d, default_settings_file()));
  REQUIRE(defaults.ok());
  CHECK(defaults->smtp_host.empty());  // notifications are off until a host is set
  CHECK(defaults->smtp_starttls);      // and then require TLS unless told otherwise
  CHECK(load_settings(write(d, "smtp_starttls = maybe\n")).error().code == "settings-bad-value");
  CHECK(load_settings(write(d, "smtp_sender = nobody\n")).error().code == "settings-bad-value");
  CHECK(load_settings(write(d, "smtp_sender = a b@example.org\n")).error().code ==
        "settings-bad-value");
  CHECK(load_settings(write(d, "smtp_host = mail host\n")).error().code == "settings-bad-value");
  CHECK(load_settings(write(d, "smtp_port = 0\n")).error().code == "settings-bad-value");
  CHECK(load_settings(write(d, "notify_max_attempts = 0\n")).error().code == "settings-bad-value");
  auto ok = load_settings(write(d,
                                "smtp_host = mail.example.org\nsmtp_starttls = no\n"
                                "smtp_sender = hub@example.org\nnotify_retry_seconds = 5\n"));
  REQUIRE(ok.ok());
  CHECK(ok->smtp_host == "mail.example.org");
  CHECK_FALSE(ok->smtp_starttls);
  CHECK(ok->smtp_sender == "hub@example.org");
  CHECK(ok->notify_retry_seconds == 5);
}

TEST_CASE("settings: durations take d, h, m or s and nothing else") {
  CHECK(*parse_duration("30d") == 30 * 86400);
  CHECK(*parse_duration("12h") == 12 * 3600);
  CHECK(*parse_duration("15m") == 900);
  CHECK(*parse_duration("10s") == 10);
  CHECK(*parse_duration("0s") == 0);
  for (const char* bad : {"", "d", "30", "30D", "-5d", "+5d", "1.5d", " 5d", "5d ", "5 d", "5w",
                          "99999999999999999999s", "9223372036854775807d", "5dd"})
    CHECK_MESSAGE(parse_duration(bad).error().code == "usage", bad);
  CHECK(format_duration(30 * 86400) == "30d");
  CHECK(format_duration(90) == "90s");
  CHECK(format_duration(120) == "2m");
  CHECK(format_duration(7200) == "2h");
  CHECK(format_duration(0) == "0s");
}

TEST_CASE("settings: retention periods are durations, refused by name when bad") {
  testing::TempDir d;
  auto defaults = load_settings(write(d, default_settings_file()));
  REQUIRE(defaults.ok());
  CHECK(defaults->retention_inbox_seconds == 7 * 86400);
  CHECK(defaults->retention_audit_log_seconds > defaults->retention_receipts_seconds);
  CHECK(defaults->retention_sweep_interval_seconds == 60);
  auto s = load_settings(write(d, "retention_inbox = 10s\nretention_queue = 2h\nretention_sweep_interval = 1s\n"));
  REQUIRE(s.ok());
  CHECK(s->retention_inbox_seconds == 10);
  CHECK(s->retention_queue_seconds == 7200);
  CHECK(s->retention_sweep_interval_seconds == 1);
  for (const char* bad : {"retention_inbox = 7\n", "retention_quarantine = 0s\n",
                          "retention_receipts = soon\n", "retention_outbox = 36526d\n",
                          "retention_sweep_interval = 2d\n", "retention_audit_log = -1d\n"}) {
    auto r = load_settings(write(d, bad));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "settings-bad-value");
    std::string key = std::string(bad).substr(0, std::string(bad).find(' '));
    CHECK_MESSAGE(r.error().detail.find(key) != std::string::npos, bad);
  }
}

TEST_CASE("settings: the health thresholds and the staff warning interval") {
  testing::TempDir d;
  auto defaults = load_settings(write(d, default_settings_file()));
  REQUIRE(defaults.ok());
  CHECK(defaults->health_min_free_bytes == int64_t(1) << 30);
  CHECK(defaults->health_checkpoint_max_age_seconds == 300);
  CHECK(defaults->staff_warning_interval_seconds == 3600);
  auto ok = load_settings(write(d, "health_min_free_bytes = 0\nhealth_checkpoint_max_age = 1s\n"
                                   "staff_warning_interval = 2h\n"));
  REQUIRE(ok.ok());
  CHECK(ok->health_min_free_bytes == 0);
  CHECK(ok->health_checkpoint_max_age_seconds == 1);
  CHECK(ok->staff_warning_interval_seconds == 7200);
  CHECK(load_settings(write(d, "health_min_free_bytes = -1\n")).error().code == "settings-bad-value");
  CHECK(load_settings(write(d, "health_checkpoint_max_age = 0s\n")).error().code == "settings-bad-value");
  CHECK(load_settings(write(d, "staff_warning_interval = 1\n")).error().code == "settings-bad-value");
}
