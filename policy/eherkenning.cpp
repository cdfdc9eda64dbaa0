// eHerkenning login rules; see eherkenning.h.
#include "policy/eherkenning.h"

#include "common/digest.h"
#include "policy/identifiers.h"

namespace kp::policy {

std::optional<Level> level_of_class_ref(std::string_view class_ref) {
  if (class_ref.substr(0, kLoaPrefix.size()) != kLoaPrefix) return std::nullopt;
  std::string_view loa = class_ref.substr(kLoaPrefix.size());
  if (loa == "loa1") return Level::EH1;
  if (loa == "loa2") return Level::EH2;
  if (loa == "loa2plus") return Level::EH2Plus;
  if (loa == "loa3") return Level::EH3;
  if (loa == "loa4") return Level::EH4;
  return std::nullopt;
}

std::optional<std::string> org_kind_of_qualifier(std::string_view qualifier) {
  if (qualifier == kKvkQualifier) return "kvk";
  if (qualifier == kRsinQualifier) return "rsin";
  return std::nullopt;
}

namespace {

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c <= ' ' || c >= 0x7f) return false;
  return true;
}

}  // namespace

Status check_login_facts(const LoginFacts& f, Level minimum) {
  KP_ENSURE(!f.assertion_id.empty() && f.assertion_id.size() <= kMaxAssertionIdBytes && printable(f.assertion_id),
            "eh-assertion-invalid", "the assertion has no usable ID");
  auto level = level_of_class_ref(f.level);
  KP_ENSURE(level && *level >= minimum, "eh-level-too-low",
            "the login's assurance level (" + (level ? level_name(*level) : std::string("unknown")) +
                ") is below " + level_name(minimum));
  bool org_ok = (f.org_kind == "kvk" && valid_kvk(f.org_number)) || (f.org_kind == "rsin" && valid_bsn(f.org_number));
  KP_ENSURE(org_ok, "eh-organisation-invalid", "the represented organisation is not a KvK number or RSIN");
  KP_ENSURE(!f.pseudonym.empty() && f.pseudonym.size() <= kMaxPseudonymBytes && printable(f.pseudonym),
            "eh-pseudonym-invalid", "the acting person's pseudonym is missing or malformed");
  KP_ENSURE(f.intermediary.empty() || valid_kvk(f.intermediary), "eh-intermediary-invalid",
            "the chain mandate's intermediary is not a KvK number");
  return ok_status();
}

std::string person_id_for_pseudonym(std::string_view pseudonym) {
  return "eh-" + to_hex(sha256(pseudonym)).substr(0, 24);
}

}  // namespace kp::policy
