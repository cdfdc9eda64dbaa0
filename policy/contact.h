// A person's contact details as typed into the eHerkenning page: the name
// and e-mail address that notifications use. Pure checks, run by the HTTP
// monitor (gateway/eherkenning_monitor.h) before anything is stored.
//
// Refusal codes, each a sentence on the page (gateway/eherkenning_web.cpp):
//   contact-name-missing   empty, or only spaces
//   contact-name-too-long  more than kMaxContactName bytes
//   contact-name-invalid   not strict UTF-8, or a control character
//   email-too-long         more than kMaxEmail bytes (RFC 5321's path limit)
//   email-invalid          not local@domain with exactly one @: the local
//                          part 1..64 printable ASCII characters without
//                          spaces or <>()[],;:\"; the domain two or more
//                          dot-separated labels of letters, digits and
//                          inner hyphens (an internationalised domain in its
//                          xn-- form)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kp::policy {

inline constexpr std::size_t kMaxContactName = 128;
inline constexpr std::size_t kMaxEmail = 254;

// The name with spaces around it removed, when it passes; else the code.
Result<std::string> check_contact_name(std::string_view name);

// The address with spaces around it removed, when it passes; else the code.
Result<std::string> check_email_address(std::string_view email);

}  // namespace kp::policy
