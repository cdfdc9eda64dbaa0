// Entry point of the `knooppunt` command; see cli/commands.h.
#include <clocale>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // File names in packages are UTF-8 (pax headers); libarchive converts
  // through the C library's locale, which must therefore speak UTF-8.
  std::setlocale(LC_CTYPE, "C.UTF-8");
  return kp::cli::run(argc, argv);
}
