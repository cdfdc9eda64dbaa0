// Unit tests for workers/package.h: seal and open round trips, the
// package rules as open_package applies them to real tar archives
// (libarchive), the age layer's errors passing through, the sink's error
// taking precedence, and check_files.
#include "workers/package.h"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "common/handles.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace kp;
using kp::workers::OpenedPackage;

struct TarEntry {
  std::string name;
  std::string data;
  unsigned type = AE_IFREG;
  std::string link;  // symlink target or hard link source
};

// A tar archive in memory, optionally compressed (ARCHIVE_FILTER_*).
std::string tar_of(const std::vector<TarEntry>& entries, int filter = ARCHIVE_FILTER_NONE) {
  std::vector<char> buf(4 << 20);
  std::size_t used = 0;
  ArchiveWriter a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (filter == ARCHIVE_FILTER_GZIP) archive_write_add_filter_gzip(a.get());
  REQUIRE(archive_write_open_memory(a.get(), buf.data(), buf.size(), &used) == ARCHIVE_OK);
  for (const TarEntry& e : entries) {
    ArchiveEntry ent(archive_entry_new());
    archive_entry_set_pathname(ent.get(), e.name.c_str());
    archive_entry_set_mtime(ent.get(), 1767225600, 0);
    if (!e.link.empty() && e.type == 0) {
      archive_entry_set_filetype(ent.get(), AE_IFREG);
      archive_entry_set_hardlink(ent.get(), e.link.c_str());
    } else {
      archive_entry_set_filetype(ent.get(), e.type);
      archive_entry_set_perm(ent.get(), 0644);
      if (e.type == AE_IFLNK) archive_entry_set_symlink(ent.get(), e.link.c_str());
      if (e.type == AE_IFREG) archive_entry_set_size(ent.get(), static_cast<la_int64_t>(e.data.size()));
    }
    REQUIRE(archive_write_header(a.get(), ent.get()) == ARCHIVE_OK);
    if (e.type == AE_IFREG && !e.data.empty())
      REQUIRE(archive_write_data(a.get(), e.data.data(), e.data.size()) == static_cast<la_ssize_t>(e.data.size()));
  }
  REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
  return std::string(buf.data(), used);
}

// `plain` sealed to `to` in a memory file, positioned at its start.
Fd sealed(std::string_view plain, const age::PublicKey& to) {
  Fd fd(memfd_create("package", 0));
  REQUIRE(fd.valid());
  std::string out;
  std::size_t pos = 0;
  auto st = age::encrypt_stream(
      {to},
      [&](uint8_t* buf, std::size_t cap) -> Result<std::size_t> {
        std::size_t n = std::min(cap, plain.size() - pos);
        std::copy_n(plain.data() + pos, n, buf);
        pos += n;
        return n;
      },
      [&](const uint8_t* p, std::size_t n) -> Status {
        out.append(reinterpret_cast<const char*>(p), n);
        return ok_status();
      });
  REQUIRE(st.ok());
  REQUIRE(::write(fd.get(), out.data(), out.size()) == static_cast<ssize_t>(out.size()));
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  return fd;
}

struct World {
  age::Identity id = age::generate_identity().value();
  policy::PackageRules rules;

  std::vector<TarEntry> valid(std::string pdf = "%PDF-1.7 rapport") const {
    return {{"manifest.json", R"({"format": "knooppunt-signal/1"})"},
            {"manifest.json.minisig", "untrusted comment: x\nsig\n"},
            {"files", "", AE_IFDIR},
            {"files/rapport.pdf", std::move(pdf)}};
  }
  Result<OpenedPackage> open(const std::string& tar, workers::EntrySink* sink = nullptr) const {
    Fd fd = sealed(tar, id.public_key);
    return workers::open_package(fd.get(), {&id}, rules, sink);
  }
  std::string code(const std::string& tar) const {
    auto r = open(tar);
    return r.ok() ? std::string("ok") : r.error().code;
  }
};

class Collect : public workers::EntrySink {
 public:
  Status begin_entry(const std::string& name, uint64_t size, int64_t) override {
    names.push_back(name);
    sizes.push_back(size);
    data.emplace_back();
    return fail_at == static_cast<int>(names.size()) ? make_error("io-failed", "the sink is full") : ok_status();
  }
  Status write(const void* p, std::size_t n) override {
    data.back().append(static_cast<const char*>(p), n);
    return ok_status();
  }
  std::vector<std::string> names, data;
  std::vector<uint64_t> sizes;
  int fail_at = 0;  // begin_entry number that fails (1-based); 0: none
};

// Opens the sealed package in `fd` the parser child's way: the header
// here, the payload from its first chunk with open_payload.
Result<OpenedPackage> open_as_child(const World& w, int fd, workers::EntrySink* sink, bool helper,
                                    uint64_t* payload_offset = nullptr) {
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  auto header = age::open_header(
      [&](uint8_t* buf, std::size_t cap) -> Result<std::size_t> {
        return static_cast<std::size_t>(::read(fd, buf, cap));
      },
      {&w.id});
  REQUIRE(header.ok());
  if (payload_offset) *payload_offset = header->payload_offset;
  REQUIRE(::lseek(fd, static_cast<off_t>(header->payload_offset), SEEK_SET) > 0);
  return workers::open_payload(fd, header->payload_key.data(), header->header_bytes, w.rules, sink, helper);
}

// The threads of this process now.
std::size_t threads_now() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Collect, noting how many threads the process had at each file's start
// and at most while the files were written.
class CountThreads : public Collect {
 public:
  Status begin_entry(const std::string& name, uint64_t size, int64_t mtime) override {
    threads.push_back(threads_now());
    return Collect::begin_entry(name, size, mtime);
  }
  Status write(const void* p, std::size_t n) override {
    most = std::max(most, threads_now());
    return Collect::write(p, n);
  }
  std::vector<std::size_t> threads;
  std::size_t most = 0;
};

}  // namespace

TEST_CASE("package: a valid package opens with its manifest, signature, sizes and hashes") {
  World w;
  std::string big(300 * 1024, 'x');  // several 64 KiB age chunks and read blocks
  auto tar = w.valid();
  tar.push_back({"files/bijlage.txt", big});
  for (int filter : {ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP}) {
    Collect sink;
    auto pkg = w.open(tar_of(tar, filter), &sink);
    REQUIRE_MESSAGE(pkg.ok(), pkg.error().message());
    CHECK(pkg->manifest == R"({"format": "knooppunt-signal/1"})");
    CHECK(pkg->signature == "untrusted comment: x\nsig\n");
    REQUIRE(pkg->files.size() == 2);
    CHECK(pkg->files.at("files/rapport.pdf").size == 16);
    CHECK(pkg->files.at("files/rapport.pdf").sha256 == to_hex(sha256("%PDF-1.7 rapport")));
    CHECK(pkg->files.at("files/bijlage.txt").sha256 == to_hex(sha256(big)));
    CHECK(pkg->sealed_bytes > big.size() / (filter == ARCHIVE_FILTER_NONE ? 1 : 1000));
    // The sink saw the files (not the manifest or its signature), whole.
    CHECK(sink.names == std::vector<std::string>{"files/rapport.pdf", "files/bijlage.txt"});
    CHECK(sink.data[1] == big);
  }
}

TEST_CASE("package: the parser child's path (open_header, then open_payload) with and without the helper thread") {
  World w;
  std::string tar = tar_of(w.valid());
  for (bool helper : {true, false}) {
    Fd fd = sealed(tar, w.id.public_key);
    Collect sink;
    auto pkg = open_as_child(w, fd.get(), &sink, helper);
    REQUIRE_MESSAGE(pkg.ok(), pkg.error().message());
    CHECK(pkg->files.at("files/rapport.pdf").sha256 == to_hex(sha256("%PDF-1.7 rapport")));
    CHECK(sink.data == std::vector<std::string>{"%PDF-1.7 rapport"});
  }
}

TEST_CASE("package: a large package's chunks are opened on both threads, one up to 1 MiB starts no thread") {
  World w;
  std::string big(3u << 20, '\0');  // three reads of 16 chunks and a bit
  randombytes_buf_deterministic(big.data(), big.size(), std::array<unsigned char, 32>{7}.data());
  auto entries = w.valid();
  entries.push_back({"files/groot.csv", big});
  const std::string tar = tar_of(entries);
  const std::size_t before = threads_now();
  for (bool helper : {true, false}) {
    CAPTURE(helper);
    Fd fd = sealed(tar, w.id.public_key);
    CountThreads sink;
    auto pkg = open_as_child(w, fd.get(), &sink, helper);
    REQUIRE_MESSAGE(pkg.ok(), pkg.error().message());
    CHECK(pkg->files.at("files/groot.csv").sha256 == to_hex(sha256(big)));
    REQUIRE(sink.data.size() == 2);
    CHECK(sink.data[1] == big);
    // The first read (1 MiB, both files' start) is opened alone; the
    // helper starts with the second.
    CHECK(sink.threads == std::vector<std::size_t>{before, before});
    CHECK(sink.most == before + (helper ? 1 : 0));
  }
  CHECK(threads_now() == before);  // joined
  for (std::size_t size : {std::size_t(100), std::size_t(900) << 10}) {
    auto small = w.valid();
    small.push_back({"files/klein.csv", std::string(size, 'k')});
    Fd fd = sealed(tar_of(small), w.id.public_key);
    CountThreads sink;
    auto pkg = open_as_child(w, fd.get(), &sink, true);
    REQUIRE(pkg.ok());
    CHECK(sink.threads == std::vector<std::size_t>{before, before});
    CHECK(sink.most == before);
  }

  // Damage in a later read, a cut at a chunk boundary, a byte too many:
  // each refused with the age layer's code.
  auto damaged = [&](const std::function<void(int fd, uint64_t payload)>& harm) {
    Fd fd = sealed(tar, w.id.public_key);
    uint64_t payload = 0;
    REQUIRE(open_as_child(w, fd.get(), nullptr, true, &payload).ok());
    harm(fd.get(), payload);
    Collect sink;
    auto r = open_as_child(w, fd.get(), &sink, true);
    REQUIRE(!r.ok());
    CHECK((sink.data.empty() || sink.data.back().size() < big.size()));
    return r.error().code;
  };
  const off_t chunk = static_cast<off_t>(age::kChunkCipherSize);
  CHECK(damaged([&](int fd, uint64_t p) {
          const off_t at = static_cast<off_t>(p) + 37 * chunk + 100;
          char c = 0;
          REQUIRE(::pread(fd, &c, 1, at) == 1);
          c ^= 4;
          REQUIRE(::pwrite(fd, &c, 1, at) == 1);
        }) == "age-payload-invalid");
  CHECK(damaged([&](int fd, uint64_t p) { REQUIRE(::ftruncate(fd, static_cast<off_t>(p) + 40 * chunk) == 0); }) ==
        "age-truncated");
  CHECK(damaged([&](int fd, uint64_t) {
          const off_t end = ::lseek(fd, 0, SEEK_END);
          REQUIRE(::pwrite(fd, "x", 1, end) == 1);
        }) == "age-payload-invalid");
}

TEST_CASE("package: an upload from a pipe (short reads, no seeking) opens the same, and a cut one is refused") {
  World w;
  std::string big(2u << 20, '\0');
  randombytes_buf_deterministic(big.data(), big.size(), std::array<unsigned char, 32>{9}.data());
  auto entries = w.valid();
  entries.push_back({"files/groot.csv", big});
  const std::string tar = tar_of(entries);
  for (bool cut : {false, true}) {
    CAPTURE(cut);
    Fd file = sealed(tar, w.id.public_key);
    std::string bytes(static_cast<std::size_t>(::lseek(file.get(), 0, SEEK_END)), '\0');
    REQUIRE(::pread(file.get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    if (cut) bytes.resize(bytes.size() - 100);
    int ends[2];
    REQUIRE(::pipe(ends) == 0);
    Fd in(ends[0]), out(ends[1]);
    std::thread writer([&] {
      for (std::size_t at = 0; at < bytes.size();) {
        const ssize_t n = ::write(out.get(), bytes.data() + at, bytes.size() - at);
        if (n <= 0) break;
        at += static_cast<std::size_t>(n);
      }
      out.reset();
    });
    Collect sink;
    auto pkg = workers::open_package(in.get(), {&w.id}, w.rules, &sink);
    writer.join();  // both cases read to the end: the damage is at the end
    if (cut) {
      REQUIRE(!pkg.ok());
      CHECK(pkg.error().code.rfind("age-", 0) == 0);
    } else {
      REQUIRE_MESSAGE(pkg.ok(), pkg.error().message());
      CHECK(pkg->files.at("files/groot.csv").sha256 == to_hex(sha256(big)));
      CHECK(sink.data[1] == big);
    }
  }
}

TEST_CASE("package: what the package rules refuse, with their reason codes") {
  World w;
  auto with = [&](TarEntry e) {
    auto t = w.valid();
    t.push_back(std::move(e));
    return tar_of(t);
  };
  CHECK(w.code(with({"files/x.pdf", "", AE_IFLNK, "../manifest.json"})) == "package-entry-symlink");
  CHECK(w.code(with({"files/y.pdf", "", 0, "files/rapport.pdf"})) == "package-entry-hardlink");
  CHECK(w.code(with({"files/../x.pdf", "x"})) == "package-entry-traversal");
  CHECK(w.code(with({"/etc/x.pdf", "x"})) == "package-entry-absolute");
  CHECK(w.code(with({"other.pdf", "x"})) == "package-entry-outside");
  CHECK(w.code(with({"files/run.sh", "x"})) == "package-file-type");
  CHECK(w.code(with({"files/RAPPORT.PDF", "x"})) == "package-entry-duplicate");
  CHECK(w.code(with({"files/fifo.pdf", "", AE_IFIFO})) == "package-entry-special");
  auto no_manifest = w.valid();
  no_manifest.erase(no_manifest.begin());
  CHECK(w.code(tar_of(no_manifest)) == "package-manifest-missing");
  auto no_signature = w.valid();
  no_signature.erase(no_signature.begin() + 1);
  CHECK(w.code(tar_of(no_signature)) == "package-signature-missing");
  CHECK(w.code("this is not a tar archive at all, just text") == "package-not-tar");
}

TEST_CASE("package: limits: entries, unpacked bytes, compression ratio, sealed size") {
  World w;
  w.rules.max_entries = 4;
  auto five = w.valid();
  five.push_back({"files/b.pdf", "b"});
  CHECK(w.code(tar_of(five)) == "package-too-many-entries");

  World u;
  u.rules.max_unpacked_bytes = 1000;
  CHECK(u.code(tar_of(u.valid(std::string(2000, 'a')))) == "package-too-large-unpacked");

  World bomb;
  bomb.rules.ratio_grace_bytes = 64 * 1024;
  bomb.rules.max_compression_ratio = 10;
  CHECK(bomb.code(tar_of(bomb.valid(std::string(2 << 20, '\0')), ARCHIVE_FILTER_GZIP)) ==
        "package-compression-ratio");

  World small;
  small.rules.max_package_bytes = 2048;
  CHECK(small.code(tar_of(small.valid(std::string(8192, 'z')))) == "package-too-large");
}

TEST_CASE("package: the age layer's errors come first") {
  World w;
  std::string tar = tar_of(w.valid());
  auto other = age::generate_identity();
  REQUIRE(other.ok());
  Fd fd = sealed(tar, other->public_key);
  auto r = workers::open_package(fd.get(), {&w.id}, w.rules, nullptr);
  REQUIRE(!r.ok());
  CHECK(r.error().code == "age-no-match");

  // Cut off in the middle of the payload: truncated, never "opened".
  Fd whole = sealed(tar, w.id.public_key);
  off_t size = ::lseek(whole.get(), 0, SEEK_END);
  REQUIRE(::ftruncate(whole.get(), size - 20) == 0);
  REQUIRE(::lseek(whole.get(), 0, SEEK_SET) == 0);
  auto cut = workers::open_package(whole.get(), {&w.id}, w.rules, nullptr);
  REQUIRE(!cut.ok());
  CHECK(cut.error().code.rfind("age-", 0) == 0);
}

TEST_CASE("package: a sink's error stops the package and is the one reported") {
  World w;
  auto t = w.valid();
  t.push_back({"files/b.pdf", std::string(200 * 1024, 'b')});
  Collect sink;
  sink.fail_at = 1;
  auto r = w.open(tar_of(t), &sink);
  REQUIRE(!r.ok());
  CHECK(r.error().code == "io-failed");
  CHECK(sink.names.size() == 1);
}

TEST_CASE("package: check_files compares the manifest's list with what was read") {
  OpenedPackage pkg;
  pkg.files["files/a.pdf"] = {3, to_hex(sha256("abc"))};
  std::vector<policy::ManifestFile> listed{{"files/a.pdf", 3, to_hex(sha256("abc"))}};
  CHECK(workers::check_files(listed, pkg).ok());
  auto code = [&](std::vector<policy::ManifestFile> l) {
    auto st = workers::check_files(l, pkg);
    return st.ok() ? std::string("ok") : st.error().code;
  };
  CHECK(code({{"files/a.pdf", 4, to_hex(sha256("abc"))}}) == "manifest-hash-mismatch");
  CHECK(code({{"files/a.pdf", 3, to_hex(sha256("abd"))}}) == "manifest-hash-mismatch");
  CHECK(code({listed[0], {"files/b.pdf", 1, to_hex(sha256("b"))}}) == "manifest-file-missing");
  CHECK(code({}) == "manifest-file-extra");
}

TEST_CASE("package: seal_package and open_package agree") {
  testing::TempDir dir;
  std::string path = dir.path() + "/rapport.pdf";
  std::ofstream(path) << "%PDF-1.7 sealed";
  auto key = minisign::generate();
  REQUIRE(key.ok());
  World w;
  Fd out(memfd_create("sealed", 0));
  auto st = workers::seal_package(R"({"format": "knooppunt-signal/1", "files": []})",
                                  {{path, "files/rapport.pdf"}}, *key, {w.id.public_key}, out.get());
  REQUIRE_MESSAGE(st.ok(), st.error().message());
  REQUIRE(::lseek(out.get(), 0, SEEK_SET) == 0);
  auto pkg = workers::open_package(out.get(), {&w.id}, w.rules, nullptr);
  REQUIRE_MESSAGE(pkg.ok(), pkg.error().message());
  // The manifest lists the file as sealed, and its signature verifies.
  CHECK(pkg->manifest.find(to_hex(sha256("%PDF-1.7 sealed"))) != std::string::npos);
  CHECK(minisign::verify(key->public_key(), pkg->manifest, pkg->signature).ok());
  CHECK(pkg->files.at("files/rapport.pdf").size == 15);
}
