// What every subcommand that touches a data directory needs: the resolved
// data directory and an open store. Also the shared output helpers, so that
// every command reports the same way (one line on stderr, exit 1).
#pragma once

#include <string>

#include "cli/args.h"
#include "common/datadir.h"
#include "common/dates.h"
#include "common/result.h"
#include "store/db.h"
#include "workers/package.h"

namespace kp::cli {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

// Prints "knooppunt: <code>: <detail>" on stderr; returns 2 for "usage", else 1.
int fail(const Error& e);

// Opens DATA's store; the data directory must have been made by `init`.
Result<store::Db> open_store(const DataDir& d);

// The data directory from --data or KNOOPPUNT_DATA.
Result<DataDir> data_dir_of(const Args& a);

// Formats ms since the epoch as ISO 8601 UTC ("2026-11-22T10:15:03Z").
std::string format_time(int64_t ms);

// Reads a whole (small) file. Errors: "file-unreadable".
Result<std::string> read_small_file(const std::string& path, std::size_t cap);

// The files of a package to build, each as files/<its base name>. Errors:
// "file-name-invalid" (a name a package cannot hold).
Result<std::vector<workers::PackageFile>> package_files(const std::vector<std::string>& paths);

// Checks manifest text with the gateway's rules (signal, SIP or request
// format); returns a one-line description ("knooppunt-signal/1 (signal)
// with 2 file(s)") or the refusal (cli/manifest_commands.cpp).
Result<std::string> check_manifest_text(const std::string& text);

}  // namespace kp::cli
