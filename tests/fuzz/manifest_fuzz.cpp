// libFuzzer target for policy/manifest.h: the signal manifest a
// municipality signs and the hub's own SIP/request manifests. Every input
// is parsed or refused with a code, never a crash.
#include "policy/manifest.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  kp::fuzz::Split in = kp::fuzz::split(data, size);
  kp::policy::ManifestLimits small;
  if (in.mode & 1) {
    auto m = kp::policy::parse_hub_manifest(in.str(), small);
    if (!m.ok()) FUZZ_ASSERT(!m.error().code.empty());
  } else {
    auto m = kp::policy::parse_manifest(in.str(), small);
    if (!m.ok()) FUZZ_ASSERT(!m.error().code.empty());
  }
  return 0;
}
