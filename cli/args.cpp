// Command-line parsing; see args.h.
#include "cli/args.h"

namespace kp::cli {

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values.find(flag);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& flag, const std::string& fallback) const {
  auto v = get(flag);
  return v ? *v : fallback;
}

Result<Args> parse_args(const std::vector<std::string>& argv, const ArgSpec& spec) {
  Args a;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    bool long_flag = arg.size() > 2 && arg.compare(0, 2, "--") == 0;
    bool short_flag = arg.size() == 2 && arg[0] == '-' && arg[1] != '-';
    if (long_flag || short_flag) {
      std::string flag = arg, value;
      bool inline_value = false;
      if (auto eq = arg.find('='); eq != std::string::npos) {
        flag = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inline_value = true;
      }
      if (spec.bool_flags.count(flag)) {
        KP_ENSURE(!inline_value, "usage", flag + " takes no value");
        a.bools.insert(flag);
      } else if (spec.value_flags.count(flag)) {
        if (!inline_value) {
          KP_ENSURE(i + 1 < argv.size(), "usage", flag + " needs a value");
          value = argv[++i];
        }
        KP_ENSURE(!a.values.count(flag), "usage", flag + " given twice");
        a.values[flag] = value;
      } else {
        return make_error("usage", "unknown option " + flag);
      }
    } else {
      a.positional.push_back(arg);
    }
  }
  KP_ENSURE(a.positional.size() >= spec.min_positional, "usage", "missing argument");
  KP_ENSURE(a.positional.size() <= spec.max_positional, "usage",
            "unexpected argument '" + (a.positional.empty() ? std::string() : a.positional.back()) + "'");
  return a;
}

}  // namespace kp::cli
