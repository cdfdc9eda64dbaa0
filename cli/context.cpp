// Shared helpers of the subcommands; see context.h.
#include "cli/context.h"
#include "common/dates.h"

#include "policy/package_rules.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

namespace kp::cli {

int fail(const Error& e) {
  // One line, whatever the message repeats of the user's input.
  std::string line;
  for (unsigned char c : e.message()) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      line += buf;
    } else {
      line.push_back(static_cast<char>(c));
    }
  }
  std::cerr << "knooppunt: " << line << "\n";
  return e.code == "usage" ? kExitUsage : kExitRefused;
}

Result<DataDir> data_dir_of(const Args& a) { return resolve_data_dir(a.get_or("--data", "")); }

Result<store::Db> open_store(const DataDir& d) {
  KP_ENSURE(::access(d.settings().c_str(), F_OK) == 0, "not-initialised",
            d.root + " is not a knooppunt data directory (run `knooppunt init --data " + d.root + "`)");
  return store::Db::open(d.db());
}

std::string format_time(int64_t ms) { return format_utc(ms, "%Y-%m-%dT%H:%M:%SZ"); }

Result<std::string> read_small_file(const std::string& path, std::size_t cap) {
  std::ifstream in(path, std::ios::binary);
  KP_ENSURE(in.good(), "file-unreadable", "cannot read " + path);
  std::string data;
  data.resize(cap + 1);
  in.read(data.data(), static_cast<std::streamsize>(cap + 1));
  data.resize(static_cast<std::size_t>(in.gcount()));
  KP_ENSURE(data.size() <= cap, "file-too-large", path + " is larger than " + std::to_string(cap) + " bytes");
  return data;
}

Result<std::vector<workers::PackageFile>> package_files(const std::vector<std::string>& paths) {
  std::vector<workers::PackageFile> files;
  for (const auto& p : paths) {
    auto slash = p.rfind('/');
    std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
    KP_ENSURE(policy::check_file_name("files/" + name, 255) == policy::NameProblem::none, "file-name-invalid",
              "'" + name + "' cannot be a file name in a package");
    files.push_back({p, "files/" + name});
  }
  return files;
}

}  // namespace kp::cli
