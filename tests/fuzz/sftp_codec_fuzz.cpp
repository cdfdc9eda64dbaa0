// libFuzzer target for gateway/sftp_codec.h: the framer and the request
// decoder see every byte a client can send, so they must never crash, read
// out of bounds or accept a packet they cannot re-encode consistently.
//
// Not named *_test.cpp, so it stays out of the unit_tests binary; built and
// run with the other targets by scripts/fuzz (tests/fuzz/fuzz.cmake).
//
// What it checks, for each input:
//   1. The whole input as a stream through Framer (fed in uneven pieces) and
//      through frame_one must yield the same packets or the same error.
//   2. Every packet body decodes or is refused; never both, never a crash.
//   3. A decoded request's views lie inside its body, and its caps hold.
//   4. Encoders fed decoded values produce well-formed framed packets.
//   5. Every decoded path that canonicalises (gateway/vpath.h) gives a VPath
//      of depth <= 2 whose components are never "", "." or ".." and hold no
//      '/', and canonicalising its str() again gives the same VPath.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "gateway/sftp_codec.h"
#include "gateway/vpath.h"

using namespace kp::sftp;

namespace {

#define FUZZ_ASSERT(cond)      \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_path(std::string_view p) {
  auto v = kp::canonicalise(p);
  if (!v.ok()) return;
  FUZZ_ASSERT(v->depth() <= kp::VPath::kMaxDepth);
  for (std::string_view c : {v->area(), v->name()}) {
    if (c.empty()) continue;
    FUZZ_ASSERT(c != "." && c != ".." && c.find('/') == std::string_view::npos);
    FUZZ_ASSERT(c.find('\0') == std::string_view::npos && c.size() <= 255);
  }
  FUZZ_ASSERT((v->depth() >= 1) == !v->area().empty());
  FUZZ_ASSERT((v->depth() == 2) == !v->name().empty());
  auto again = kp::canonicalise(v->str());
  FUZZ_ASSERT(again.ok() && *again == *v);
}

void check_request(std::string_view body) {
  auto r = decode_request(body);
  if (!r.ok()) {
    FUZZ_ASSERT(r.error().code == "sftp-bad-message");
    return;
  }
  const Request& q = *r;
  FUZZ_ASSERT(inside(q.path, body) && inside(q.path2, body) && inside(q.handle, body) &&
              inside(q.data, body) && inside(q.ext_name, body));
  FUZZ_ASSERT(q.path.size() <= kMaxPathBytes && q.path2.size() <= kMaxPathBytes);
  FUZZ_ASSERT(q.handle.size() <= kMaxHandleBytes);
  FUZZ_ASSERT(q.data.size() <= kMaxWriteLength);
  FUZZ_ASSERT(q.attrs.extended.size() <= kMaxExtPairs);
  for (const ExtPair& e : q.attrs.extended)
    FUZZ_ASSERT(inside(e.name, body) && inside(e.data, body));

  check_path(q.path);
  check_path(q.path2);

  // Re-encode what was decoded; the packets must be framed consistently.
  std::vector<uint8_t> out;
  encode_attrs(out, q.id, q.attrs);
  encode_status(out, q.id, StatusCode::op_unsupported, q.ext_name);
  encode_handle(out, q.id, q.handle);
  encode_data(out, q.id, q.data);
  NameEntry e{q.path, q.path2, q.attrs};
  encode_name(out, q.id, {&e, 1});
  (void)longname(q.path, q.attrs, q.handle, q.ext_name, 1);
  std::string_view rest(reinterpret_cast<const char*>(out.data()), out.size());
  int packets = 0;
  while (!rest.empty()) {
    std::string_view b;
    auto n = frame_one(rest, b, SIZE_MAX);
    FUZZ_ASSERT(n.ok() && *n > 0);
    rest.remove_prefix(*n);
    ++packets;
  }
  FUZZ_ASSERT(packets == 5);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Reference: frame_one over the whole input.
  std::vector<std::string_view> ref;
  bool ref_failed = false;
  for (std::string_view rest = in;;) {
    std::string_view body;
    auto n = frame_one(rest, body);
    if (!n.ok()) {
      ref_failed = true;
      break;
    }
    if (*n == 0) break;
    ref.push_back(body);
    rest.remove_prefix(*n);
  }

  // The Framer, fed in pieces whose sizes come from the input itself.
  Framer f;
  std::size_t got = 0;
  bool failed = false;
  for (std::size_t pos = 0; pos < size && !failed;) {
    std::size_t piece = 1 + (data[pos] % 97);
    if (piece > size - pos) piece = size - pos;
    f.feed(data + pos, piece);
    pos += piece;
    for (;;) {
      auto b = f.next();
      if (!b.ok()) {
        failed = true;
        break;
      }
      if (b->empty()) break;
      FUZZ_ASSERT(got < ref.size() && *b == ref[got]);
      check_request(*b);
      ++got;
    }
  }
  FUZZ_ASSERT(failed == ref_failed);
  FUZZ_ASSERT(got == ref.size());

  // The raw input as one body too (covers decode without a length prefix).
  if (size > 0) check_request(in);
  // And as a path straight away (a denser search of the path checks).
  check_path(in);
  return 0;
}
