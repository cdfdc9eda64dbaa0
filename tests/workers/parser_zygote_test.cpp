// Unit tests for workers/parser_zygote.h and parser_child.h: a real package
// parsed by a real sandboxed child, forked by a real zygote; a broken
// payload refused with the age layer's code; a child past its time limit
// killed and reported.
#include "workers/parser_zygote.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>

#include "common/digest.h"
#include "keys/age.h"
#include "keys/minisign.h"
#include "tests/support/temp_dir.h"
#include "workers/package.h"

namespace {

using kp::workers::parser::Job;
using kp::workers::parser::Zygote;

struct Sealed {
  std::string path;
  kp::age::Identity intake;
};

// A package of `size` bytes of one file, sealed by seal_package to a fresh
// intake identity, in `dir`.
Sealed make_package(const std::string& dir, std::size_t size) {
  const std::string doc = dir + "/rapport.pdf";
  {
    std::ofstream f(doc, std::ios::binary);
    std::string body(size, 'x');
    f << body;
  }
  auto id = kp::age::generate_identity();
  auto sk = kp::minisign::generate();
  REQUIRE((id.ok() && sk.ok()));
  const std::string out = dir + "/package.age";
  kp::Fd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  REQUIRE(fd.valid());
  REQUIRE(kp::workers::seal_package("{\"kind\":\"signal\"}", {{doc, "files/rapport.pdf"}}, *sk, {id->public_key},
                                    fd.get())
              .ok());
  return Sealed{out, std::move(*id)};
}

// The header opened with the intake identity, as the worker does it.
Job job_with(const kp::age::Identity& intake, int fd, uint32_t timeout_ms) {
  auto source = [fd, at = uint64_t(0)](uint8_t* buf, std::size_t cap) mutable -> kp::Result<std::size_t> {
    const ssize_t n = ::pread(fd, buf, cap, static_cast<off_t>(at));
    REQUIRE(n >= 0);
    at += static_cast<uint64_t>(n);
    return static_cast<std::size_t>(n);
  };
  auto h = kp::age::open_header(source, {&intake});
  REQUIRE(h.ok());
  Job j;
  j.payload_key = std::move(h->payload_key);
  j.header_bytes = h->payload_offset;
  j.payload_offset = h->payload_offset;
  j.timeout_ms = timeout_ms;
  return j;
}

Job job_for(const Sealed& s, int fd, uint32_t timeout_ms) { return job_with(s.intake, fd, timeout_ms); }

}  // namespace

TEST_CASE("parser zygote: a sandboxed child parses and hashes a package") {
  kp::testing::TempDir dir;
  auto zygote = Zygote::start(dir.path());
  REQUIRE(zygote.ok());
  const Sealed s = make_package(dir.path(), 300 * 1024 + 7);
  kp::Fd in(::open(s.path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(in.valid());
  Job j = job_for(s, in.get(), 60000);
  auto a = zygote->parse(j, in.get());
  REQUIRE(a.ok());
  REQUIRE_MESSAGE(!a->rejection, a->rejection->message());
  CHECK(a->package.manifest.find("\"files\"") != std::string::npos);
  REQUIRE(a->package.files.count("files/rapport.pdf") == 1);
  CHECK(a->package.files["files/rapport.pdf"].size == 300 * 1024 + 7);
  CHECK(a->package.files["files/rapport.pdf"].sha256 == kp::to_hex(kp::sha256(std::string(300 * 1024 + 7, 'x'))));
  // The same zygote serves the next package.
  Job j2 = job_for(s, in.get(), 60000);
  auto a2 = zygote->parse(j2, in.get());
  REQUIRE(a2.ok());
  CHECK_FALSE(a2->rejection);
}

TEST_CASE("parser zygote: a reseal job writes the files and the extra entries, sealed to the new recipients") {
  kp::testing::TempDir dir;
  auto zygote = Zygote::start(dir.path());
  REQUIRE(zygote.ok());
  const Sealed s = make_package(dir.path(), 70 * 1024);
  kp::Fd in(::open(s.path.c_str(), O_RDONLY | O_CLOEXEC));
  const std::string resealed = dir.path() + "/resealed.age";
  kp::Fd out(::open(resealed.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  REQUIRE((in.valid() && out.valid()));
  auto muni = kp::age::generate_identity();
  REQUIRE(muni.ok());
  Job j = job_for(s, in.get(), 60000);
  j.reseal_to = {muni->public_key};
  const auto extras = kp::workers::parser::encode_extras({{"manifest.json", "{\"hub\":1}"},
                                                          {"manifest.json.minisig", "sig"}});
  kp::Fd x(::memfd_create("extras", MFD_CLOEXEC));
  REQUIRE(::write(x.get(), extras.data(), extras.size()) == static_cast<ssize_t>(extras.size()));
  REQUIRE(::lseek(x.get(), 0, SEEK_SET) == 0);
  auto a = zygote->parse(j, in.get(), out.get(), x.get());
  REQUIRE(a.ok());
  REQUIRE_MESSAGE(!a->rejection, a->rejection->message());
  kp::Fd again(::open(resealed.c_str(), O_RDONLY | O_CLOEXEC));
  auto reopened = kp::workers::open_package(again.get(), {&*muni}, kp::policy::PackageRules{}, nullptr);
  REQUIRE(reopened.ok());
  CHECK(reopened->manifest == "{\"hub\":1}");
  CHECK(reopened->signature == "sig");
  CHECK(reopened->files["files/rapport.pdf"].sha256 == a->package.files["files/rapport.pdf"].sha256);
  // Without the extras descriptor a reseal job is refused, never half done.
  kp::Fd out2(::open((dir.path() + "/r2.age").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  Job j2 = job_for(s, in.get(), 60000);
  j2.reseal_to = {muni->public_key};
  auto b = zygote->parse(j2, in.get(), out2.get(), -1);
  REQUIRE(b.ok());
  CHECK(b->rejection);
}

TEST_CASE("parser zygote: one package's payload key opens no other package sealed to the same identity") {
  // What a child is given (one payload key) is worth that one package: the
  // key is derived from that package's own file key and nonce.
  kp::testing::TempDir dir;
  auto zygote = Zygote::start(dir.path());
  REQUIRE(zygote.ok());
  const Sealed a = make_package(dir.path(), 4096);
  const std::string doc = dir.path() + "/other.pdf";
  std::ofstream(doc, std::ios::binary) << "another municipality's package";
  auto sk = kp::minisign::generate();
  REQUIRE(sk.ok());
  const std::string b_path = dir.path() + "/b.age";
  {
    kp::Fd b_out(::open(b_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(kp::workers::seal_package("{}", {{doc, "files/other.pdf"}}, *sk, {a.intake.public_key}, b_out.get())
                .ok());
  }
  kp::Fd a_in(::open(a.path.c_str(), O_RDONLY | O_CLOEXEC));
  kp::Fd b_in(::open(b_path.c_str(), O_RDONLY | O_CLOEXEC));
  const Job for_b = job_with(a.intake, b_in.get(), 60000);
  Job j = job_for(a, a_in.get(), 60000);  // a's key ...
  j.payload_offset = for_b.payload_offset;  // ... on b's payload
  j.header_bytes = for_b.header_bytes;
  auto r = zygote->parse(j, b_in.get());
  REQUIRE(r.ok());
  REQUIRE(r->rejection);
  CHECK(r->rejection->code == "age-payload-invalid");
}

TEST_CASE("parser zygote: a wrong payload key and a child past its time limit are rejections") {
  kp::testing::TempDir dir;
  auto zygote = Zygote::start(dir.path());
  REQUIRE(zygote.ok());
  const Sealed s = make_package(dir.path(), 8 << 20);
  kp::Fd in(::open(s.path.c_str(), O_RDONLY | O_CLOEXEC));
  Job wrong = job_for(s, in.get(), 60000);
  wrong.payload_key.data()[0] ^= 1;
  auto a = zygote->parse(wrong, in.get());
  REQUIRE(a.ok());
  REQUIRE(a->rejection);
  CHECK(a->rejection->code == "age-payload-invalid");
  Job slow = job_for(s, in.get(), 1);  // 1 ms: not enough to fork, confine and read 8 MiB
  auto t = zygote->parse(slow, in.get());
  REQUIRE(t.ok());
  REQUIRE(t->rejection);
  CHECK(t->rejection->code == "package-parser-timeout");
  Job fine = job_for(s, in.get(), 60000);
  auto f = zygote->parse(fine, in.get());
  REQUIRE(f.ok());
  CHECK_FALSE(f->rejection);
}
