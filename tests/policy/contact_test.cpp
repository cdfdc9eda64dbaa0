// Unit tests for policy/contact.h: names and e-mail addresses from the
// eHerkenning page, each refusal with its code.
#include "policy/contact.h"

#include <doctest/doctest.h>

using namespace kp;

TEST_CASE("contact: names") {
  CHECK(policy::check_contact_name("  Anna de Vries \r\n").value() == "Anna de Vries");
  CHECK(policy::check_contact_name("Zoë Çelik-Ŋ").ok());
  CHECK(policy::check_contact_name(std::string(policy::kMaxContactName, 'a')).ok());
  CHECK(policy::check_contact_name("").error().code == "contact-name-missing");
  CHECK(policy::check_contact_name(" \t ").error().code == "contact-name-missing");
  CHECK(policy::check_contact_name(std::string(policy::kMaxContactName + 1, 'a')).error().code ==
        "contact-name-too-long");
  CHECK(policy::check_contact_name("Anna\nBcc: x").error().code == "contact-name-invalid");
  CHECK(policy::check_contact_name("An\x7fna").error().code == "contact-name-invalid");
  CHECK(policy::check_contact_name("An\xc2\x85na").error().code ==
        "contact-name-invalid");  // U+0085
  CHECK(policy::check_contact_name("An\xc3na").error().code ==
        "contact-name-invalid");  // truncated
  CHECK(policy::check_contact_name("\xc0\xaf").error().code == "contact-name-invalid");  // overlong
  CHECK(policy::check_contact_name("\xed\xa0\x80").error().code ==
        "contact-name-invalid");  // surrogate
}

TEST_CASE("contact: e-mail addresses") {
  for (const char* ok :
       {"anna@gemeente.nl", "a.de-vries+eh@sub.gemeente-x.nl", "x@xn--bcher-kva.example"})
    CHECK_MESSAGE(policy::check_email_address(ok).ok(), ok);
  CHECK(policy::check_email_address(" anna@gemeente.nl ").value() == "anna@gemeente.nl");
  for (const char* bad : {"",
                          "anna",
                          "anna@",
                          "@gemeente.nl",
                          "anna@@gemeente.nl",
                          "a@b@gemeente.nl",
                          "anna@gemeente",
                          "anna@-x.nl",
                          "anna@x-.nl",
                          "anna@x..nl",
                          "an na@gemeente.nl",
                          "anna@gemeen te.nl",
                          "<anna@gemeente.nl>",
                          "anna@gemeente.nl\r\nBcc: x@y.nl",
                          ".anna@gemeente.nl",
                          "an..na@gemeente.nl",
                          "anna\"@gemeente.nl",
                          "zoë@gemeente.nl",
                          "anna@bücher.nl",
                          "anna@gemeente.nl."})
    CHECK_MESSAGE(policy::check_email_address(bad).error().code == "email-invalid", bad);
  CHECK(policy::check_email_address(std::string(65, 'a') + "@gemeente.nl").error().code ==
        "email-invalid");
  CHECK(policy::check_email_address("a@" + std::string(250, 'b') + ".nl").error().code ==
        "email-too-long");
}
