// A small, strict command-line parser for the subcommands.
//
// Each subcommand declares which --flags it takes (and whether each takes a
// value) and how many positional arguments; anything else is a usage error
// (exit status 2) naming the offending argument.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace kp::cli {

struct ArgSpec {
  std::set<std::string> value_flags;  // e.g. "--data", "--name"
  std::set<std::string> bool_flags;   // e.g. "--json"
  std::size_t min_positional = 0;
  std::size_t max_positional = 0;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> bools;

  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  bool has(const std::string& flag) const { return bools.count(flag) > 0; }
};

// Parses argv[first..]; "--flag=value" and "--flag value" both work.
// Error code "usage" with the reason.
Result<Args> parse_args(const std::vector<std::string>& argv, const ArgSpec& spec);

}  // namespace kp::cli
