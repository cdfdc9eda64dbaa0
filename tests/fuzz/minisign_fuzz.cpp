// libFuzzer target for keys/minisign.h: the manifest signatures
// municipalities upload and the keys the operator registers.
//   mode 0: the input as a signature file, verified over a fixed message
//           against a key made once per process;
//   mode 1: the input as a public key file, then as a secret key file;
//   mode 2: the input as a trusted comment and message: signing must
//           succeed or refuse the comment, and what is signed verifies,
//           while the same signature over other bytes does not.
#include <string>

#include "keys/minisign.h"
#include "tests/fuzz/fuzz.h"

using namespace kp::minisign;

namespace {

const SecretKey& key() {
  static const SecretKey k = [] {
    auto g = generate();
    FUZZ_ASSERT(g.ok());
    return std::move(*g);
  }();
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  kp::fuzz::Split in = kp::fuzz::split(data, size);
  std::string_view s = in.str();
  switch (in.mode % 3) {
    case 0: {
      auto sig = parse_signature(s);
      if (sig.ok()) {
        auto again = parse_signature(format_signature(*sig));
        FUZZ_ASSERT(again.ok() && again->sig == sig->sig && again->trusted_comment == sig->trusted_comment);
      }
      auto v = verify(key().public_key(), "message", s);
      if (!v.ok()) FUZZ_ASSERT(!v.error().code.empty());
      break;
    }
    case 1: {
      auto pk = parse_public_key(s);
      if (pk.ok()) {
        auto again = parse_public_key(format_public_key(*pk));
        FUZZ_ASSERT(again.ok() && again->pk == pk->pk && again->key_id == pk->key_id);
      }
      (void)parse_secret_key(s);
      break;
    }
    default: {
      std::size_t cut = s.find('\n');
      std::string_view comment = cut == std::string_view::npos ? s : s.substr(0, cut);
      std::string_view message = cut == std::string_view::npos ? std::string_view() : s.substr(cut + 1);
      auto sig = sign(key(), message, comment);
      if (!sig.ok()) {
        FUZZ_ASSERT(sig.error().code == "comment-invalid");
        break;
      }
      auto v = verify(key().public_key(), message, *sig);
      FUZZ_ASSERT(v.ok() && *v == comment);
      std::string other(message);
      other.push_back('x');
      FUZZ_ASSERT(!verify(key().public_key(), other, *sig).ok());
    }
  }
  return 0;
}
