// Contact details checks; see contact.h.
#include "policy/contact.h"

#include "common/utf8.h"

namespace kp::policy {

namespace {

std::string_view trimmed(std::string_view s) {
  const char* space = " \t\r\n";
  std::size_t b = s.find_first_not_of(space);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(space) - b + 1);
}

bool local_char(char c) {
  if (c <= ' ' || c >= 0x7f) return false;  // spaces, controls, non-ASCII
  return std::string_view("<>()[],;:\\\"").find(c) == std::string_view::npos;
}

bool domain_ok(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  int labels = 0;
  std::size_t pos = 0;
  while (pos <= d.size()) {
    std::size_t end = d.find('.', pos);
    if (end == std::string_view::npos) end = d.size();
    std::string_view label = d.substr(pos, end - pos);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
        return false;
    ++labels;
    pos = end + 1;
  }
  return labels >= 2;
}

}  // namespace

Result<std::string> check_contact_name(std::string_view raw) {
  std::string_view name = trimmed(raw);
  KP_ENSURE(!name.empty(), "contact-name-missing", "the name is empty");
  KP_ENSURE(name.size() <= kMaxContactName, "contact-name-too-long",
            "the name has " + std::to_string(name.size()) + " bytes, more than " +
                std::to_string(kMaxContactName));
  KP_ENSURE(is_strict_utf8(name), "contact-name-invalid", "the name is not UTF-8");
  std::u32string cps;
  (void)decode_utf8(name, cps);
  for (char32_t c : cps)
    KP_ENSURE(c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0) && c != 0x2028 && c != 0x2029,
              "contact-name-invalid", "the name holds a control character");
  return std::string(name);
}

Result<std::string> check_email_address(std::string_view raw) {
  std::string_view email = trimmed(raw);
  KP_ENSURE(email.size() <= kMaxEmail, "email-too-long",
            "the address has " + std::to_string(email.size()) + " bytes, more than " +
                std::to_string(kMaxEmail));
  std::size_t at = email.find('@');
  KP_ENSURE(at != std::string_view::npos && email.find('@', at + 1) == std::string_view::npos,
            "email-invalid", "an address has exactly one @");
  std::string_view local = email.substr(0, at);
  KP_ENSURE(!local.empty() && local.size() <= 64 && local.front() != '.' && local.back() != '.' &&
                local.find("..") == std::string_view::npos,
            "email-invalid", "the part before the @ is empty, too long or has misplaced dots");
  for (char c : local)
    KP_ENSURE(local_char(c), "email-invalid", "the part before the @ has a character not allowed");
  KP_ENSURE(domain_ok(email.substr(at + 1)), "email-invalid",
            "the part after the @ is not a domain name");
  return std::string(email);
}

}  // namespace kp::policy
