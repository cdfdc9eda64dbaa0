// libFuzzer target for workers/parser_wire.h: the intake worker (which holds
// the intake identity) decodes the answer of the parser child, code that
// has parsed hostile bytes; the child decodes its job. Both decoders must
// refuse with their one code or accept something that re-encodes to an
// answer that decodes again.
#include <vector>

#include "policy/package_rules.h"
#include "tests/fuzz/fuzz.h"
#include "workers/parser_wire.h"

using namespace kp::workers::parser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  kp::fuzz::Split in = kp::fuzz::split(data, size);
  if (in.mode & 1) {
    auto job = decode_job(in.span());
    if (job.ok()) {
      std::vector<uint8_t> again = encode_job(*job);
      auto job2 = decode_job(again);
      FUZZ_ASSERT(job2.ok() && job2->header_bytes == job->header_bytes &&
                  job2->payload_offset == job->payload_offset && job2->reseal_to == job->reseal_to);
    } else {
      FUZZ_ASSERT(job.error().code == "parser-bad-job");
    }
    return 0;
  }
  kp::policy::PackageRules rules;
  rules.max_manifest_bytes = 4096;
  rules.max_signature_bytes = 1024;
  rules.max_entries = 16;
  auto a = decode_answer(in.span(), rules);
  if (a.ok()) {
    FUZZ_ASSERT(in.size <= max_answer(rules));
    std::vector<uint8_t> again = encode_answer(*a);
    auto a2 = decode_answer(again, rules);
    FUZZ_ASSERT(a2.ok() && a2->rejection.has_value() == a->rejection.has_value() &&
                a2->package.files.size() == a->package.files.size() &&
                a2->package.manifest == a->package.manifest);
  } else {
    FUZZ_ASSERT(a.error().code == "package-parser-bad-answer");
  }
  return 0;
}
