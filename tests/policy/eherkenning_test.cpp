// Unit tests for policy/eherkenning.h: levels, organisation qualifiers, the
// shape checks on login facts and the person id of a pseudonym.
#include "policy/eherkenning.h"

#include <doctest/doctest.h>

#include "policy/identifiers.h"

using namespace kp;
using namespace kp::policy;

namespace {

LoginFacts good() {
  LoginFacts f;
  f.assertion_id = "_a1";
  f.expires_ms = 1;
  f.level = "urn:etoegang:core:assurance-class:loa3";
  f.org_kind = "kvk";
  f.org_number = "12345678";
  f.pseudonym = "pseudo";
  return f;
}

}  // namespace

TEST_CASE("eherkenning: class refs map to levels, nothing else does") {
  CHECK(level_of_class_ref("urn:etoegang:core:assurance-class:loa2") == Level::EH2);
  CHECK(level_of_class_ref("urn:etoegang:core:assurance-class:loa2plus") == Level::EH2Plus);
  CHECK(level_of_class_ref("urn:etoegang:core:assurance-class:loa3") == Level::EH3);
  CHECK(level_of_class_ref("urn:etoegang:core:assurance-class:loa4") == Level::EH4);
  CHECK(!level_of_class_ref("urn:etoegang:core:assurance-class:loa5"));
  CHECK(!level_of_class_ref("loa3"));
  CHECK(!level_of_class_ref("urn:oasis:names:tc:SAML:2.0:ac:classes:Password"));
  CHECK(org_kind_of_qualifier("urn:etoegang:1.9:EntityConcernedID:KvKnr") == "kvk");
  CHECK(org_kind_of_qualifier("urn:etoegang:1.9:EntityConcernedID:RSIN") == "rsin");
  CHECK(!org_kind_of_qualifier("urn:etoegang:1.9:EntityConcernedID:Pseudo"));
}

TEST_CASE("eherkenning: login facts are checked, each failure with its code") {
  CHECK(check_login_facts(good(), Level::EH3).ok());
  auto code = [](LoginFacts f, Level min = Level::EH3) {
    auto s = check_login_facts(f, min);
    return s.ok() ? std::string() : s.error().code;
  };
  LoginFacts f = good();
  f.level = "urn:etoegang:core:assurance-class:loa2";
  CHECK(code(f) == "eh-level-too-low");
  CHECK(code(good(), Level::EH4) == "eh-level-too-low");
  f = good();
  f.level = "nonsense";
  CHECK(code(f) == "eh-level-too-low");
  f = good();
  f.org_number = "1234567";
  CHECK(code(f) == "eh-organisation-invalid");
  f = good();
  f.org_kind = "rsin";
  f.org_number = "002564440";
  CHECK(code(f).empty());
  f.org_number = "002564441";
  CHECK(code(f) == "eh-organisation-invalid");
  f = good();
  f.pseudonym = "has space";
  CHECK(code(f) == "eh-pseudonym-invalid");
  f.pseudonym = std::string(kMaxPseudonymBytes + 1, 'p');
  CHECK(code(f) == "eh-pseudonym-invalid");
  f = good();
  f.intermediary = "x";
  CHECK(code(f) == "eh-intermediary-invalid");
  f = good();
  f.assertion_id = "";
  CHECK(code(f) == "eh-assertion-invalid");
}

TEST_CASE("eherkenning: a pseudonym's person id is a stable, valid account id") {
  std::string id = person_id_for_pseudonym("pseudo");
  CHECK(id.size() == 27);
  CHECK(id.rfind("eh-", 0) == 0);
  CHECK(valid_account_id(id));
  CHECK(id == person_id_for_pseudonym("pseudo"));
  CHECK(id != person_id_for_pseudonym("pseudo2"));
}
