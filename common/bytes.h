// Bounded readers and writers for wire formats.
//
// Every byte a client sends is parsed through a Reader: it never reads past
// its end, every length-prefixed field has a hard cap, and a failed read
// leaves the reader in a failed state so that "parse fully, then act" is
// one check at the end (`if (!r.ok()) ...`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace kp {

class Reader {
 public:
  Reader(const uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  explicit Reader(std::string_view s) : Reader(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}

  bool ok() const { return ok_; }
  std::size_t remaining() const { return ok_ ? n_ - pos_ : 0; }
  bool at_end() const { return ok_ && pos_ == n_; }

  uint8_t u8() {
    if (!need(1)) return 0;
    return p_[pos_++];
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v = (uint32_t(p_[pos_]) << 24) | (uint32_t(p_[pos_ + 1]) << 16) |
                 (uint32_t(p_[pos_ + 2]) << 8) | uint32_t(p_[pos_ + 3]);
    pos_ += 4;
    return v;
  }
  uint64_t u64() {
    uint64_t hi = u32();
    uint64_t lo = u32();
    return (hi << 32) | lo;
  }
  // A uint32-length-prefixed string of at most `cap` bytes; the view points
  // into the reader's buffer.
  std::string_view str(std::size_t cap) {
    uint32_t len = u32();
    if (!ok_) return {};
    if (len > cap) {
      ok_ = false;
      return {};
    }
    return raw(len);
  }
  std::string_view raw(std::size_t len) {
    if (!need(len)) return {};
    std::string_view v(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return v;
  }
  void fail() { ok_ = false; }

 private:
  bool need(std::size_t k) {
    if (!ok_ || n_ - pos_ < k) {
      ok_ = false;
      return false;
    }
    return true;
  }
  const uint8_t* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) {
    uint8_t b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    out_.insert(out_.end(), b, b + 4);
  }
  void u64(uint64_t v) {
    u32(uint32_t(v >> 32));
    u32(uint32_t(v));
  }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s);
  }
  void raw(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void raw(const uint8_t* p, std::size_t n) { out_.insert(out_.end(), p, p + n); }
  std::size_t size() const { return out_.size(); }
  // Overwrites 4 bytes at `at` with v (for length fields written last).
  void patch_u32(std::size_t at, uint32_t v) {
    out_[at] = uint8_t(v >> 24);
    out_[at + 1] = uint8_t(v >> 16);
    out_[at + 2] = uint8_t(v >> 8);
    out_[at + 3] = uint8_t(v);
  }

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace kp
