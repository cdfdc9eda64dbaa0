// age's ASCII armor; see age_armor.h.
#include "keys/age_armor.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "common/base64.h"

namespace kp::age {

namespace {

constexpr std::size_t kColumns = 64;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Error invalid(const std::string& why) { return make_error("age-armor-invalid", "the age armor " + why); }

// Buffered reads from a descriptor, one line (without LF) at a time; a line
// longer than `max_line` is an error, so hostile input costs bounded memory.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd), buf_(1 << 16) {}

  // Next line; false at the end of input (an unterminated last line is a line).
  Result<bool> next(std::string& line, std::size_t max_line) {
    line.clear();
    for (;;) {
      while (pos_ < len_) {
        const char c = buf_[pos_++];
        if (c == '\n') return true;
        if (line.size() >= max_line) return invalid("has a line longer than " + std::to_string(max_line) + " bytes");
        line += c;
      }
      if (eof_) return !line.empty();
      ssize_t n = ::read(fd_, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      KP_ENSURE(n >= 0, "io-failed", "cannot read the armored file");
      pos_ = 0;
      len_ = static_cast<std::size_t>(n);
      eof_ = n == 0;
    }
  }

 private:
  int fd_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
};

Status write_all(int fd, const uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    KP_ENSURE(w > 0, "io-failed", "cannot write the age file");
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return ok_status();
}

std::string_view without_cr(std::string_view l) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  return l;
}

bool only_space(std::string_view l) {
  for (char c : l)
    if (!is_space(c)) return false;
  return true;
}

}  // namespace

bool looks_armored(std::string_view head) {
  std::size_t i = 0;
  while (i < head.size() && is_space(head[i])) ++i;
  std::string_view rest = head.substr(i);
  if (rest.empty()) return false;
  const std::size_t n = std::min(rest.size(), kArmorBegin.size());
  return rest.substr(0, n) == kArmorBegin.substr(0, n);
}

Result<bool> fd_looks_armored(int fd) {
  char head[256];
  ssize_t n;
  do n = ::pread(fd, head, sizeof head, 0);
  while (n < 0 && errno == EINTR);
  KP_ENSURE(n >= 0, "io-failed", "cannot read the file");
  return looks_armored(std::string_view(head, static_cast<std::size_t>(n)));
}

Status dearmor_fd(int in, int out, uint64_t max_out) {
  LineReader r(in);
  std::string line;
  // White space (blank lines) before the BEGIN line.
  for (;;) {
    KP_TRY(bool more, r.next(line, 4096));
    KP_ENSURE(more, "age-armor-invalid", "the file holds no age armor");
    if (only_space(line)) continue;
    std::string_view l = line;
    while (!l.empty() && is_space(l.front())) l.remove_prefix(1);
    KP_ENSURE(without_cr(l) == kArmorBegin, "age-armor-invalid",
              "the first line must be " + std::string(kArmorBegin));
    break;
  }
  uint64_t written = 0;
  bool short_seen = false;
  uint8_t bin[kColumns];
  for (;;) {
    KP_TRY(bool more, r.next(line, kColumns + 1));
    if (!more) return invalid("ends without the line " + std::string(kArmorEnd));
    std::string_view l = without_cr(line);
    if (l == kArmorEnd) break;
    if (short_seen) return invalid("has a data line after a short one");
    if (l.empty() || l.size() > kColumns) return invalid("has a data line that is not 1 to 64 columns");
    if (l.size() < kColumns) short_seen = true;
    std::size_t n = 0;
    if (!base64_decode(l, bin, sizeof bin, n)) return invalid("holds a line that is not canonical base64");
    if (l.back() == '=') short_seen = true;  // padding ends the data
    written += n;
    KP_ENSURE(written <= max_out, "age-armor-too-large", "the armored file decodes to too many bytes");
    KP_GUARD(write_all(out, bin, n));
  }
  // Only white space after the END line.
  for (;;) {
    KP_TRY(bool more, r.next(line, 4096));
    if (!more) break;
    if (!only_space(line)) return invalid("has text after the END line");
  }
  return ok_status();
}

Status armor_fd(int in, int out) {
  std::string text(kArmorBegin);
  text += '\n';
  std::vector<uint8_t> buf(48 * 1024);
  std::size_t have = 0;
  bool eof = false;
  auto flush_text = [&]() -> Status {
    KP_GUARD(write_all(out, reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    text.clear();
    return ok_status();
  };
  while (!eof) {
    while (have < buf.size()) {
      ssize_t n = ::read(in, buf.data() + have, buf.size() - have);
      if (n < 0 && errno == EINTR) continue;
      KP_ENSURE(n >= 0, "io-failed", "cannot read the age file");
      if (n == 0) {
        eof = true;
        break;
      }
      have += static_cast<std::size_t>(n);
    }
    std::size_t whole = eof ? have : have - have % 48;
    for (std::size_t at = 0; at < whole; at += 48) {
      text += base64_encode(buf.data() + at, std::min<std::size_t>(48, whole - at));
      text += '\n';
    }
    std::copy(buf.begin() + static_cast<long>(whole), buf.begin() + static_cast<long>(have), buf.begin());
    have -= whole;
    KP_GUARD(flush_text());
  }
  text = std::string(kArmorEnd) + "\n";
  return flush_text();
}

}  // namespace kp::age
