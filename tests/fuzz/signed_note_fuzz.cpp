// libFuzzer target for keys/signed_note.h and the checkpoint and proof
// formats of audit/merkle.h: what an auditor's tooling and `audit verify
// --from-checkpoint` read.
//   mode 0: the input as a note: parsed, opened against a key made once per
//           process, and (if it opens) its text as a checkpoint;
//   mode 1: the input as note text: signing succeeds or refuses it, a
//           signed note opens to the same text, a cosignature keeps it so;
//   mode 2: the input as verifier and signer key texts, a checkpoint and a
//           tlog-proof.
#include <string>

#include "audit/merkle.h"
#include "keys/signed_note.h"
#include "tests/fuzz/fuzz.h"

using namespace kp::note;

namespace {

const SignerKey& key(int which) {
  static const SignerKey keys[2] = {[] {
                                      auto g = generate("knooppunt.example/log");
                                      FUZZ_ASSERT(g.ok());
                                      return std::move(*g);
                                    }(),
                                    [] {
                                      auto g = generate("witness.example");
                                      FUZZ_ASSERT(g.ok());
                                      return std::move(*g);
                                    }()};
  return keys[which];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  kp::fuzz::Split in = kp::fuzz::split(data, size);
  std::string_view s = in.str();
  switch (in.mode % 3) {
    case 0: {
      (void)parse(s);
      auto text = open(s, key(0).verifier());
      if (text.ok()) (void)kp::merkle::parse_checkpoint(*text);
      break;
    }
    case 1: {
      auto note = sign(s, key(0));
      if (!note.ok()) break;
      auto text = open(*note, key(0).verifier());
      FUZZ_ASSERT(text.ok() && *text == s);
      auto cosigned = add_signature(*note, key(1));
      FUZZ_ASSERT(cosigned.ok());
      auto both = open(*cosigned, key(0).verifier());
      FUZZ_ASSERT(both.ok() && *both == s);
      auto parsed = parse(*cosigned);
      FUZZ_ASSERT(parsed.ok() && parsed->signatures.size() == 2);
      break;
    }
    default: {
      auto vk = parse_verifier_key(s);
      if (vk.ok()) {
        auto again = parse_verifier_key(format_verifier_key(*vk));
        FUZZ_ASSERT(again.ok() && again->pk == vk->pk && again->name == vk->name);
      }
      (void)parse_signer_key(s);
      auto cp = kp::merkle::parse_checkpoint(s);
      if (cp.ok()) {
        auto text = kp::merkle::format_checkpoint(*cp);
        FUZZ_ASSERT(text.ok());
        auto again = kp::merkle::parse_checkpoint(*text);
        FUZZ_ASSERT(again.ok() && again->size == cp->size && again->root == cp->root && again->origin == cp->origin);
      }
      auto proof = kp::merkle::parse_tlog_proof(s);
      if (proof.ok()) {
        auto text = kp::merkle::format_tlog_proof(*proof);
        if (text.ok()) {
          auto again = kp::merkle::parse_tlog_proof(*text);
          FUZZ_ASSERT(again.ok() && again->index == proof->index && again->hashes == proof->hashes);
        }
        (void)kp::merkle::verify_tlog_proof(*proof, kp::merkle::Hash{}, key(0).verifier(), "knooppunt.example/log");
      }
    }
  }
  return 0;
}
