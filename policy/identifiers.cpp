// Identifier checks; see identifiers.h.
#include "policy/identifiers.h"

namespace kp::policy {

namespace {
bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
}  // namespace

bool valid_account_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(id[0])) return false;
  for (char c : id.substr(1))
    if (!lower_digit(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

bool valid_municipality_code(std::string_view code) {
  return code.size() == 6 && code.substr(0, 2) == "GM" && all_digits(code.substr(2));
}

bool valid_bsn(std::string_view bsn) {
  if (bsn.size() != 9 || !all_digits(bsn) || bsn == "000000000") return false;
  int sum = 0;
  for (int i = 0; i < 8; ++i) sum += (bsn[static_cast<std::size_t>(i)] - '0') * (9 - i);
  sum -= bsn[8] - '0';
  return sum % 11 == 0;
}

bool valid_kvk(std::string_view kvk) { return kvk.size() == 8 && all_digits(kvk); }

bool valid_agb(std::string_view agb) { return agb.size() == 8 && all_digits(agb); }

}  // namespace kp::policy
