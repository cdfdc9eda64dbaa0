// Client paths as a type of their own.
//
// Every path an SFTP client sends is turned into a VPath exactly once, at the
// edge (the session, right after decoding), and no other form of client
// path travels further. A VPath names a place in the session's virtual tree,
// never a host path:
//
//   depth 0   "/"              the virtual root (the session's home)
//   depth 1   "/inbox"         an area (the session maps it to a directory fd)
//   depth 2   "/inbox/a.pdf"   a name inside an area
//
// Only common/confine.h turns an area's fd plus a VPath name into file
// access. canonicalise() refuses what cannot be a safe single name (NUL,
// backslash, control and bidi-override characters, invalid UTF-8, over-long
// names or paths) and resolves "." and ".." LEXICALLY, clamped at the virtual
// root exactly like ".." at the root of a chroot: "/../../etc/passwd" is
// "/etc/passwd" in the virtual tree -- an area called "etc" that does not
// exist -- and can never name anything outside it. No component of a VPath is
// ever "", "." or "..", and none contains '/'.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kp {

class VPath {
 public:
  static constexpr std::size_t kMaxDepth = 2;
  static constexpr std::size_t kMaxComponentBytes = 255;
  static constexpr std::size_t kMaxPathBytes = 4096;

  // The virtual root "/".
  VPath() = default;
  static VPath root() { return VPath(); }

  // 0 = root, 1 = area, 2 = name inside an area.
  std::size_t depth() const { return depth_; }
  bool is_root() const { return depth_ == 0; }
  // The first component ("inbox"), empty at the root.
  std::string_view area() const;
  // The second component ("a.pdf"), empty unless depth() == 2.
  std::string_view name() const;
  // The last component (area or name), empty at the root.
  std::string_view leaf() const { return depth_ == 2 ? name() : area(); }
  // The path with a leading '/', e.g. "/inbox/a.pdf"; "/" for the root.
  const std::string& str() const { return str_; }
  // The path one level up ("/inbox" for "/inbox/a.pdf"; the root's parent is
  // the root).
  VPath parent() const;

  bool operator==(const VPath& o) const { return str_ == o.str_; }

 private:
  friend Result<VPath> canonicalise(std::string_view, const VPath&);
  std::string str_ = "/";
  std::size_t split_ = 0;  // offset of the '/' before the name, when depth 2
  std::size_t depth_ = 0;
};

// Turns a client path into a VPath. Absolute paths start at the root;
// relative ones (and "" or ".") start at `base` (the session's working
// directory, which is the root for an SFTP session: its home is "/").
// Errors (stable codes; gateway/sftp_codec.h maps them to SFTP statuses):
//   path-too-long             more than 4096 bytes
//   path-nul                  a NUL byte
//   path-backslash            a '\' (a Windows separator a host could trip over)
//   path-not-utf8             not strict UTF-8 (overlong forms, surrogates,
//                             code points above U+10FFFF, truncated sequences)
//   path-control-char         C0/C1 controls, DEL, or Unicode bidi embedding,
//                             override and isolate marks (a name must show as
//                             it is)
//   path-component-too-long   a component above 255 bytes
//   path-too-many-components  more than 32 components before resolution
//   path-too-deep             a resolved depth above 2 at any point (the
//                             virtual tree has no third level)
Result<VPath> canonicalise(std::string_view client_path, const VPath& base = VPath::root());

// True for names that begin with '.' (".profile", ".part"). vpath does not
// refuse them; the session decides whether to list or accept them.
bool is_hidden_name(std::string_view name);


}  // namespace kp
