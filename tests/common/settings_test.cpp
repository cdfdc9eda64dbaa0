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
