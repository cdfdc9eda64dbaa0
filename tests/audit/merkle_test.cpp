// Unit tests for audit/merkle.h: the DESIGN.md check vector and RFC 6962
// reference roots, every inclusion and consistency proof up to 64 leaves
// (and their tampered forms), the Appender's completed subtrees, the
// O(log n) read bound, and the C2SP checkpoint and tlog-proof texts.
#include "audit/merkle.h"

#include <doctest/doctest.h>

#include <bit>
#include <string>
#include <vector>

namespace mk = kp::merkle;

namespace {

// The RFC 6962 / Certificate Transparency reference leaves.
std::vector<std::string> reference_leaves() {
  std::string l6, l7;
  for (int c = 0x50; c < 0x58; ++c) l6.push_back(char(c));
  for (int c = 0x60; c < 0x70; ++c) l7.push_back(char(c));
  return {std::string(), std::string(1, '\0'), "\x10", "\x20\x21", "\x30\x31", "\x40\x41\x42\x43", l6, l7};
}

mk::Hash h(std::string_view hex) {
  std::string raw;
  REQUIRE(kp::from_hex(hex, raw));
  REQUIRE(raw.size() == 32);
  mk::Hash out{};
  std::copy(raw.begin(), raw.end(), out.begin());
  return out;
}

mk::MemoryTree tree_of(std::size_t n) {
  mk::MemoryTree t;
  for (std::size_t i = 0; i < n; ++i) t.append_data("leaf " + std::to_string(i));
  return t;
}

class CountingSource final : public mk::HashSource {
 public:
  explicit CountingSource(mk::HashSource& inner) : inner_(inner) {}
  kp::Result<mk::Hash> perfect(unsigned level, uint64_t index) override {
    ++reads;
    return inner_.perfect(level, index);
  }
  int reads = 0;

 private:
  mk::HashSource& inner_;
};

}  // namespace

TEST_CASE("merkle DESIGN.md check vector and RFC 6962 reference roots") {
  const char* roots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  auto leaves = reference_leaves();
  std::vector<mk::Hash> hashes;
  mk::MemoryTree t;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    hashes.push_back(mk::leaf_hash(leaves[i]));
    t.append(hashes.back());
    CHECK(kp::to_hex(mk::root_of(hashes)) == roots[i]);
    CHECK(kp::to_hex(t.root()) == roots[i]);
    auto r = mk::tree_root(t, i + 1);
    REQUIRE(r.ok());
    CHECK(kp::to_hex(*r) == roots[i]);
  }
  CHECK(kp::to_hex(mk::root_of(hashes)) == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  CHECK(kp::to_hex(mk::empty_root()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(mk::root_of({}) == mk::empty_root());
  CHECK(*mk::tree_root(t, 0) == mk::empty_root());

  // Reference proofs (Certificate Transparency test data).
  auto incl = mk::inclusion_proof(t, 0, 8);
  REQUIRE(incl.ok());
  REQUIRE(incl->size() == 3);
  CHECK(kp::to_hex((*incl)[0]) == "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
  CHECK(kp::to_hex((*incl)[1]) == "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  CHECK(kp::to_hex((*incl)[2]) == "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
  auto cons = mk::consistency_proof(t, 2, 5);
  REQUIRE(cons.ok());
  REQUIRE(cons->size() == 2);
  CHECK(kp::to_hex((*cons)[0]) == "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  CHECK(kp::to_hex((*cons)[1]) == "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  CHECK(mk::verify_consistency(2, 5, h(roots[1]), h(roots[4]), *cons).ok());
}

TEST_CASE("merkle every inclusion proof up to 64 leaves verifies, tampered ones fail") {
  mk::MemoryTree t = tree_of(64);
  for (uint64_t n = 1; n <= 64; ++n) {
    auto root = mk::tree_root(t, n);
    REQUIRE(root.ok());
    for (uint64_t m = 0; m < n; ++m) {
      const mk::Hash leaf = mk::leaf_hash("leaf " + std::to_string(m));
      auto proof = mk::inclusion_proof(t, m, n);
      REQUIRE(proof.ok());
      CHECK(proof->size() <= 6);
      CHECK(mk::verify_inclusion(leaf, m, n, *proof, *root).ok());
      // Any changed bit in any proof hash fails.
      for (std::size_t i = 0; i < proof->size(); ++i) {
        auto bad = *proof;
        bad[i][(m + i) % 32] ^= uint8_t(1u << (n % 8));
        CHECK(mk::verify_inclusion(leaf, m, n, bad, *root).error().code == "proof-invalid");
      }
      // Wrong index, wrong leaf, wrong root, wrong size, short or long proof fail.
      if (n > 1) CHECK(!mk::verify_inclusion(leaf, (m + 1) % n, n, *proof, *root).ok());
      CHECK(!mk::verify_inclusion(mk::leaf_hash("other"), m, n, *proof, *root).ok());
      mk::Hash bad_root = *root;
      bad_root[0] ^= 1;
      CHECK(!mk::verify_inclusion(leaf, m, n, *proof, bad_root).ok());
      // (The tree size itself is authenticated by the signed checkpoint, not
      // by the proof: a path can be valid for several sizes of the same shape.)
      CHECK(!mk::verify_inclusion(leaf, n, n, *proof, *root).ok());
      if (!proof->empty()) {
        auto shorter = *proof;
        shorter.pop_back();
        CHECK(!mk::verify_inclusion(leaf, m, n, shorter, *root).ok());
      }
      auto longer = *proof;
      longer.push_back(*root);
      CHECK(!mk::verify_inclusion(leaf, m, n, longer, *root).ok());
    }
  }
  CHECK(mk::inclusion_proof(t, 5, 5).error().code == "tree-size-invalid");
  CHECK(mk::inclusion_proof(t, 0, 0).error().code == "tree-size-invalid");
  CHECK(mk::inclusion_proof(t, 0, 65).error().code == "hash-not-found");
}

TEST_CASE("merkle every consistency proof up to 64 leaves verifies, tampered ones fail") {
  mk::MemoryTree t = tree_of(64);
  std::vector<mk::Hash> roots;
  for (uint64_t n = 0; n <= 64; ++n) roots.push_back(*mk::tree_root(t, n));
  for (uint64_t n = 0; n <= 64; ++n) {
    for (uint64_t m = 0; m <= n; ++m) {
      auto proof = mk::consistency_proof(t, m, n);
      REQUIRE(proof.ok());
      CHECK(mk::verify_consistency(m, n, roots[m], roots[n], *proof).ok());
      for (std::size_t i = 0; i < proof->size(); ++i) {
        auto bad = *proof;
        bad[i][i % 32] ^= 0x80;
        CHECK(mk::verify_consistency(m, n, roots[m], roots[n], bad).error().code == "proof-invalid");
      }
      if (m == 0 && n > 0) {
        // Every tree extends the empty tree; only the empty root is checked.
        mk::Hash bad_old = roots[0];
        bad_old[31] ^= 1;
        CHECK(!mk::verify_consistency(0, n, bad_old, roots[n], *proof).ok());
      } else if (m != n) {
        mk::Hash bad_old = roots[m];
        bad_old[31] ^= 1;
        CHECK(!mk::verify_consistency(m, n, bad_old, roots[n], *proof).ok());
        mk::Hash bad_new = roots[n];
        bad_new[31] ^= 1;
        CHECK(!mk::verify_consistency(m, n, roots[m], bad_new, *proof).ok());
        // The proof does not prove other sizes.
        if (m > 0 && m + 1 < n) CHECK(!mk::verify_consistency(m + 1, n, roots[m + 1], roots[n], *proof).ok());
        if (n > 1 && m < n - 1) CHECK(!mk::verify_consistency(m, n - 1, roots[m], roots[n - 1], *proof).ok());
        if (!proof->empty()) {
          auto shorter = *proof;
          shorter.pop_back();
          CHECK(!mk::verify_consistency(m, n, roots[m], roots[n], shorter).ok());
        }
        auto longer = *proof;
        longer.push_back(roots[n]);
        CHECK(!mk::verify_consistency(m, n, roots[m], roots[n], longer).ok());
      } else if (n > 0) {
        std::vector<mk::Hash> nonempty = {roots[n]};
        CHECK(!mk::verify_consistency(m, n, roots[m], roots[n], nonempty).ok());
      }
    }
  }
  CHECK(mk::consistency_proof(t, 5, 4).error().code == "tree-size-invalid");
  CHECK(!mk::verify_consistency(5, 4, roots[5], roots[4], {}).ok());
  // From the empty tree only the empty root is accepted.
  CHECK(!mk::verify_consistency(0, 3, roots[1], roots[3], {}).ok());
}

TEST_CASE("merkle appender reports completed subtrees and restores") {
  mk::Appender a;
  CHECK(a.root() == mk::empty_root());
  auto d0 = a.append(mk::leaf_hash("a"));
  REQUIRE(d0.size() == 1);
  CHECK(d0[0].level == 0);
  CHECK(d0[0].index == 0);
  a.append(mk::leaf_hash("b"));
  a.append(mk::leaf_hash("c"));
  auto d3 = a.append(mk::leaf_hash("d"));
  REQUIRE(d3.size() == 3);  // leaf 3, node (1,1) = c|d, node (2,0) = a..d
  CHECK(d3[1].level == 1);
  CHECK(d3[1].index == 1);
  CHECK(d3[1].hash == mk::node_hash(mk::leaf_hash("c"), mk::leaf_hash("d")));
  CHECK(d3[2].level == 2);
  CHECK(d3[2].index == 0);
  CHECK(d3[2].hash == a.root());

  // Completed subtrees equal MTH of their leaf range; roots match root_of.
  std::vector<mk::Hash> leaves;
  mk::Appender b;
  for (int i = 0; i < 300; ++i) {
    leaves.push_back(mk::leaf_hash(std::to_string(i)));
    for (const mk::Subtree& s : b.append(leaves.back())) {
      const std::size_t begin = std::size_t(s.index) << s.level;
      CHECK(s.hash == mk::root_of(std::span<const mk::Hash>(leaves).subspan(begin, std::size_t(1) << s.level)));
    }
    CHECK(b.frontier().size() == std::size_t(std::popcount(b.size())));
    if (i % 37 == 0) CHECK(b.root() == mk::root_of(leaves));
  }
  // Restore from a stored frontier, and load from a HashSource.
  auto r = mk::Appender::restore(b.size(), b.frontier());
  REQUIRE(r.ok());
  CHECK(r->root() == b.root());
  CHECK(mk::Appender::restore(b.size(), {}).error().code == "tree-size-invalid");
  mk::MemoryTree t = tree_of(45);
  auto loaded = mk::Appender::load(t, 45);
  REQUIRE(loaded.ok());
  CHECK(loaded->root() == t.root());
  loaded->append(mk::leaf_hash("leaf 45"));
  t.append_data("leaf 45");
  CHECK(loaded->root() == t.root());
}

TEST_CASE("merkle proofs read O(log n) stored hashes") {
  mk::MemoryTree t = tree_of(100003);
  CountingSource src(t);
  const int log_n = 17;
  for (uint64_t m : {0ull, 1ull, 65535ull, 65536ull, 99999ull, 100002ull}) {
    src.reads = 0;
    auto p = mk::inclusion_proof(src, m, 100003);
    REQUIRE(p.ok());
    CHECK(src.reads <= 2 * log_n + 2);
    CHECK(mk::verify_inclusion(mk::leaf_hash("leaf " + std::to_string(m)), m, 100003, *p, t.root()).ok());
  }
  for (uint64_t m : {1ull, 3ull, 4096ull, 70000ull, 100002ull}) {
    src.reads = 0;
    auto p = mk::consistency_proof(src, m, 100003);
    REQUIRE(p.ok());
    CHECK(src.reads <= 3 * log_n + 3);
    CHECK(mk::verify_consistency(m, 100003, *mk::tree_root(t, m), t.root(), *p).ok());
  }
  src.reads = 0;
  CHECK(*mk::tree_root(src, 100003) == t.root());
  CHECK(src.reads <= log_n + 1);
  // A subtree range that is no tree node is refused, not mis-hashed.
  CHECK(mk::subtree_root(t, 3, 7).error().code == "tree-size-invalid");
  CHECK(mk::subtree_root(t, 7, 3).error().code == "tree-size-invalid");
}

TEST_CASE("merkle checkpoint text") {
  mk::Checkpoint cp;
  cp.origin = "knooppunt.example/log";
  cp.size = 20852163;
  cp.root = h("0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62");
  auto text = mk::format_checkpoint(cp);
  REQUIRE(text.ok());
  CHECK(*text == "knooppunt.example/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  auto back = mk::parse_checkpoint(*text);
  REQUIRE(back.ok());
  CHECK(back->origin == cp.origin);
  CHECK(back->size == cp.size);
  CHECK(back->root == cp.root);
  CHECK(back->extensions.empty());
  auto ext = mk::parse_checkpoint(*text + "ext one\n");
  REQUIRE(ext.ok());
  REQUIRE(ext->extensions.size() == 1);
  CHECK(ext->extensions[0] == "ext one");
  auto zero = mk::parse_checkpoint("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
  REQUIRE(zero.ok());
  CHECK(zero->root == mk::empty_root());

  auto bad = [](std::string_view s) { return mk::parse_checkpoint(s).error().code == "checkpoint-malformed"; };
  const std::string r = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  CHECK(bad(""));
  CHECK(bad("o\n1\n" + r));                        // no final newline
  CHECK(bad("o\n1\n"));                            // no root
  CHECK(bad("\n1\n" + r + "\n"));                  // empty origin
  CHECK(bad("o\n01\n" + r + "\n"));                // leading zero
  CHECK(bad("o\n-1\n" + r + "\n"));
  CHECK(bad("o\n+1\n" + r + "\n"));
  CHECK(bad("o\n1 \n" + r + "\n"));
  CHECK(bad("o\n18446744073709551616\n" + r + "\n"));  // 2^64
  CHECK(mk::parse_checkpoint("o\n18446744073709551615\n" + r + "\n").ok());
  CHECK(bad("o\n1\n" + r.substr(0, 43) + "\n"));   // short root
  CHECK(bad("o\n1\nAAAA\n"));
  CHECK(bad("o\n1\n" + r + "\n\n"));               // empty extension line
  CHECK(bad("o\n1\n" + r + "\nx\ty\n"));           // control character
  cp.origin = "two\nlines";
  CHECK(mk::format_checkpoint(cp).error().code == "checkpoint-malformed");
  cp.origin = "o";
  cp.extensions = {""};
  CHECK(mk::format_checkpoint(cp).error().code == "checkpoint-malformed");
}

TEST_CASE("merkle tlog-proof format, parse and verify") {
  auto log_key = kp::note::generate("knooppunt.example/log");
  REQUIRE(log_key.ok());
  const std::string origin = "knooppunt.example/log";
  mk::MemoryTree t = tree_of(11);
  mk::Checkpoint cp{origin, t.size(), t.root(), {}};
  auto body = mk::format_checkpoint(cp);
  REQUIRE(body.ok());
  auto signed_cp = kp::note::sign(*body, *log_key);
  REQUIRE(signed_cp.ok());

  const uint64_t index = 7;
  const mk::Hash leaf = mk::leaf_hash("leaf 7");
  auto hashes = mk::inclusion_proof(t, index, t.size());
  REQUIRE(hashes.ok());
  mk::TlogProof proof{std::nullopt, index, *hashes, *signed_cp};
  auto text = mk::format_tlog_proof(proof);
  REQUIRE(text.ok());
  CHECK(text->starts_with("c2sp.org/tlog-proof@v1\nindex 7\n"));
  CHECK(text->find("\n\n" + origin + "\n11\n") != std::string::npos);

  auto parsed = mk::parse_tlog_proof(*text);
  REQUIRE(parsed.ok());
  CHECK(!parsed->extra.has_value());
  CHECK(parsed->index == index);
  CHECK(parsed->hashes == *hashes);
  CHECK(parsed->checkpoint == *signed_cp);
  auto verified = mk::verify_tlog_proof(*parsed, leaf, log_key->verifier(), origin);
  REQUIRE(verified.ok());
  CHECK(verified->size == 11);

  // Refusals: another leaf, index, origin, key; tampered hash line or checkpoint.
  CHECK(mk::verify_tlog_proof(*parsed, mk::leaf_hash("leaf 6"), log_key->verifier(), origin).error().code ==
        "proof-invalid");
  auto wrong_index = *parsed;
  wrong_index.index = 6;
  CHECK(mk::verify_tlog_proof(wrong_index, leaf, log_key->verifier(), origin).error().code == "proof-invalid");
  CHECK(mk::verify_tlog_proof(*parsed, leaf, log_key->verifier(), "other.example/log").error().code ==
        "checkpoint-origin-mismatch");
  auto other_key = kp::note::generate("knooppunt.example/log");
  REQUIRE(other_key.ok());
  CHECK(mk::verify_tlog_proof(*parsed, leaf, other_key->verifier(), origin).error().code == "note-unverified");
  for (std::size_t i = 0; i < text->size(); ++i) {
    std::string t2 = *text;
    t2[i] = char(t2[i] ^ 0x04);
    auto p2 = mk::parse_tlog_proof(t2);
    if (!p2.ok()) continue;
    CHECK_MESSAGE(!mk::verify_tlog_proof(*p2, leaf, log_key->verifier(), origin).ok(), "flip at ", i, " accepted");
  }

  // Extra data round trip.
  proof.extra = std::string("age-v1.2.1\0bin", 14);
  auto with_extra = mk::format_tlog_proof(proof);
  REQUIRE(with_extra.ok());
  CHECK(with_extra->starts_with("c2sp.org/tlog-proof@v1\nextra "));
  auto pe = mk::parse_tlog_proof(*with_extra);
  REQUIRE(pe.ok());
  REQUIRE(pe->extra.has_value());
  CHECK(*pe->extra == *proof.extra);
  CHECK(mk::verify_tlog_proof(*pe, leaf, log_key->verifier(), origin).ok());

  // A leaf at index 0 of a one-leaf tree has an empty proof.
  mk::TlogProof single{std::nullopt, 0, {}, "o\n1\nAAAA\n\n\xE2\x80\x94 o AAAAAAAA\n"};
  auto st = mk::format_tlog_proof(single);
  REQUIRE(st.ok());
  CHECK(st->starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\no\n1\n"));
  CHECK(mk::parse_tlog_proof(*st)->hashes.empty());

  auto bad = [](std::string_view s) { return mk::parse_tlog_proof(s).error().code == "proof-malformed"; };
  const std::string cpt = *signed_cp;
  CHECK(bad(""));
  CHECK(bad("c2sp.org/tlog-proof@v2\nindex 0\n\n" + cpt));
  CHECK(bad("c2sp.org/tlog-proof@v1\n"));
  CHECK(bad("c2sp.org/tlog-proof@v1\nindex 07\n\n" + cpt));
  CHECK(bad("c2sp.org/tlog-proof@v1\nindex -1\n\n" + cpt));
  CHECK(bad("c2sp.org/tlog-proof@v1\nindex\n\n" + cpt));
  CHECK(bad("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n" + cpt));      // short hash
  CHECK(bad("c2sp.org/tlog-proof@v1\nindex 1\n" + cpt));              // no blank line
  CHECK(bad("c2sp.org/tlog-proof@v1\nindex 1\n\n"));                  // no checkpoint
  CHECK(bad("c2sp.org/tlog-proof@v1\nextra !!!!\nindex 1\n\n" + cpt));
  CHECK(bad("c2sp.org/tlog-proof@v1\nextra \nindex 1\n\n" + cpt));
  CHECK(bad("c2sp.org/tlog-proof@v1\nindex 1\n\n" + cpt.substr(0, cpt.size() - 1)));
  std::string many = "c2sp.org/tlog-proof@v1\nindex 1\n";
  for (int i = 0; i < 65; ++i) many += "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  CHECK(bad(many + "\n" + cpt));
  CHECK(bad(std::string(2u << 20, 'a')));
  // Every truncation is refused by parse or by verify.
  for (std::size_t n = 0; n < text->size(); ++n) {
    auto p = mk::parse_tlog_proof(text->substr(0, n));
    if (p.ok()) CHECK(!mk::verify_tlog_proof(*p, leaf, log_key->verifier(), origin).ok());
  }
}
