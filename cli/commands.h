// The `knooppunt` command: subcommand dispatch.
#pragma once

namespace kp::cli {

// Runs the command line. Returns the process exit status: 0 success,
// 1 refused or failed (one line on stderr), 2 bad usage.
int run(int argc, char** argv);

}  // namespace kp::cli
