// Entry point of the `knooppunt` command; see cli/commands.h.
#include "cli/commands.h"

int main(int argc, char** argv) { return kp::cli::run(argc, argv); }
