// libFuzzer target for gateway/monitor_wire.h: the privileged session
// monitor decodes every request the sandboxed SFTP child sends, so a
// compromised child controls these bytes. A request or reply that decodes
// must encode to bytes that decode to the same thing again.
#include <vector>

#include "gateway/monitor_wire.h"
#include "tests/fuzz/fuzz.h"

using namespace kp::gateway::monitor;

namespace {

bool same(const Request& a, const Request& b) {
  return a.op == b.op && a.path == b.path && a.path2 == b.path2 && a.token == b.token && a.size == b.size &&
         a.sha256_hex == b.sha256_hex && a.reason == b.reason;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  kp::fuzz::Split in = kp::fuzz::split(data, size);
  auto r = decode_request({data, size});
  if (r.ok()) {
    std::vector<uint8_t> again = encode_request(*r);
    auto r2 = decode_request(again);
    FUZZ_ASSERT(r2.ok() && same(*r, *r2));
  } else {
    FUZZ_ASSERT(r.error().code == "monitor-bad-request");
  }
  // Replies: the child decodes them (hostile only if the monitor is), but a
  // decoder must still hold against anything.
  Op op = static_cast<Op>(in.mode % 16);
  auto rep = decode_reply(op, in.span());
  if (rep.ok()) {
    std::vector<uint8_t> again = encode_reply(op, *rep);
    auto rep2 = decode_reply(op, again);
    FUZZ_ASSERT(rep2.ok() && rep2->token == rep->token && rep2->value == rep->value &&
                rep2->entries.size() == rep->entries.size() && rep2->more == rep->more &&
                rep2->error.has_value() == rep->error.has_value());
  }
  return 0;
}
