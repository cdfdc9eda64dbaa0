// The version `knooppunt --version` prints. Raise it with every release;
// the formats it speaks are versioned separately (docs/formats.md).
#pragma once

#include <string_view>

namespace kp::cli {

inline constexpr std::string_view kVersion = "0.9.0";

}  // namespace kp::cli
