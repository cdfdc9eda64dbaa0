// Source blocks; see address.h.
#include "common/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace kp {

std::optional<std::string> source_block(std::string_view address) {
  if (address.empty() || address.size() > 64) return std::nullopt;
  std::string text(address);
  if (text.size() > 3 && text.compare(text.size() - 3, 3, "/64") == 0) text.resize(text.size() - 3);
  in_addr v4{};
  if (text.size() == address.size() && ::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &v4, buf, sizeof buf);
    return std::string(buf);
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6) && text.size() == address.size()) {
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &v4, buf, sizeof buf);
    return std::string(buf);
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, &v6, buf, sizeof buf);
  return std::string(buf) + "/64";
}

bool block_listed(const std::vector<std::string>& list, std::string_view address) {
  auto block = source_block(address);
  if (!block) return false;
  for (const auto& entry : list)
    if (source_block(entry) == block) return true;
  return false;
}

}  // namespace kp
