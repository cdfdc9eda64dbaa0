// libFuzzer target for workers/package.h: the package reader the parser
// child runs on every upload (age STREAM -> tar through libarchive -> the
// package rules -> hashes). The input is the tar (or compressed tar) a
// municipality would seal; the target seals it to a fixed identity and
// opens it the way the parser child does (open_header, then open_payload
// from the first chunk), with the hashing helper thread or without (mode
// bit 0). Small limits make the rules' refusals reachable.
//
// Checked: a package opens or is refused with a code; an opened one has its
// manifest and signature within their caps and only files below files/;
// the sink sees each file's declared size exactly, as many bytes as the
// returned size, and nothing outside files/.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>

#include "keys/age.h"
#include "policy/package_rules.h"
#include "tests/fuzz/fuzz.h"
#include "workers/package.h"

using namespace kp;

namespace {

const age::Identity& identity() {
  static const age::Identity id = [] {
    auto i = age::generate_identity();
    FUZZ_ASSERT(i.ok());
    return std::move(*i);
  }();
  return id;
}

class CheckingSink : public workers::EntrySink {
 public:
  Status begin_entry(const std::string& name, uint64_t size, int64_t) override {
    close_entry();
    FUZZ_ASSERT(name.rfind("files/", 0) == 0);
    FUZZ_ASSERT(!sizes.count(name));
    current = name;
    declared = size;
    written = 0;
    open = true;
    return ok_status();
  }
  Status write(const void*, std::size_t n) override {
    FUZZ_ASSERT(open);
    written += n;
    FUZZ_ASSERT(written <= declared);
    return ok_status();
  }
  void close_entry() {
    if (!open) return;
    sizes[current] = written;
    open = false;
  }
  std::map<std::string, uint64_t> sizes;
  std::string current;
  uint64_t declared = 0, written = 0;
  bool open = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::Split in = fuzz::split(data, size);
  int fd = memfd_create("package", 0);
  FUZZ_ASSERT(fd >= 0);
  std::size_t pos = 0;
  auto st = age::encrypt_stream(
      {identity().public_key},
      [&](uint8_t* buf, std::size_t cap) -> Result<std::size_t> {
        std::size_t n = std::min(cap, in.size - pos);
        if (n > 0) std::memcpy(buf, in.data + pos, n);
        pos += n;
        return n;
      },
      [&](const uint8_t* p, std::size_t n) -> Status {
        FUZZ_ASSERT(::write(fd, p, n) == static_cast<ssize_t>(n));
        return ok_status();
      });
  FUZZ_ASSERT(st.ok());
  FUZZ_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
  auto header = age::open_header(
      [&](uint8_t* buf, std::size_t cap) -> Result<std::size_t> {
        ssize_t n = ::read(fd, buf, cap);
        FUZZ_ASSERT(n >= 0);
        return static_cast<std::size_t>(n);
      },
      {&identity()});
  FUZZ_ASSERT(header.ok());
  FUZZ_ASSERT(lseek(fd, static_cast<off_t>(header->payload_offset), SEEK_SET) ==
              static_cast<off_t>(header->payload_offset));

  policy::PackageRules rules;
  rules.max_entries = 32;
  rules.max_manifest_bytes = 4096;
  rules.max_signature_bytes = 1024;
  rules.max_unpacked_bytes = 1 << 20;
  rules.ratio_grace_bytes = 64 << 10;
  rules.max_compression_ratio = 50;
  CheckingSink sink;
  auto pkg = workers::open_payload(fd, header->payload_key.data(), header->header_bytes, rules, &sink,
                                   (in.mode & 1) != 0);
  sink.close_entry();
  close(fd);
  if (!pkg.ok()) {
    FUZZ_ASSERT(!pkg.error().code.empty());
    return 0;
  }
  FUZZ_ASSERT(pkg->manifest.size() <= rules.max_manifest_bytes);
  FUZZ_ASSERT(pkg->signature.size() <= rules.max_signature_bytes);
  FUZZ_ASSERT(pkg->files.size() == sink.sizes.size());
  for (const auto& [name, seen] : pkg->files) {
    FUZZ_ASSERT(name.rfind("files/", 0) == 0);
    FUZZ_ASSERT(sink.sizes.count(name) && sink.sizes[name] == seen.size);
    FUZZ_ASSERT(seen.sha256.size() == 64);
  }
  return 0;
}
