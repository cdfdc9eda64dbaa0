// Unit tests for workers/reseal.h: a TarSealer whose output fails (disk
// full: /dev/full answers every write with ENOSPC) reports io-failed and is
// destroyed cleanly. Destroying it used to run libarchive's final flush into
// an already destroyed member and corrupt the heap (issue: the intake worker
// aborted with "malloc_consolidate(): unaligned fastbin chunk detected");
// the ASan build turns a regression into a failure here.
#include "workers/reseal.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "common/handles.h"
#include "keys/age.h"

namespace {

std::vector<kp::age::PublicKey> one_recipient() {
  auto id = kp::age::generate_identity();
  REQUIRE(id.ok());
  return {id->public_key};
}

}  // namespace

TEST_CASE("a sealer on a full disk refuses at its header with io-failed") {
  kp::Fd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));  // every write: ENOSPC
  REQUIRE(full.valid());
  auto sealer = kp::workers::TarSealer::create(full.get(), one_recipient());
  REQUIRE_FALSE(sealer.ok());
  CHECK(sealer.error().code == "io-failed");
}

TEST_CASE("a sealer whose output fails mid-stream reports io-failed and is destroyed cleanly") {
  ::signal(SIGPIPE, SIG_IGN);
  for (std::size_t size : {std::size_t(1000), std::size_t(200 * 1024), std::size_t(3 << 20)}) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    kp::Fd rd(p[0]);
    kp::Fd wr(p[1]);
    auto sealer = kp::workers::TarSealer::create(wr.get(), one_recipient());
    REQUIRE(sealer.ok());  // the header fits in the pipe
    rd.reset();            // from now on every write fails (EPIPE), as on a full disk
    const std::string body(size, 'x');
    kp::Status s = (*sealer)->add("files/rapport.pdf", body, 0);
    if (s.ok()) s = (*sealer)->finish();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == "io-failed");
    CHECK(s.error().detail == "cannot write the sealed output");
    // Destroyed unfinished: libarchive's closing flush must not reach the
    // sink's already destroyed state (heap corruption before the fix).
    sealer->reset();
  }
}
