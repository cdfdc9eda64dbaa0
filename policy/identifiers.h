// Identifier checks: account ids, municipality codes, BSN, KvK, AGB.
//
// Nothing from a client becomes part of a host path or a lookup key without
// passing one of these. They are pure functions with no I/O.
#pragma once

#include <string_view>

namespace kp::policy {

// Person, staff and auditor ids: ^[a-z0-9][a-z0-9._-]{0,63}$
bool valid_account_id(std::string_view id);

// CBS municipality code: "GM" followed by exactly 4 digits.
bool valid_municipality_code(std::string_view code);

// BSN: 9 digits passing the 11-test (sum of d_i * (9..2) - d_9 divisible by 11), not all zero.
bool valid_bsn(std::string_view bsn);

// KvK number: exactly 8 digits.
bool valid_kvk(std::string_view kvk);

// AGB code: exactly 8 digits.
bool valid_agb(std::string_view agb);

}  // namespace kp::policy
