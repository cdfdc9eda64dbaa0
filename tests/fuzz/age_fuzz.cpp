// libFuzzer target for keys/age.h: every upload starts with an age header
// the intake worker parses, and the parser child decrypts the STREAM
// payload. The identity is the C2SP CCTV test identity, so the vectors in
// tests/data/age (and the seeds made from them) reach past the header.
//   mode 0: the input decrypted as a whole file, fed in uneven pieces; the
//           plaintext is final only when finish() succeeds; again in
//           batches (a Parallel running each batch's chunks backwards),
//           which must give the same code and the same plaintext, or on an
//           error a prefix of it;
//   mode 1: the input's header opened (age::open_header, the worker's path);
//   mode 2: round trip: the input encrypted to the identity decrypts to
//           itself, and with one byte changed (chosen by the input) it
//           does not decrypt at all;
//   mode 3: the input as identity and recipient strings.
#include <algorithm>
#include <cstring>
#include <string>

#include "keys/age.h"
#include "tests/fuzz/fuzz.h"

using namespace kp::age;

namespace {

const Identity& identity() {
  static const Identity id = [] {
    auto i = parse_identity("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0\n");
    FUZZ_ASSERT(i.ok());
    return std::move(*i);
  }();
  return id;
}

// Runs a batch's steps on the calling thread, last first.
class Backwards : public kp::Parallel {
 public:
  std::size_t width() const override { return 2; }
  void run(std::size_t n, const Step& step) override {
    for (std::size_t i = n; i-- > 0;) step(i, i % 2);
  }
};

kp::Status decrypt(std::string_view file, std::string& out, const uint8_t* split_from, std::size_t split_n,
                   kp::Parallel* parallel = nullptr) {
  auto d = Decryptor::create(
      {&identity()},
      [&](const uint8_t* p, std::size_t n) {
        out.append(reinterpret_cast<const char*>(p), n);
        return kp::ok_status();
      },
      InputFormat::detect, parallel);
  if (!d.ok()) return d.error();
  std::size_t pos = 0, k = 0;
  while (pos < file.size()) {
    std::size_t piece = split_n == 0 ? file.size() : 1 + split_from[k++ % split_n] * 97;
    piece = std::min(piece, file.size() - pos);
    KP_GUARD(d->feed(file.substr(pos, piece)));
    pos += piece;
  }
  return d->finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  kp::fuzz::Split in = kp::fuzz::split(data, size);
  std::string_view s = in.str();
  switch (in.mode % 4) {
    case 0: {
      std::string out;
      auto st = decrypt(s, out, in.data, std::min<std::size_t>(in.size, 8));
      if (!st.ok()) FUZZ_ASSERT(!st.error().code.empty());
      Backwards backwards;
      std::string batched;
      auto bst = decrypt(s, batched, in.data, std::min<std::size_t>(in.size, 8), &backwards);
      FUZZ_ASSERT(bst.ok() == st.ok());
      if (st.ok()) {
        FUZZ_ASSERT(batched == out);
      } else {
        FUZZ_ASSERT(bst.error().code == st.error().code);
        FUZZ_ASSERT(out.compare(0, batched.size(), batched) == 0);
      }
      break;
    }
    case 1: {
      std::size_t pos = 0;
      Source src = [&](uint8_t* buf, std::size_t cap) -> kp::Result<std::size_t> {
        std::size_t n = std::min(cap, s.size() - pos);
        if (n > 0) std::memcpy(buf, s.data() + pos, n);
        pos += n;
        return n;
      };
      auto h = open_header(src, {&identity()});
      if (h.ok()) FUZZ_ASSERT(h->payload_offset == h->header_bytes + kPayloadNonceBytes && h->payload_offset <= s.size());
      break;
    }
    case 2: {
      std::string sealed;
      auto st = encrypt_stream({identity().public_key},
                               [&, pos = std::size_t{0}](uint8_t* buf, std::size_t cap) mutable -> kp::Result<std::size_t> {
                                 std::size_t n = std::min(cap, s.size() - pos);
                                 if (n > 0) std::memcpy(buf, s.data() + pos, n);
                                 pos += n;
                                 return n;
                               },
                               [&](const uint8_t* p, std::size_t n) {
                                 sealed.append(reinterpret_cast<const char*>(p), n);
                                 return kp::ok_status();
                               });
      FUZZ_ASSERT(st.ok());
      std::string out;
      FUZZ_ASSERT(decrypt(sealed, out, nullptr, 0).ok() && out == s);
      if (in.size >= 2) {
        std::size_t at = (static_cast<std::size_t>(in.data[0]) << 8 | in.data[1]) % sealed.size();
        sealed[at] = static_cast<char>(sealed[at] ^ 0x01);
        std::string bad;
        FUZZ_ASSERT(!decrypt(sealed, bad, nullptr, 0).ok());
      }
      break;
    }
    default: {
      auto ids = parse_identities(s);
      if (ids.ok()) {
        for (const Identity& id : *ids) {
          auto again = parse_recipient(recipient_of(id));
          FUZZ_ASSERT(again.ok() && *again == id.public_key);
        }
      }
      auto r = parse_recipient(s);
      if (r.ok()) FUZZ_ASSERT(format_recipient(*r) == s);
    }
  }
  return 0;
}
