// Unit tests for common/fsio.h and what goes through it: short writes and
// EINTR are absorbed, ENOSPC/EIO are reported, never swallowed; an atomic
// file write that fails leaves the old file and no temporary one.
#include "common/fsio.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/atomic_file.h"
#include "common/handles.h"
#include "tests/support/faults.h"
#include "tests/support/temp_dir.h"

using namespace kp;
using testing::Faults;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("fsio: without a hook the calls are the plain ones") {
  testing::TempDir dir;
  const std::string p = dir.path() + "/a";
  Fd fd(fsio::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  REQUIRE(fd.valid());
  CHECK(fsio::write_all(fd.get(), "hello", 5));
  CHECK(fsio::fsync(fd.get()) == 0);
  CHECK(fsio::rename(p.c_str(), (p + "2").c_str()) == 0);
  CHECK(fsio::unlink((p + "2").c_str()) == 0);
}

TEST_CASE("fsio: short writes and EINTR are absorbed by write_all") {
  testing::TempDir dir;
  const std::string p = dir.path() + "/a";
  const std::string body(100000, 'z');
  for (int err : {0, EINTR}) {
    Fd fd(fsio::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(fd.valid());
    {
      Faults f(fsio::Op::write, 1, err, /*onwards=*/err == 0);  // every write short, or the first interrupted
      CHECK(fsio::write_all(fd.get(), body.data(), body.size()));
      CHECK(f.calls() > 1);
    }
    CHECK(slurp(p) == body);
  }
}

TEST_CASE("fsio: ENOSPC and EIO are reported with errno") {
  testing::TempDir dir;
  const std::string p = dir.path() + "/a";
  Fd fd(fsio::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(fd.valid());
  {
    Faults f(fsio::Op::write, 2, ENOSPC);
    CHECK(fsio::write_all(fd.get(), "0123456789", 10));  // call 1 goes through
    CHECK_FALSE(fsio::write_all(fd.get(), "abc", 3));
    CHECK(errno == ENOSPC);
  }
  {
    Faults f(fsio::Op::fsync, 1, EIO);
    CHECK(fsio::fsync(fd.get()) != 0);
    CHECK(errno == EIO);
  }
  {
    Faults f(fsio::Op::fsync, 1, EINTR);  // retried
    CHECK(fsio::fsync(fd.get()) == 0);
  }
}

TEST_CASE("fsio: a failed atomic write keeps the old file and leaves no temporary") {
  testing::TempDir dir;
  const std::string p = dir.path() + "/checkpoint";
  REQUIRE(write_file_atomic(p, "old\n").ok());
  for (fsio::Op op : {fsio::Op::open, fsio::Op::write, fsio::Op::fsync, fsio::Op::rename}) {
    Faults f(op, 1, op == fsio::Op::write ? ENOSPC : EIO);
    Status s = write_file_atomic(p, "new\n");
    CHECK_FALSE(s.ok());
    CHECK(s.error().code == "io-failed");
  }
  CHECK(slurp(p) == "old\n");
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}
