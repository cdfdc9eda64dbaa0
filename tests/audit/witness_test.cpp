// Unit tests for audit/witness.h and keys/cosignature.h: a witness cosigns
// a log that grows consistently, refuses one that was rewritten or
// truncated, and keeps refusing.
#include "audit/witness.h"

#include <doctest/doctest.h>

#include "keys/cosignature.h"

using namespace kp;

namespace {

// The operator's one log key: an honest and a rewritten tree are signed
// with the same key.
const note::SignerKey& log_key() {
  static note::SignerKey key = std::move(note::generate("example.org/log").value());
  return key;
}

struct Log {
  const note::SignerKey& key = log_key();
  merkle::MemoryTree tree;
  std::string checkpoint() {
    auto body = merkle::format_checkpoint(
        merkle::Checkpoint{"example.org/log", tree.size(), tree.root(), {}});
    return note::sign(*body, key).value();
  }
};

struct Witness {
  note::SignerKey key =
      std::move(note::generate("witness.example/w1", note::kAlgCosignatureV1).value());
  std::optional<witness::LogState> state;
  witness::Reply post(Log& log, uint64_t old_size, std::vector<merkle::Hash> proof,
                      std::string cp = {}) {
    witness::AddCheckpoint req{old_size, std::move(proof), cp.empty() ? log.checkpoint() : cp};
    auto r = witness::add_checkpoint(witness::format_add_checkpoint(req), log.key.verifier(),
                                     "example.org/log", state, key, 1700000000);
    if (r.new_state) state = r.new_state;
    return r;
  }
};

}  // namespace

TEST_CASE("cosignature: round trip, key id with type 0x04, tampering refused") {
  note::SignerKey w =
      std::move(note::generate("witness.example/w1", note::kAlgCosignatureV1).value());
  auto v = w.verifier();
  CHECK(v.key_id == note::key_id(v.name, v.pk, 0x04));
  CHECK(v.key_id != note::key_id(v.name, v.pk, 0x01));
  auto parsed = note::parse_verifier_key(note::format_verifier_key(v));
  REQUIRE(parsed.ok());
  CHECK(parsed->alg == note::kAlgCosignatureV1);
  Log log;
  log.tree.append_data("a");
  std::string cp = log.checkpoint();
  auto text = note::open(cp, log.key.verifier());
  REQUIRE(text.ok());
  auto line = cosig::cosign(*text, w, 1679315147);
  REQUIRE(line.ok());
  auto ts = cosig::verify(cp + *line, v);
  REQUIRE(ts.ok());
  CHECK(*ts == 1679315147);
  CHECK(cosig::verify(cp, v).error().code == "cosignature-missing");
  // The message commits to the time: another timestamp does not verify.
  std::string other = *cosig::cosign(*text, w, 1679315148);
  CHECK(cosig::verify(cp + other, v).ok());
  note::SignerKey stranger =
      std::move(note::generate("witness.example/w1", note::kAlgCosignatureV1).value());
  CHECK(cosig::verify(cp + *cosig::cosign(*text, stranger, 1), v).error().code ==
        "cosignature-missing");
  // A cosigner key neither signs nor verifies notes.
  CHECK(!note::sign(*text, w).ok());
  CHECK(!note::open(cp, v).ok());
}

TEST_CASE(
    "witness: cosigns a consistently growing log, refuses a rewritten one and keeps refusing") {
  Log log;
  Witness w;
  for (int i = 0; i < 5; ++i) log.tree.append_data("r" + std::to_string(i));
  auto first = w.post(log, 0, {});
  REQUIRE(first.status == 200);
  CHECK(cosig::verify(log.checkpoint() + first.body, w.key.verifier()).ok());
  for (int i = 5; i < 13; ++i) log.tree.append_data("r" + std::to_string(i));
  auto proof = merkle::consistency_proof(log.tree, 5, 13);
  REQUIRE(proof.ok());
  CHECK(w.post(log, 5, *proof).status == 200);
  CHECK(w.state->size == 13);
  // Resubmitting the same checkpoint is fine; a stale old size is 409 with the size.
  CHECK(w.post(log, 13, {}).status == 200);
  auto stale = w.post(log, 5, *proof);
  CHECK(stale.status == 409);
  CHECK(stale.body == "13\n");
  CHECK(stale.content_type == "text/x.tlog.size");

  // The operator rewrites record 3 and rebuilds the tree with the real key.
  Log forged;
  for (int i = 0; i < 20; ++i)
    forged.tree.append_data(i == 3 ? "rewritten" : "r" + std::to_string(i));
  auto fproof = merkle::consistency_proof(forged.tree, 13, 20);
  REQUIRE(fproof.ok());
  auto refused = w.post(forged, 13, *fproof);
  CHECK(refused.status == 422);
  CHECK(!refused.new_state);
  // Same size, another root: 409; old 0: 409 naming 13; and it keeps refusing.
  Log same;
  for (int i = 0; i < 13; ++i)
    same.tree.append_data(i == 3 ? "rewritten" : "r" + std::to_string(i));
  CHECK(w.post(same, 13, {}).status == 409);
  CHECK(w.post(same, 0, {}).status == 409);
  CHECK(w.post(forged, 13, *fproof).status == 422);
  CHECK(w.state->size == 13);
  // Truncated: old larger than the checkpoint.
  Log shorter;
  for (int i = 0; i < 8; ++i) shorter.tree.append_data("r" + std::to_string(i));
  CHECK(w.post(shorter, 13, {}).status == 400);
  CHECK(w.post(shorter, 0, {}).status == 409);
}

TEST_CASE("witness: unknown log 404, bad signature 403, malformed 400") {
  Log log;
  log.tree.append_data("a");
  Witness w;
  note::SignerKey other = std::move(note::generate("example.org/log").value());
  auto one =
      merkle::format_checkpoint(merkle::Checkpoint{"example.org/log", 1, log.tree.root(), {}});
  CHECK(w.post(log, 0, {}, note::sign(*one, other).value()).status == 403);
  auto body = merkle::format_checkpoint(
      merkle::Checkpoint{"elsewhere.example/log", 1, log.tree.root(), {}});
  CHECK(w.post(log, 0, {}, note::sign(*body, log.key).value()).status == 404);
  for (const char* bad : {"", "old 01\n\nx", "old 1\nnot base64\n\nx", "new 1\n\nx", "old 0\n"}) {
    auto r =
        witness::add_checkpoint(bad, log.key.verifier(), "example.org/log", std::nullopt, w.key, 1);
    CHECK_MESSAGE(r.status == 400, bad);
  }
  CHECK(!w.state);
}
