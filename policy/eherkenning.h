// eHerkenning logins: what a verified SAML assertion says (LoginFacts, the
// bounded facts the sandboxed HTTP process hands the monitor) and the rules
// the monitor applies to them. Pure functions, no I/O.
//
// Levels: AuthnContextClassRef urn:etoegang:core:assurance-class:loa1,
// loa2, loa2plus, loa3, loa4 map to EH1, EH2, EH2+, EH3, EH4
// (policy/mandate.h). The organisation: the LegalSubjectID's NameQualifier
// urn:etoegang:1.9:EntityConcernedID:KvKnr (8 digits) or ...:RSIN (9 digits,
// 11-test). A chain mandate (ketenmachtiging) names the intermediary in
// urn:etoegang:1.9:IntermediateEntityID:KvKnr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "policy/mandate.h"

namespace kp::policy {

inline constexpr std::string_view kLoaPrefix = "urn:etoegang:core:assurance-class:";
inline constexpr std::string_view kLegalSubjectId = "urn:etoegang:core:LegalSubjectID";
inline constexpr std::string_view kActingSubjectId = "urn:etoegang:core:ActingSubjectID";
inline constexpr std::string_view kIntermediateId = "urn:etoegang:1.9:IntermediateEntityID:KvKnr";
inline constexpr std::string_view kKvkQualifier = "urn:etoegang:1.9:EntityConcernedID:KvKnr";
inline constexpr std::string_view kRsinQualifier = "urn:etoegang:1.9:EntityConcernedID:RSIN";

inline constexpr std::size_t kMaxAssertionIdBytes = 256;
inline constexpr std::size_t kMaxPseudonymBytes = 512;

struct LoginFacts {
  std::string assertion_id;   // the assertion's ID (replay cache key)
  int64_t expires_ms = 0;     // its NotOnOrAfter (how long the replay cache keeps it)
  std::string level;          // the AuthnContextClassRef as sent
  std::string org_kind;       // "kvk" or "rsin"
  std::string org_number;     // the LegalSubjectID
  std::string pseudonym;      // the ActingSubjectID
  std::string intermediary;   // KvK number of the chain mandate's intermediary, or ""
  std::string in_response_to;  // the AuthnRequest it answers (InResponseTo), or "" (unsolicited)
};

// The level an AuthnContextClassRef names, or nothing when it names none.
std::optional<Level> level_of_class_ref(std::string_view class_ref);

// The NameQualifier's kind ("kvk", "rsin"), or nothing.
std::optional<std::string> org_kind_of_qualifier(std::string_view qualifier);

// Checks the facts' shape and level (at least `minimum`). Refusal codes:
// "eh-level-too-low" (or no level we know), "eh-organisation-invalid",
// "eh-pseudonym-invalid", "eh-intermediary-invalid", "eh-assertion-invalid".
Status check_login_facts(const LoginFacts& f, Level minimum);

// The account id of the person behind `pseudonym`: "eh-" and 24 hex digits
// of its SHA-256 (a valid account id; the pseudonym itself is kept beside it).
std::string person_id_for_pseudonym(std::string_view pseudonym);

}  // namespace kp::policy
