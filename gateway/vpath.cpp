// Canonicalisation of client paths into the virtual tree (see vpath.h).
//
// One pass checks the bytes (NUL, backslash, controls, strict UTF-8), a
// second splits and resolves components on a stack of at most kMaxDepth
// entries. Nothing here touches the file system: resolution is lexical, so
// the answer depends only on the string, never on what is on disk.
#include "gateway/vpath.h"

#include "common/utf8.h"

#include <array>
#include <cstdint>

namespace kp {

namespace {

constexpr std::size_t kMaxRawComponents = 32;

// Characters that would let a name display as something it is not:
// LRE/RLE/PDF/LRO/RLO and LRI/RLI/FSI/PDI.
bool is_bidi_control(uint32_t cp) {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

// The byte-level checks, in one pass.
Status check_bytes(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      KP_ENSURE(c != 0, "path-nul", "path contains a NUL byte");
      KP_ENSURE(c != '\\', "path-backslash", "path contains a backslash");
      KP_ENSURE(c >= 0x20 && c != 0x7F, "path-control-char", "path contains a control character");
      ++i;
      continue;
    }
    char32_t cp = 0;
    std::size_t n = utf8_next(s, i, cp);
    KP_ENSURE(n != 0, "path-not-utf8", "path is not valid UTF-8");
    KP_ENSURE(!(cp >= 0x80 && cp <= 0x9F) && !is_bidi_control(cp), "path-control-char",
              "path contains a control or bidi-override character");
    i += n;
  }
  return ok_status();
}

}  // namespace

std::string_view VPath::area() const {
  if (depth_ == 0) return {};
  std::string_view s(str_);
  return depth_ == 1 ? s.substr(1) : s.substr(1, split_ - 1);
}

std::string_view VPath::name() const {
  if (depth_ != 2) return {};
  return std::string_view(str_).substr(split_ + 1);
}

VPath VPath::parent() const {
  VPath p;
  if (depth_ == 2) {
    p.str_ = str_.substr(0, split_);
    p.depth_ = 1;
  }
  return p;
}

Result<VPath> canonicalise(std::string_view client_path, const VPath& base) {
  KP_ENSURE(client_path.size() <= VPath::kMaxPathBytes, "path-too-long",
            "path is longer than 4096 bytes");
  KP_GUARD(check_bytes(client_path));

  // The resolution stack; views point into client_path or base.
  std::array<std::string_view, VPath::kMaxDepth> stack{};
  std::size_t depth = 0;
  if (client_path.empty() || client_path.front() != '/') {
    if (base.depth() >= 1) stack[depth++] = base.area();
    if (base.depth() == 2) stack[depth++] = base.name();
  }

  std::size_t raw = 0;
  std::size_t i = 0;
  while (i < client_path.size()) {
    std::size_t j = client_path.find('/', i);
    if (j == std::string_view::npos) j = client_path.size();
    std::string_view comp = client_path.substr(i, j - i);
    i = j + 1;
    if (comp.empty()) continue;  // "//" and a leading or trailing '/'
    KP_ENSURE(++raw <= kMaxRawComponents, "path-too-many-components",
              "path has more than 32 components");
    if (comp == ".") continue;
    if (comp == "..") {
      if (depth > 0) --depth;  // clamped at the virtual root, like a chroot
      continue;
    }
    KP_ENSURE(comp.size() <= VPath::kMaxComponentBytes, "path-component-too-long",
              "a path component is longer than 255 bytes");
    KP_ENSURE(depth < VPath::kMaxDepth, "path-too-deep",
              "the virtual tree is two levels deep (area/name)");
    stack[depth++] = comp;
  }

  VPath v;
  v.depth_ = depth;
  if (depth == 0) return v;
  v.str_.clear();
  v.str_.reserve(2 + stack[0].size() + (depth == 2 ? stack[1].size() : 0));
  v.str_ += '/';
  v.str_ += stack[0];
  if (depth == 2) {
    v.split_ = v.str_.size();
    v.str_ += '/';
    v.str_ += stack[1];
  }
  return v;
}

bool is_hidden_name(std::string_view name) {
  return !name.empty() && name.front() == '.';
}

}  // namespace kp
