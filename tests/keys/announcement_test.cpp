// Unit tests for keys/announcement.h and the hub/log rotation of
// keys/keystore.h: statements round-trip, verify only with the old key,
// and chain into the log key history.
#include "keys/announcement.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "common/atomic_file.h"
#include "common/log.h"
#include "keys/keystore.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

std::string read_small_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

keys::Announcement log_announcement(const note::SignerKey& old_key, const note::SignerKey& new_key, uint64_t size) {
  keys::Announcement a;
  a.key = "log";
  a.old_id = "00000001";
  a.old_key = note::format_verifier_key(old_key.verifier());
  a.new_id = "00000002";
  a.new_key = note::format_verifier_key(new_key.verifier());
  a.valid_from_ms = 1780000000123;
  a.grace_until_ms = 1781000000456;
  a.first_size = size;
  return a;
}

}  // namespace

TEST_CASE("announcement: the statement round-trips and refuses what it is not") {
  keys::Announcement a;
  a.key = "hub";
  a.old_id = "3AC59A8E13221989";
  a.old_key = "RWQold";
  a.new_id = "4BD59A8E13221989";
  a.new_key = "RWQnew";
  a.valid_from_ms = 1780000000123;
  a.grace_until_ms = 1781000000456;
  const std::string text = keys::announcement_text(a);
  CHECK(text.rfind("knooppunt key rotation\nkey: hub\nold key id: 3AC59A8E13221989\n", 0) == 0);
  auto back = keys::parse_announcement(text);
  REQUIRE(back.ok());
  CHECK(back->new_key == "RWQnew");
  CHECK(back->valid_from_ms == a.valid_from_ms);
  CHECK(back->grace_until_ms == a.grace_until_ms);
  CHECK_FALSE(back->first_size);
  for (std::string bad : {text.substr(0, text.size() - 1), "x" + text, text + "extra: 1\n",
                          text + "first checkpoint size: 5\n"}) {
    CHECK(keys::parse_announcement(bad).error().code == "announcement-malformed");
  }
}

TEST_CASE("announcement: a hub statement verifies with the old key only") {
  auto old_key = minisign::generate();
  auto new_key = minisign::generate();
  auto other = minisign::generate();
  REQUIRE((old_key.ok() && new_key.ok() && other.ok()));
  keys::Announcement a;
  a.key = "hub";
  a.old_id = minisign::key_id_hex(old_key->public_key().key_id);
  a.old_key = minisign::public_key_base64(old_key->public_key());
  a.new_id = minisign::key_id_hex(new_key->public_key().key_id);
  a.new_key = minisign::public_key_base64(new_key->public_key());
  const std::string text = keys::announcement_text(a);
  auto sig = minisign::sign(*old_key, text, "rotation");
  REQUIRE(sig.ok());
  CHECK(keys::verify_minisign_announcement(text, *sig, old_key->public_key()).ok());
  CHECK(keys::verify_minisign_announcement(text, *sig, new_key->public_key()).error().code ==
        "announcement-signature-invalid");
  // Signed by another key that claims to be the old one.
  auto forged = minisign::sign(*other, text, "rotation");
  CHECK(keys::verify_minisign_announcement(text, *forged, old_key->public_key()).error().code ==
        "announcement-signature-invalid");
  // Signed by the old key but naming another old key.
  keys::Announcement elsewhere = a;
  elsewhere.old_key = minisign::public_key_base64(other->public_key());
  const std::string t2 = keys::announcement_text(elsewhere);
  CHECK(keys::verify_minisign_announcement(t2, *minisign::sign(*old_key, t2, "x"), old_key->public_key())
            .error()
            .code == "announcement-signature-invalid");
}

TEST_CASE("announcement: log statements chain into the key history") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  auto k0 = note::generate("hub.example/transfer-log");
  auto k1 = note::generate("hub.example/transfer-log");
  auto k2 = note::generate("hub.example/transfer-log");
  auto stranger = note::generate("hub.example/transfer-log");
  REQUIRE((k0.ok() && k1.ok() && k2.ok() && stranger.ok()));
  // Without announcements: the current key from size 0.
  auto alone = keys::log_key_history(d, k0->verifier());
  REQUIRE(alone.ok());
  CHECK(alone->size() == 1);
  REQUIRE(keys::publish_log_announcement(d, log_announcement(*k0, *k1, 10), *k0, *k1).ok());
  REQUIRE(keys::publish_log_announcement(d, log_announcement(*k1, *k2, 25), *k1, *k2).ok());
  CHECK(keys::announcement_names(d) ==
        std::vector<std::string>{"rotation-log-0001.note", "rotation-log-0002.note"});
  auto history = keys::log_key_history(d, k2->verifier());
  REQUIRE(history.ok());
  REQUIRE(history->size() == 3);
  CHECK((*history)[1].from_size == 10);
  CHECK((*history)[2].from_size == 25);
  CHECK((*history)[2].key.key_id == k2->key_id);
  // The announcement verifies with the old key, not the new one.
  auto text = read_small_text(d.public_keys() + "/rotation-log-0001.note");
  CHECK(keys::verify_log_announcement(text, k0->verifier()).ok());
  CHECK(keys::verify_log_announcement(text, k1->verifier()).error().code == "announcement-signature-invalid");
  // Not the current key at the end: broken.
  CHECK(keys::log_key_history(d, k1->verifier()).error().code == "announcement-chain-broken");
  // A third announcement signed by a stranger's key: the chain breaks there.
  REQUIRE(keys::publish_log_announcement(d, log_announcement(*k2, *stranger, 30), *stranger, *stranger).ok());
  CHECK(keys::log_key_history(d, stranger->verifier()).error().code == "announcement-chain-broken");
}

TEST_CASE("keystore: hub and log rotation keep the previous key for the grace period") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(keys::ensure_keys(d, "hub.example/transfer-log").ok());
  REQUIRE(keys::publish_public_keys(d).ok());
  const auto before = *keys::public_keys(d);
  const std::string gen0 = keys::signing_generation(d);
  const int64_t now = log::now_ms();
  auto hub = keys::rotate_hub(d, now, 1000000);
  REQUIRE(hub.ok());
  auto log_rot = keys::rotate_log(d, now, 1000000);
  REQUIRE(log_rot.ok());
  CHECK(keys::signing_generation(d) != gen0);
  CHECK(log_rot->new_key.name == "hub.example/transfer-log");
  REQUIRE(keys::publish_public_keys(d).ok());
  const auto after = *keys::public_keys(d);
  CHECK(after.hub_minisign_base64 != before.hub_minisign_base64);
  CHECK(after.hub_previous_base64 == before.hub_minisign_base64);
  CHECK(after.log_previous_verifier_key == before.log_verifier_key);
  auto prev_hub = keys::load_previous_hub_public(d);
  REQUIRE((prev_hub.ok() && *prev_hub));
  CHECK(minisign::public_key_base64(**prev_hub) == before.hub_minisign_base64);
  auto prev_log = keys::load_previous_log_key(d);
  REQUIRE((prev_log.ok() && *prev_log));
  CHECK((*prev_log)->key_id == log_rot->old_key.key_id);
  CHECK(keys::rotate_hub(d, now, 1000).error().code == "rotation-in-progress");
  // Not yet expired: nothing destroyed; then past the end: both go.
  CHECK_FALSE(*keys::expire_previous_signing_keys(d, now + 10));
  CHECK(*keys::expire_previous_signing_keys(d, now + 1000001));
  CHECK_FALSE(*keys::load_previous_hub_public(d));
  CHECK_FALSE(*keys::load_previous_log_key(d));
  CHECK(keys::public_keys(d)->hub_previous_base64.empty());
  CHECK(::access((d.keys() + "/log.previous.note.key").c_str(), F_OK) != 0);
  CHECK(keys::rotate_hub(d, now + 1000002, 0).ok());
}
