// libFuzzer target for common/settings.h: the settings file (read by every
// worker at every sweep) and the duration syntax. Any input is refused or
// loaded, never a crash; a duration that parses formats to the same value.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "common/settings.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  kp::fuzz::Split in = kp::fuzz::split(data, size);
  if (in.mode % 2 == 0) {
    auto d = kp::parse_duration(in.str());
    if (d.ok()) {
      auto again = kp::parse_duration(kp::format_duration(*d));
      FUZZ_ASSERT(again.ok() && *again == *d);
    }
    return 0;
  }
  int fd = memfd_create("settings", 0);
  FUZZ_ASSERT(fd >= 0);
  FUZZ_ASSERT(write(fd, in.data, in.size) == static_cast<ssize_t>(in.size));
  auto s = kp::load_settings("/proc/self/fd/" + std::to_string(fd));
  if (!s.ok()) FUZZ_ASSERT(!s.error().code.empty());
  close(fd);
  return 0;
}
