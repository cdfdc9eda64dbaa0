// Unit tests for audit/monitor.h: a monitor accepts a log that grows and is
// cosigned, and names a rewritten record, a truncation, a same-size fork and
// a missing cosignature, each with its exit code, without moving its state.
#include "audit/monitor.h"

#include <doctest/doctest.h>

#include "audit/tiles.h"
#include "keys/cosignature.h"

using namespace kp;

namespace {

std::string entry(uint64_t i, const std::string& tag) {
  return "knooppunt-audit/1\nindex: " + std::to_string(i) + "\nevent: " + tag + "\n";
}

// A log as its operator serves it: entries, tiles from them, a checkpoint
// signed with the log key and cosigned by the witness when asked.
struct Served {
  std::vector<std::string> entries;
  const note::SignerKey* log = nullptr;
  const note::SignerKey* witness = nullptr;

  std::string checkpoint(bool cosign = true) const {
    merkle::MemoryTree t;
    for (const auto& e : entries) t.append_data(e);
    auto body =
        merkle::format_checkpoint(merkle::Checkpoint{"example.org/log", t.size(), t.root(), {}});
    std::string note = note::sign(*body, *log).value();
    if (cosign) note += cosig::cosign(*body, *witness, 1700000000).value();
    return note;
  }
  Result<std::string> fetch(const std::string& path) const {
    KP_TRY(audit::Tile t, audit::parse_tile_path(path));
    std::string out;
    for (uint64_t i = t.index * 256; i < t.index * 256 + t.width; ++i) {
      KP_ENSURE(i < entries.size(), "monitor-fetch-failed", "beyond the log");
      if (t.entries) {
        out.push_back(char(entries[i].size() >> 8));
        out.push_back(char(entries[i].size() & 0xFF));
        out += entries[i];
      } else {
        auto h = merkle::leaf_hash(entries[i]);
        out.append(reinterpret_cast<const char*>(h.data()), 32);
      }
    }
    return out;
  }
};

}  // namespace

TEST_CASE("monitor: growth accepted; rewrite, truncation, fork and missing cosignatures reported") {
  note::SignerKey log = std::move(note::generate("example.org/log").value());
  note::SignerKey w =
      std::move(note::generate("witness.example/w1", note::kAlgCosignatureV1).value());
  std::vector<note::VerifierKey> witnesses{w.verifier()};
  Served s{{}, &log, &w};
  for (uint64_t i = 0; i < 300; ++i) s.entries.push_back(entry(i, "e"));
  audit::MonitorState state;
  auto fetch = [&](const std::string& p) { return s.fetch(p); };
  auto step = [&](const std::string& cp) {
    return audit::monitor_step(state, cp, log.verifier(), witnesses, 1, fetch);
  };
  auto f = step(s.checkpoint());
  REQUIRE(f.ok());
  CHECK(f->exit_code == 0);
  CHECK(state.leaves.size() == 300);
  for (uint64_t i = 300; i < 520; ++i) s.entries.push_back(entry(i, "e"));
  CHECK(step(s.checkpoint())->exit_code == 0);
  CHECK(state.leaves.size() == 520);

  Served rewritten = s;
  rewritten.entries[7] = entry(7, "rewritten");
  for (uint64_t i = 520; i < 530; ++i) rewritten.entries.push_back(entry(i, "e"));
  auto r = audit::monitor_step(state, rewritten.checkpoint(), log.verifier(), witnesses, 1,
                               [&](const std::string& p) { return rewritten.fetch(p); });
  CHECK(r->kind == "rewritten-record");
  CHECK(r->exit_code == 4);
  CHECK(r->detail.find("record 7 ") != std::string::npos);

  Served shorter = s;
  shorter.entries.resize(400);
  CHECK(audit::monitor_step(state, shorter.checkpoint(), log.verifier(), witnesses, 1,
                            [&](const std::string& p) { return shorter.fetch(p); })
            ->exit_code == 5);

  Served fork = s;
  fork.entries[519] = entry(519, "other");
  CHECK(audit::monitor_step(state, fork.checkpoint(), log.verifier(), witnesses, 1,
                            [&](const std::string& p) { return fork.fetch(p); })
            ->kind == "split-view");

  s.entries.push_back(entry(520, "e"));
  CHECK(step(s.checkpoint(false))->exit_code == 6);
  // An entry that names another index is a missing or reordered one.
  Served reordered = s;
  std::swap(reordered.entries[519], reordered.entries[520]);
  CHECK(audit::monitor_step(state, reordered.checkpoint(), log.verifier(), witnesses, 1,
                            [&](const std::string& p) { return reordered.fetch(p); })
            ->exit_code == 5);
  // Nothing of the above moved the state; the honest log still verifies.
  CHECK(state.leaves.size() == 520);
  CHECK(step(s.checkpoint())->exit_code == 0);
  note::SignerKey other = std::move(note::generate("example.org/log").value());
  Served forged{s.entries, &other, &w};
  CHECK(step(forged.checkpoint())->exit_code == 6);
}
