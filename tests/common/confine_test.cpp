// Unit tests for common/confine.h against real temporary directories:
// symlinks and hard links planted by the host, names that try to climb out,
// twin directories whose names share a prefix, no-replace renames, listings.
// The symlink cases run twice: through openat2 and through the openat
// fallback.
#include "common/confine.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using namespace kp::confine;

namespace {

// A fresh directory under $TMPDIR (or /tmp), removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kp-confine-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& p, std::string_view content) {
  std::ofstream f(p, std::ios::binary);
  f << content;
}

std::string read_fd(int fd) {
  std::string s;
  char buf[256];
  ssize_t n;
  off_t off = 0;
  while ((n = ::pread(fd, buf, sizeof buf, off)) > 0) {
    s.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
  return s;
}

std::string code_of(const kp::Result<kp::Fd>& r) {
  return r.ok() ? "ok" : r.error().code;
}
std::string code_of(const kp::Status& r) {
  return r.ok() ? "ok" : r.error().code;
}

// Runs the body once with openat2 and once with the openat fallback.
struct FallbackGuard {
  explicit FallbackGuard(bool on) { testing::force_openat_fallback(on); }
  ~FallbackGuard() { testing::force_openat_fallback(false); }
};

}  // namespace

TEST_CASE("confine single-component names") {
  CHECK(is_single_component("a.pdf"));
  CHECK(is_single_component(".hidden"));
  CHECK(is_single_component("..."));
  CHECK(is_single_component(std::string(255, 'x')));
  CHECK_FALSE(is_single_component(""));
  CHECK_FALSE(is_single_component("."));
  CHECK_FALSE(is_single_component(".."));
  CHECK_FALSE(is_single_component("a/b"));
  CHECK_FALSE(is_single_component("/a"));
  CHECK_FALSE(is_single_component("a/"));
  CHECK_FALSE(is_single_component(std::string("a\0b", 3)));
  CHECK_FALSE(is_single_component(std::string(256, 'x')));
}

TEST_CASE("confine open_beneath opens plain files, refuses bad names") {
  for (bool fallback : {false, true}) {
    CAPTURE(fallback);
    FallbackGuard g(fallback);
    TempDir t;
    fs::create_directory(t.path / "inbox");
    write_file(t.path / "inbox" / "a.pdf", "hello");
    write_file(t.path / "secret", "outside");
    auto dir = open_dir((t.path / "inbox").string());
    REQUIRE(dir.ok());

    auto f = open_beneath(dir->get(), "a.pdf", O_RDONLY);
    REQUIRE(f.ok());
    CHECK(read_fd(f->get()) == "hello");
    CHECK((::fcntl(f->get(), F_GETFD) & FD_CLOEXEC) != 0);

    CHECK(code_of(open_beneath(dir->get(), "../secret", O_RDONLY)) == "bad-name");
    CHECK(code_of(open_beneath(dir->get(), "..", O_RDONLY)) == "bad-name");
    CHECK(code_of(open_beneath(dir->get(), ".", O_RDONLY)) == "bad-name");
    CHECK(code_of(open_beneath(dir->get(), "", O_RDONLY)) == "bad-name");
    CHECK(code_of(open_beneath(dir->get(), "/etc/passwd", O_RDONLY)) == "bad-name");
    CHECK(code_of(open_beneath(dir->get(), "sub/a.pdf", O_RDONLY)) == "bad-name");
    CHECK(code_of(open_beneath(dir->get(), std::string("a.pdf\0x", 7), O_RDONLY)) == "bad-name");
    CHECK(code_of(open_beneath(dir->get(), std::string(256, 'n'), O_RDONLY)) == "bad-name");
    CHECK(code_of(open_beneath(dir->get(), "missing", O_RDONLY)) == "not-found");

    // Create, exclusively.
    auto c = open_beneath(dir->get(), "new.part", O_WRONLY | O_CREAT | O_EXCL, 0600);
    REQUIRE(c.ok());
    CHECK(::pwrite(c->get(), "xyz", 3, 0) == 3);
    CHECK(code_of(open_beneath(dir->get(), "new.part", O_WRONLY | O_CREAT | O_EXCL, 0600)) ==
          "already-exists");
    CHECK((fs::status(t.path / "inbox" / "new.part").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
  }
}

TEST_CASE("confine symlinks planted on disk are refused") {
  for (bool fallback : {false, true}) {
    CAPTURE(fallback);
    FallbackGuard g(fallback);
    TempDir t;
    fs::create_directory(t.path / "box");
    fs::create_directory(t.path / "elsewhere");
    write_file(t.path / "secret.txt", "outside");
    fs::create_symlink(t.path / "secret.txt", t.path / "box" / "to-file");
    fs::create_symlink(t.path / "elsewhere", t.path / "box" / "to-dir");
    fs::create_symlink("../secret.txt", t.path / "box" / "relative");
    fs::create_symlink(t.path / "box" / "nowhere", t.path / "box" / "dangling");
    write_file(t.path / "box" / "inside.txt", "in");
    fs::create_symlink("inside.txt", t.path / "box" / "to-inside");
    auto dir = open_dir((t.path / "box").string());
    REQUIRE(dir.ok());

    CHECK(code_of(open_beneath(dir->get(), "to-file", O_RDONLY)) == "symlink-refused");
    CHECK(code_of(open_beneath(dir->get(), "relative", O_RDONLY)) == "symlink-refused");
    CHECK(code_of(open_beneath(dir->get(), "to-dir", O_RDONLY)) == "symlink-refused");
    CHECK(code_of(open_subdir(dir->get(), "to-dir")) == "symlink-refused");
    // Even a link that stays inside is refused: no symlinks at all.
    CHECK(code_of(open_beneath(dir->get(), "to-inside", O_RDONLY)) == "symlink-refused");
    // Writing through a link, or creating through a dangling one, never
    // reaches the target.
    CHECK(code_of(open_beneath(dir->get(), "to-file", O_WRONLY | O_TRUNC)) == "symlink-refused");
    auto excl = open_beneath(dir->get(), "dangling", O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK_FALSE(excl.ok());
    auto creat = open_beneath(dir->get(), "dangling", O_WRONLY | O_CREAT, 0600);
    CHECK(code_of(creat) == "symlink-refused");
    CHECK_FALSE(fs::exists(t.path / "box" / "nowhere"));
    std::ifstream s(t.path / "secret.txt");
    std::string content;
    s >> content;
    CHECK(content == "outside");

    // stat does not follow; unlink removes the link, not the target.
    auto st = stat_beneath(dir->get(), "to-file");
    REQUIRE(st.ok());
    CHECK(S_ISLNK(st->st_mode));
    CHECK(code_of(unlink_beneath(dir->get(), "to-file")) == "ok");
    CHECK(fs::exists(t.path / "secret.txt"));
    CHECK_FALSE(fs::is_symlink(t.path / "box" / "to-file"));
  }
}

TEST_CASE("confine twin directories with a shared name prefix stay apart") {
  TempDir t;
  fs::create_directories(t.path / "boxes" / "GM0363");
  fs::create_directories(t.path / "boxes" / "GM03630");
  write_file(t.path / "boxes" / "GM03630" / "x", "other municipality");
  auto boxes = open_dir((t.path / "boxes").string());
  REQUIRE(boxes.ok());
  auto a = open_subdir(boxes->get(), "GM0363");
  REQUIRE(a.ok());

  CHECK(code_of(open_beneath(a->get(), "x", O_RDONLY)) == "not-found");
  CHECK_FALSE(stat_beneath(a->get(), "x").ok());
  CHECK(code_of(open_beneath(a->get(), "0/x", O_RDONLY)) == "bad-name");
  CHECK(code_of(open_beneath(a->get(), "../GM03630/x", O_RDONLY)) == "bad-name");
  auto created = open_beneath(a->get(), "x", O_WRONLY | O_CREAT | O_EXCL, 0600);
  REQUIRE(created.ok());
  CHECK(::pwrite(created->get(), "mine", 4, 0) == 4);
  std::ifstream other(t.path / "boxes" / "GM03630" / "x");
  std::string line;
  std::getline(other, line);
  CHECK(line == "other municipality");
  auto mine = open_beneath(a->get(), "x", O_RDONLY);
  REQUIRE(mine.ok());
  CHECK(read_fd(mine->get()) == "mine");
}

TEST_CASE("confine hard links planted by the host open only their own name") {
  TempDir t;
  fs::create_directory(t.path / "box");
  fs::create_directory(t.path / "other");
  write_file(t.path / "other" / "secret", "s3cret");
  fs::create_hard_link(t.path / "other" / "secret", t.path / "box" / "h");
  auto dir = open_dir((t.path / "box").string());
  REQUIRE(dir.ok());
  // The name inside the box opens (it is the box's entry); the caller can
  // see the shared inode by its link count.
  auto f = open_beneath(dir->get(), "h", O_RDONLY);
  REQUIRE(f.ok());
  auto st = stat_beneath(dir->get(), "h");
  REQUIRE(st.ok());
  CHECK(st->st_nlink == 2);
  // The other name stays unreachable from the box.
  CHECK(code_of(open_beneath(dir->get(), "secret", O_RDONLY)) == "not-found");
  CHECK(code_of(open_beneath(dir->get(), "../other/secret", O_RDONLY)) == "bad-name");
  // Removing the name in the box leaves the other name alone.
  CHECK(code_of(unlink_beneath(dir->get(), "h")) == "ok");
  CHECK(fs::exists(t.path / "other" / "secret"));
}

TEST_CASE("confine rename_noreplace never replaces") {
  TempDir t;
  fs::create_directory(t.path / "inbox");
  fs::create_directory(t.path / "archive");
  write_file(t.path / "inbox" / "a.part", "new");
  write_file(t.path / "inbox" / "a.age", "old");
  auto in = open_dir((t.path / "inbox").string());
  auto ar = open_dir((t.path / "archive").string());
  REQUIRE(in.ok());
  REQUIRE(ar.ok());

  auto r = rename_noreplace(in->get(), "a.part", in->get(), "a.age");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "already-exists");
  std::ifstream old(t.path / "inbox" / "a.age");
  std::string s;
  old >> s;
  CHECK(s == "old");
  CHECK(fs::exists(t.path / "inbox" / "a.part"));

  CHECK(code_of(rename_noreplace(in->get(), "a.part", in->get(), "b.age")) == "ok");
  CHECK(fs::exists(t.path / "inbox" / "b.age"));
  CHECK_FALSE(fs::exists(t.path / "inbox" / "a.part"));
  // Across two directory fds.
  CHECK(code_of(rename_noreplace(in->get(), "b.age", ar->get(), "b.age")) == "ok");
  CHECK(fs::exists(t.path / "archive" / "b.age"));

  CHECK(code_of(rename_noreplace(in->get(), "a.age", in->get(), "../escape")) == "bad-name");
  CHECK(code_of(rename_noreplace(in->get(), "../inbox/a.age", in->get(), "z")) == "bad-name");
  CHECK(code_of(rename_noreplace(in->get(), "missing", in->get(), "z")) == "not-found");
  // Onto a symlink name that exists: refused too (the link is an entry).
  fs::create_symlink("/nonexistent", t.path / "inbox" / "link");
  CHECK(code_of(rename_noreplace(in->get(), "a.age", in->get(), "link")) == "already-exists");
}

TEST_CASE("confine list_dir reports every entry with its own type") {
  TempDir t;
  fs::create_directory(t.path / "d");
  write_file(t.path / "d" / "a.pdf", "12345");
  write_file(t.path / "d" / ".hidden", "");
  fs::create_directory(t.path / "d" / "sub");
  fs::create_symlink("/etc/passwd", t.path / "d" / "link");
  REQUIRE(::mkfifo((t.path / "d" / "fifo").c_str(), 0600) == 0);
  auto dir = open_dir((t.path / "d").string());
  REQUIRE(dir.ok());

  auto ls = list_dir(dir->get());
  REQUIRE(ls.ok());
  std::vector<std::string> names;
  for (const auto& e : *ls) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{".hidden", "a.pdf", "fifo", "link", "sub"});
  for (const auto& e : *ls) {
    CAPTURE(e.name);
    if (e.name == "a.pdf") {
      CHECK(e.is_regular());
      CHECK(e.st.st_size == 5);
    }
    if (e.name == "sub") CHECK(e.is_dir());
    if (e.name == "link") {
      CHECK(e.is_symlink());
      CHECK_FALSE(e.is_regular());
    }
    if (e.name == "fifo") CHECK(S_ISFIFO(e.st.st_mode));
  }
  // Listing twice from the same fd gives the same answer (fresh offset).
  auto again = list_dir(dir->get());
  REQUIRE(again.ok());
  CHECK(again->size() == 5);

  auto capped = list_dir(dir->get(), 3);
  REQUIRE_FALSE(capped.ok());
  CHECK(capped.error().code == "too-many-entries");

  // A FIFO planted by the host does not hang an open for reading.
  auto fifo = open_beneath(dir->get(), "fifo", O_RDONLY);
  CHECK(fifo.ok());

  // A larger directory, past one getdents buffer.
  fs::create_directory(t.path / "big");
  for (int i = 0; i < 1500; ++i)
    write_file(t.path / "big" / ("file-" + std::to_string(i) + std::string(40, 'p')), "");
  auto big = open_dir((t.path / "big").string());
  REQUIRE(big.ok());
  auto bl = list_dir(big->get());
  REQUIRE(bl.ok());
  CHECK(bl->size() == 1500);
}

TEST_CASE("confine open_dir, stat, unlink, fsync and errno mapping") {
  TempDir t;
  write_file(t.path / "f", "x");
  CHECK(code_of(open_dir((t.path / "missing").string())) == "not-found");
  CHECK(code_of(open_dir((t.path / "f").string())) == "not-a-directory");
  auto dir = open_dir(t.path.string());
  REQUIRE(dir.ok());
  CHECK(code_of(open_subdir(dir->get(), "f")) == "not-a-directory");
  CHECK(code_of(fsync_dir(dir->get())) == "ok");
  CHECK(code_of(fsync_dir(-1)) == "io-error");

  auto st = stat_beneath(dir->get(), "f");
  REQUIRE(st.ok());
  CHECK(S_ISREG(st->st_mode));
  CHECK(stat_beneath(dir->get(), "..").error().code == "bad-name");
  CHECK(stat_beneath(dir->get(), "nope").error().code == "not-found");

  CHECK(code_of(unlink_beneath(dir->get(), "a/b")) == "bad-name");
  CHECK(code_of(unlink_beneath(dir->get(), "nope")) == "not-found");
  fs::create_directory(t.path / "sub");
  CHECK(code_of(unlink_beneath(dir->get(), "sub")) == "is-a-directory");
  CHECK(code_of(unlink_beneath(dir->get(), "f")) == "ok");
  CHECK_FALSE(fs::exists(t.path / "f"));

  CHECK(error_from_errno(ELOOP, "open", "x").code == "symlink-refused");
  CHECK(error_from_errno(EXDEV, "open", "x").code == "outside-root");
  CHECK(error_from_errno(EXDEV, "rename", "x").code == "cross-device");
  CHECK(error_from_errno(ENOSPC, "write", "x").code == "no-space");
  CHECK(error_from_errno(EIO, "read", "x").code == "io-error");
  CHECK(error_from_errno(EACCES, "open", "x").detail.find("open 'x'") == 0);
}
