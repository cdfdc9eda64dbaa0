// Unit tests for policy/mandate.h.
#include "policy/mandate.h"

#include <doctest/doctest.h>

using namespace kp::policy;

namespace {
Mandate live() {
  Mandate m;
  m.person = "j.jansen";
  m.municipality = "GM0363";
  m.scopes = "upload,download";
  m.level = "EH3";
  m.valid_from_ms = 1000;
  m.valid_until_ms = 2000;
  return m;
}
}  // namespace

TEST_CASE("mandate: live mandate passes for both scopes") {
  CHECK(check_mandate(live(), 1500, Scope::upload).ok());
  CHECK(check_mandate(live(), 1500, Scope::download).ok());
  CHECK(check_mandate(live(), 1000, std::nullopt).ok());
}

TEST_CASE("mandate: refusals name their reason") {
  Mandate m = live();
  CHECK(check_mandate(m, 999, std::nullopt).error().code == "mandate-not-yet-valid");
  CHECK(check_mandate(m, 2000, std::nullopt).error().code == "mandate-expired");
  m.revoked_ms = 1200;
  CHECK(check_mandate(m, 1500, std::nullopt).error().code == "mandate-revoked");
  m = live();
  for (const char* low : {"EH1", "EH2", "EH2+", "bogus", ""}) {
    m.level = low;
    CHECK(check_mandate(m, 1500, std::nullopt).error().code == "mandate-level-too-low");
  }
  m = live();
  m.scopes = "download";
  CHECK(check_mandate(m, 1500, Scope::upload).error().code == "mandate-scope-missing");
  CHECK(check_mandate(m, 1500, Scope::download).ok());
}

TEST_CASE("mandate: open-ended mandates and EH4") {
  Mandate m = live();
  m.valid_until_ms.reset();
  m.level = "EH4";
  CHECK(check_mandate(m, 1LL << 50, Scope::upload).ok());
}

TEST_CASE("mandate: scope lists and levels parse strictly") {
  CHECK(*normalise_scopes("upload") == "upload");
  CHECK(*normalise_scopes("download,upload") == "upload,download");
  CHECK_FALSE(normalise_scopes("upload,upload"));
  CHECK_FALSE(normalise_scopes("upload, download"));
  CHECK_FALSE(normalise_scopes(""));
  CHECK_FALSE(normalise_scopes("delete"));
  CHECK(parse_level("EH2+") == Level::EH2Plus);
  CHECK_FALSE(parse_level("eh3"));
  CHECK(*parse_level("EH3") >= kMinimumLevel);
  CHECK(*parse_level("EH2+") < kMinimumLevel);
}
