// Two-part files; see pair_file.h.
#include "common/pair_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kp::pair_file {

std::string payload_path(std::string_view name) {
  std::string p(kPayloadDir);
  p += '/';
  p += name;
  return p;
}

std::string encode_head(std::string_view prefix, uint64_t skip) {
  std::string out(prefix);
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((skip >> (8 * i)) & 0xff));
  return out;
}

Result<Opened> open(Fd head, Fd payload) {
  Opened o;
  struct stat pst {};
  KP_ENSURE(::fstat(head.get(), &o.st) == 0 && ::fstat(payload.get(), &pst) == 0, "io-failed",
            "cannot stat a queued file");
  KP_ENSURE(S_ISREG(o.st.st_mode) && S_ISREG(pst.st_mode), "pair-invalid", "not a regular file");
  const auto head_size = static_cast<uint64_t>(o.st.st_size);
  KP_ENSURE(head_size >= 8 && head_size <= kMaxPrefix + 8, "pair-invalid", "a queued file's head has a bad size");
  std::string bytes(head_size, '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(head.get(), bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    KP_ENSURE(n > 0, "io-failed", "cannot read a queued file's head");
    got += static_cast<std::size_t>(n);
  }
  for (std::size_t i = head_size - 8; i < head_size; ++i) o.skip = (o.skip << 8) | static_cast<uint8_t>(bytes[i]);
  bytes.resize(head_size - 8);
  const auto payload_size = static_cast<uint64_t>(pst.st_size);
  KP_ENSURE(o.skip <= payload_size, "pair-invalid", "a queued file's payload is shorter than its head says");
  o.prefix = std::move(bytes);
  o.size = o.prefix.size() + payload_size - o.skip;
  o.st.st_size = static_cast<off_t>(o.size);
  o.payload = std::move(payload);
  return o;
}

long read_at(const std::string& prefix, uint64_t skip, int payload, uint64_t off, uint8_t* out, std::size_t len) {
  std::size_t got = 0;
  if (off < prefix.size()) {
    got = std::min<std::size_t>(len, prefix.size() - off);
    std::memcpy(out, prefix.data() + off, got);
  }
  while (got < len) {
    const uint64_t at = off + got - prefix.size() + skip;
    const ssize_t n = ::pread(payload, out + got, len - got, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<long>(got);
}

}  // namespace kp::pair_file
