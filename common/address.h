// Source addresses as the ban rules see them (OpenSSH's PerSourcePenalties
// groups the same way): an IPv4 address stands for itself, an IPv6 address
// for its /64 (one customer's network; an attacker gets a whole /64 for
// free), an IPv4-mapped IPv6 address for the IPv4 address.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kp {

// The block `address` belongs to: "192.0.2.7", "2001:db8:1:2::/64". A block
// given as such ("2001:db8:1:2::/64", any spelling) is returned in that
// form. Nothing when `address` is neither.
std::optional<std::string> source_block(std::string_view address);

// Whether `address` or its block is on `list` (addresses or blocks, any
// spelling: each entry is compared as its block).
bool block_listed(const std::vector<std::string>& list, std::string_view address);

}  // namespace kp
