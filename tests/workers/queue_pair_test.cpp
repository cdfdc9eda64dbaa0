// Unit tests for workers/queue_pair.h and common/pair_file.h: a package
// sealed to the intake identity is queued by rewrapping; the two parts,
// read as one file, open with the staff identity and not with the intake
// identity, and the served payload bytes are the uploaded ones.
#include "workers/queue_pair.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/pair_file.h"
#include "keys/minisign.h"
#include "tests/support/temp_dir.h"
#include "workers/package.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The queue entry NAME read as staff download it, through pair_file.
std::string served(const std::string& queue, const std::string& name) {
  kp::Fd head(::open((queue + "/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  kp::Fd payload(::open((queue + "/.payload/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE((head.valid() && payload.valid()));
  auto o = kp::pair_file::open(std::move(head), std::move(payload));
  REQUIRE(o.ok());
  std::string out(o->size, '\0');
  // Odd-sized reads that cross the boundary between the parts.
  for (uint64_t at = 0; at < o->size;) {
    long n = kp::pair_file::read_at(o->prefix, o->skip, o->payload.get(), at,
                                    reinterpret_cast<uint8_t*>(out.data() + at), 777);
    REQUIRE(n > 0);
    at += static_cast<uint64_t>(n);
  }
  CHECK(kp::pair_file::read_at(o->prefix, o->skip, o->payload.get(), o->size,
                               reinterpret_cast<uint8_t*>(out.data()), 1) == 0);
  return out;
}

}  // namespace

TEST_CASE("queue pair: a rewrapped package opens with the staff identity, payload bytes unchanged") {
  kp::testing::TempDir dir;
  const kp::DataDir d{dir.path()};
  for (const char* sub : {"/work", "/queue", "/inbox"}) std::filesystem::create_directory(dir.path() + sub);
  const std::string doc = dir.path() + "/rapport.pdf";
  std::ofstream(doc, std::ios::binary) << std::string(200 * 1024 + 3, 'r');
  auto intake = kp::age::generate_identity();
  auto staff1 = kp::age::generate_identity();
  auto staff2 = kp::age::generate_identity();
  auto sk = kp::minisign::generate();
  REQUIRE((intake.ok() && staff1.ok() && staff2.ok() && sk.ok()));
  const std::string upload = dir.path() + "/inbox/signal.age";
  {
    kp::Fd fd(::open(upload.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(kp::workers::seal_package("{\"kind\":\"signal\"}", {{doc, "files/rapport.pdf"}}, *sk,
                                      {intake->public_key}, fd.get())
                .ok());
  }
  kp::Fd inbox(::open((dir.path() + "/inbox").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  kp::Fd in(::open(upload.c_str(), O_RDONLY | O_CLOEXEC));
  uint64_t at = 0;
  auto source = [&](uint8_t* buf, std::size_t cap) -> kp::Result<std::size_t> {
    const ssize_t n = ::pread(in.get(), buf, cap, static_cast<off_t>(at));
    REQUIRE(n >= 0);
    at += static_cast<uint64_t>(n);
    return static_cast<std::size_t>(n);
  };
  auto h = kp::age::open_header(source, {&*intake});
  REQUIRE(h.ok());
  kp::workers::DirSyncs syncs;

  REQUIRE(kp::workers::prepare_queue_pair(d, 7, inbox.get(), "signal.age", in.get(), *h,
                                          {staff1->public_key, staff2->public_key})
              .ok());
  REQUIRE(kp::workers::place_queue_pair(d, 7, "rank-050-GM0363-case.age", syncs).ok());
  REQUIRE(syncs.flush().ok());
  CHECK_FALSE(std::filesystem::exists(kp::workers::queue_head_work(d, 7)));
  CHECK_FALSE(std::filesystem::exists(kp::workers::queue_payload_work(d, 7)));
  // The payload is the upload itself (a hard link), not a copy.
  struct stat a {}, b {};
  REQUIRE(::stat(upload.c_str(), &a) == 0);
  REQUIRE(::stat((d.queue() + "/.payload/rank-050-GM0363-case.age").c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);

  const std::string original = slurp(upload);
  const std::string queued = served(d.queue(), "rank-050-GM0363-case.age");
  // Same payload (nonce and chunks), new header.
  CHECK(queued.substr(queued.size() - (original.size() - h->payload_offset)) == original.substr(h->payload_offset));
  CHECK(queued.substr(0, 64) != original.substr(0, 64));

  const std::string copy = dir.path() + "/queued.age";
  std::ofstream(copy, std::ios::binary) << queued;
  for (const auto* who : {&*staff1, &*staff2}) {
    kp::Fd q(::open(copy.c_str(), O_RDONLY | O_CLOEXEC));
    auto opened = kp::workers::open_package(q.get(), {who}, kp::policy::PackageRules{}, nullptr);
    REQUIRE(opened.ok());
    CHECK(opened->files["files/rapport.pdf"].size == 200 * 1024 + 3);
  }
  kp::Fd q(::open(copy.c_str(), O_RDONLY | O_CLOEXEC));
  auto refused = kp::workers::open_package(q.get(), {&*intake}, kp::policy::PackageRules{}, nullptr);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == "age-no-match");

  // Placing again (a worker restarting) changes nothing.
  REQUIRE(kp::workers::place_queue_pair(d, 7, "rank-050-GM0363-case.age", syncs).ok());
  REQUIRE(syncs.flush().ok());
  CHECK(served(d.queue(), "rank-050-GM0363-case.age") == queued);
}

TEST_CASE("pair file: a head that lies about its payload is refused") {
  kp::testing::TempDir dir;
  const std::string head = dir.path() + "/h", payload = dir.path() + "/p";
  std::ofstream(payload, std::ios::binary) << "0123456789";
  std::ofstream(head, std::ios::binary) << kp::pair_file::encode_head("HEAD", 11);
  auto bad = kp::pair_file::open(kp::Fd(::open(head.c_str(), O_RDONLY)), kp::Fd(::open(payload.c_str(), O_RDONLY)));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "pair-invalid");
  std::ofstream(head, std::ios::binary) << "short";
  auto tiny = kp::pair_file::open(kp::Fd(::open(head.c_str(), O_RDONLY)), kp::Fd(::open(payload.c_str(), O_RDONLY)));
  REQUIRE_FALSE(tiny.ok());
  std::ofstream(head, std::ios::binary) << kp::pair_file::encode_head("HEAD", 4);
  auto good = kp::pair_file::open(kp::Fd(::open(head.c_str(), O_RDONLY)), kp::Fd(::open(payload.c_str(), O_RDONLY)));
  REQUIRE(good.ok());
  CHECK(good->size == 4 + 6);
  std::string out(10, '\0');
  CHECK(kp::pair_file::read_at(good->prefix, good->skip, good->payload.get(), 0,
                               reinterpret_cast<uint8_t*>(out.data()), 10) == 10);
  CHECK(out == "HEAD456789");
}
