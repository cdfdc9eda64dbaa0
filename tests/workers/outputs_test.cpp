// Unit tests for workers/outputs.h: place() says what happened and never
// hides a failed rename or directory fsync (the caller then records nothing
// and the work file stays for the next try); a file already there wins.
#include "workers/outputs.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/atomic_file.h"
#include "tests/support/faults.h"
#include "tests/support/temp_dir.h"

using namespace kp;
using workers::Placement;

namespace {

bool there(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

}  // namespace

TEST_CASE("outputs: a failed rename or fsync is an error and the work file stays for the next try") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(ensure_dir(dir.path() + "/work").ok());
  REQUIRE(ensure_dir(dir.path() + "/out").ok());
  const std::string work = workers::work_path(d, "17", ".receipt.json");
  REQUIRE(workers::write_work_file(work, "{}", true).ok());
  for (fsio::Op op : {fsio::Op::rename, fsio::Op::fsync}) {
    testing::Faults f(op, 1, EIO);
    auto r = workers::place(work, dir.path() + "/out", "a.receipt.json");
    CHECK_FALSE(r.ok());
    if (op == fsio::Op::rename) {
      CHECK(there(work));
      CHECK_FALSE(there(dir.path() + "/out/a.receipt.json"));
    }
  }
  // The fsync failed after the rename: the file is placed, the caller did
  // not record it, and the next try finds it there.
  auto again = workers::place(work, dir.path() + "/out", "a.receipt.json");
  REQUIRE(again.ok());
  CHECK(*again == Placement::gone);
  CHECK(there(dir.path() + "/out/a.receipt.json"));
}

TEST_CASE("outputs: a file already there wins and the work copy is dropped") {
  testing::TempDir dir;
  DataDir d{dir.path()};
  REQUIRE(ensure_dir(dir.path() + "/work").ok());
  REQUIRE(ensure_dir(dir.path() + "/out").ok());
  REQUIRE(write_file_atomic(dir.path() + "/out/q.age", "first").ok());
  const std::string work = workers::work_path(d, "3", ".queue.age");
  REQUIRE(workers::write_work_file(work, "second", true).ok());
  auto r = workers::place(work, dir.path() + "/out", "q.age");
  REQUIRE(r.ok());
  CHECK(*r == Placement::already_there);
  CHECK_FALSE(there(work));
  REQUIRE(workers::write_work_file(work, "third", true).ok());
  {
    testing::Faults f(fsio::Op::write, 1, ENOSPC);  // a work file that cannot be written is an error...
    CHECK(workers::write_work_file(work, "fourth", true).error().code == "io-failed");
  }
  CHECK_FALSE(there(work));  // ... and leaves no incomplete file a later place() could move
  CHECK(*workers::place(work, dir.path() + "/out", "r.age") == Placement::gone);
  REQUIRE(workers::write_work_file(work, "fifth", true).ok());
  auto placed = workers::place(work, dir.path() + "/out", "r.age");
  REQUIRE(placed.ok());
  CHECK(*placed == Placement::placed);
}
