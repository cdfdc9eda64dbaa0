// Unit tests for keys/keystore.h: generation at init, modes, rotation with a
// grace period, destruction of the previous intake identity.
#include "keys/keystore.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/atomic_file.h"
#include "common/log.h"
#include "tests/support/faults.h"
#include "tests/support/temp_dir.h"

using namespace kp;

TEST_CASE("keystore: init makes every key, private ones 0600") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(keys::ensure_keys(d).ok());
  CHECK_FALSE(keys::public_keys_published(d));
  CHECK(keys::public_keys(d).error().code == "key-unreadable");  // never derived from the identity
  REQUIRE(keys::publish_public_keys(d).ok());
  CHECK(keys::public_keys_published(d));
  for (const char* f : {"intake.age", "hub.minisign.key", "log.note.key"}) {
    struct stat st {};
    REQUIRE(::stat((d.keys() + "/" + f).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  auto pub = keys::public_keys(d);
  REQUIRE(pub.ok());
  CHECK(pub->intake_recipient.rfind("age1", 0) == 0);
  CHECK(keys::load_hub_key(d).ok());
  CHECK(keys::load_log_key(d).ok());
  // A second run changes nothing.
  REQUIRE(keys::ensure_keys(d).ok());
  CHECK(keys::public_keys(d)->intake_recipient == pub->intake_recipient);
}

TEST_CASE("keystore: a key readable by others is refused") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(keys::ensure_keys(d).ok());
  ::chmod((d.keys() + "/hub.minisign.key").c_str(), 0644);
  CHECK(keys::load_hub_key(d).error().code == "key-unreadable");
}

TEST_CASE("keystore: rotation keeps the previous identity for the grace period") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(keys::ensure_keys(d).ok());
  REQUIRE(keys::publish_public_keys(d).ok());
  std::string before = keys::public_keys(d)->intake_recipient;
  std::string gen0 = keys::intake_generation(d);
  auto now = log::now_ms();
  auto rotated = keys::rotate_intake(d, now, 1000000);
  REQUIRE(rotated.ok());
  CHECK(*rotated != before);
  CHECK(keys::intake_generation(d) != gen0);
  auto ids = keys::load_intake_identities(d);
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 2);
  CHECK(age::recipient_of((*ids)[0]) == *rotated);
  CHECK(age::recipient_of((*ids)[1]) == before);
  CHECK(keys::rotate_intake(d, now, 1000000).error().code == "rotation-in-progress");
  CHECK_FALSE(*keys::expire_previous_intake(d, now));
  CHECK(*keys::expire_previous_intake(d, now + 2000000));
  CHECK(keys::load_intake_identities(d)->size() == 1);
  CHECK(keys::rotate_intake(d, now + 3000000, 1000).ok());
}

TEST_CASE("keystore: the public files are world-readable and read without the identity") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(keys::ensure_keys(d).ok());
  REQUIRE(keys::publish_public_keys(d).ok());
  struct stat st {};
  REQUIRE(::stat(d.public_keys().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);
  for (const char* f : {"intake.recipient", "hub.minisign.pub", "log.note.vkey", "log.origin"}) {
    REQUIRE(::stat((d.public_keys() + "/" + f).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
  }
  auto before = keys::public_keys(d);
  REQUIRE(before.ok());
  CHECK(before->log_origin == *keys::log_origin(d));
  // Without the private keys the public halves still read.
  ::chmod(d.keys().c_str(), 0);
  ::rename((d.keys() + "/intake.age").c_str(), (dir.path() + "/moved.age").c_str());
  auto after = keys::public_keys(d);
  REQUIRE(after.ok());
  CHECK(after->intake_recipient == before->intake_recipient);
  ::chmod(d.keys().c_str(), 0700);
}

TEST_CASE("keystore: damaged public files are refused") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(keys::ensure_keys(d).ok());
  REQUIRE(keys::publish_public_keys(d).ok());
  REQUIRE(write_file_atomic(d.public_keys() + "/intake.recipient", "age1notarecipient\n", 0644).ok());
  CHECK_FALSE(keys::public_keys(d).ok());
  REQUIRE(keys::publish_public_keys(d).ok());
  REQUIRE(write_file_atomic(d.public_keys() + "/hub.minisign.pub", "garbage\n", 0644).ok());
  CHECK_FALSE(keys::public_keys(d).ok());
  ::unlink((d.public_keys() + "/log.origin").c_str());
  CHECK_FALSE(keys::public_keys_published(d));
}

// Fault injection (common/fsio.h): a rotation that fails at any step leaves
// the current identity in place and usable; one cut short after the old key
// became the previous one is finished by the next `keys rotate`.
TEST_CASE("keystore: a failed rotation keeps the old identity usable") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(keys::ensure_keys(d).ok());
  REQUIRE(keys::publish_public_keys(d).ok());
  const std::string before = keys::public_keys(d)->intake_recipient;
  const auto now = log::now_ms();
  struct Step {
    fsio::Op op;
    int err;
  };
  for (Step step : {Step{fsio::Op::open, ENOSPC}, Step{fsio::Op::write, ENOSPC}, Step{fsio::Op::fsync, EIO},
                    Step{fsio::Op::link, EIO}}) {
    {
      testing::Faults f(step.op, 1, step.err, /*onwards=*/true);
      CHECK_FALSE(keys::rotate_intake(d, now, 1000000).ok());
    }
    auto ids = keys::load_intake_identities(d);
    REQUIRE(ids.ok());
    REQUIRE(ids->size() == 1);
    CHECK(age::recipient_of((*ids)[0]) == before);
  }
  // Cut short after the link: both names hold the old key, which still
  // opens; the next rotation finishes the interrupted one.
  {
    testing::Faults f(fsio::Op::rename, 1, EIO);
    CHECK_FALSE(keys::rotate_intake(d, now, 1000000).ok());
  }
  auto ids = keys::load_intake_identities(d);
  REQUIRE(ids.ok());
  for (const auto& id : *ids) CHECK(age::recipient_of(id) == before);
  auto finished = keys::rotate_intake(d, now, 1000000);
  REQUIRE(finished.ok());
  CHECK(*finished != before);
  ids = keys::load_intake_identities(d);
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 2);
  CHECK(age::recipient_of((*ids)[0]) == *finished);
  CHECK(age::recipient_of((*ids)[1]) == before);
}
