// Unit tests for gateway/vpath.h: lexical resolution clamped at the virtual
// root, and refusal of every byte pattern that is not one safe name.
#include "gateway/vpath.h"

#include <doctest/doctest.h>

#include <string>

using kp::canonicalise;
using kp::VPath;

namespace {

std::string canon(std::string_view p, const VPath& base = VPath::root()) {
  auto r = canonicalise(p, base);
  REQUIRE_MESSAGE(r.ok(), std::string(p), " -> ", r.error().message());
  return r->str();
}

std::string refused(std::string_view p) {
  auto r = canonicalise(p);
  REQUIRE_MESSAGE(!r.ok(), std::string(p), " was accepted as ", r.ok() ? r->str() : "");
  return r.error().code;
}

}  // namespace

TEST_CASE("vpath root forms") {
  for (const char* p :
       {"", "/", ".", "./", "//", "/.", "/./", "/..", "..", "../..", "/../../..", "///.//"})
    CHECK_MESSAGE(canon(p) == "/", p);
  auto r = canonicalise("/");
  REQUIRE(r.ok());
  CHECK(r->is_root());
  CHECK(r->depth() == 0);
  CHECK(r->area().empty());
  CHECK(r->name().empty());
  CHECK(r->leaf().empty());
}

TEST_CASE("vpath areas and names") {
  auto r = canonicalise("/inbox/a.pdf");
  REQUIRE(r.ok());
  CHECK(r->depth() == 2);
  CHECK(r->area() == "inbox");
  CHECK(r->name() == "a.pdf");
  CHECK(r->leaf() == "a.pdf");
  CHECK(r->str() == "/inbox/a.pdf");
  CHECK(r->parent().str() == "/inbox");
  CHECK(r->parent().parent().is_root());
  CHECK(r->parent().area() == "inbox");

  CHECK(canon("inbox") == "/inbox");
  CHECK(canon("inbox/") == "/inbox");
  CHECK(canon("//inbox//a.pdf//") == "/inbox/a.pdf");
  CHECK(canon("/./inbox/./a.pdf") == "/inbox/a.pdf");
  CHECK(canon("inbox/../outbox/x") == "/outbox/x");
  CHECK(canon("/inbox/a.pdf/..") == "/inbox");
  CHECK(canon("/inbox/a.pdf/../..") == "/");
  auto area = canonicalise("/outbox");
  REQUIRE(area.ok());
  CHECK(area->depth() == 1);
  CHECK(area->name().empty());
  CHECK(area->leaf() == "outbox");
}

TEST_CASE("vpath dot-dot is clamped at the virtual root") {
  // Like a chroot: ".." at the root stays at the root, so these name places
  // INSIDE the virtual tree (which the session then finds do not exist).
  CHECK(canon("/../../etc/passwd") == "/etc/passwd");
  CHECK(canon("../../../../etc/passwd") == "/etc/passwd");
  CHECK(canon("/inbox/../../../outbox/r.json") == "/outbox/r.json");
  CHECK(canon("..") == "/");
  // Clamping never produces a component that is ".." or empty.
  auto r = canonicalise("/../..//../inbox/../..");
  REQUIRE(r.ok());
  CHECK(r->is_root());
}

TEST_CASE("vpath relative paths start at the base") {
  auto inbox = canonicalise("/inbox");
  REQUIRE(inbox.ok());
  CHECK(canon("a.pdf", *inbox) == "/inbox/a.pdf");
  CHECK(canon("../outbox", *inbox) == "/outbox");
  CHECK(canon("", *inbox) == "/inbox");
  CHECK(canon(".", *inbox) == "/inbox");
  CHECK(canon("/outbox/x", *inbox) == "/outbox/x");  // absolute ignores base
  CHECK_FALSE(canonicalise("a/b", *inbox).ok());     // 3 deep
}

TEST_CASE("vpath hidden names are kept, and reported") {
  CHECK(canon("/inbox/.hidden") == "/inbox/.hidden");
  CHECK(canon("/inbox/...") == "/inbox/...");
  CHECK(canon("/.ssh") == "/.ssh");
  CHECK(kp::is_hidden_name(".part"));
  CHECK(kp::is_hidden_name("..."));
  CHECK_FALSE(kp::is_hidden_name("a.pdf"));
  CHECK_FALSE(kp::is_hidden_name(""));
}

TEST_CASE("vpath refuses three-deep paths") {
  CHECK(refused("/inbox/sub/a.pdf") == "path-too-deep");
  CHECK(refused("a/b/c") == "path-too-deep");
  // Even when ".." would bring it back: no third level ever exists.
  CHECK(refused("/a/b/c/..") == "path-too-deep");
}

TEST_CASE("vpath refuses NUL, backslash and control characters") {
  CHECK(refused(std::string("/inbox/a\0.pdf", 13)) == "path-nul");
  CHECK(refused(std::string("\0", 1)) == "path-nul");
  CHECK(refused("/inbox/..\\..\\etc") == "path-backslash");
  CHECK(refused("\\") == "path-backslash");
  CHECK(refused("/inbox/a\nb") == "path-control-char");
  CHECK(refused("/inbox/a\rb") == "path-control-char");
  CHECK(refused("/inbox/\x1b[31m") == "path-control-char");
  CHECK(refused("/inbox/a\x7f") == "path-control-char");
  CHECK(refused("/inbox/a\xc2\x85") == "path-control-char");  // U+0085 NEL (C1)
  CHECK(refused("/inbox/fdp.\xe2\x80\xae"
                "exe") == "path-control-char");                   // U+202E RLO
  CHECK(refused("/inbox/\xe2\x81\xa6x") == "path-control-char");  // U+2066 LRI
}

TEST_CASE("vpath refuses non-UTF-8, overlongs and surrogates") {
  CHECK(canon("/inbox/r\xc3\xa9sum\xc3\xa9.pdf") == "/inbox/r\xc3\xa9sum\xc3\xa9.pdf");  // é
  CHECK(canon("/inbox/\xf0\x9f\x93\x84") == "/inbox/\xf0\x9f\x93\x84");                  // U+1F4C4
  CHECK(refused("/inbox/\xff") == "path-not-utf8");
  CHECK(refused("/inbox/\x80") == "path-not-utf8");                // stray continuation
  CHECK(refused("/inbox/\xc3") == "path-not-utf8");                // truncated
  CHECK(refused("/inbox/\xe2\x82") == "path-not-utf8");            // truncated
  CHECK(refused("/\xc0\xaf") == "path-not-utf8");                  // overlong '/'
  CHECK(refused("/\xc1\x9c") == "path-not-utf8");                  // overlong '\'
  CHECK(refused("/\xe0\x80\xae\xe0\x80\xae") == "path-not-utf8");  // overlong ".."
  CHECK(refused("/\xf0\x80\x80\xaf") == "path-not-utf8");          // 4-byte overlong
  CHECK(refused("/\xed\xa0\x80") == "path-not-utf8");              // U+D800 surrogate
  CHECK(refused("/\xed\xbf\xbf") == "path-not-utf8");              // U+DFFF surrogate
  CHECK(refused("/\xf4\x90\x80\x80") == "path-not-utf8");          // U+110000
  CHECK(refused("/\xf5\x80\x80\x80") == "path-not-utf8");
}

TEST_CASE("vpath refuses over-long names and paths") {
  std::string name255(255, 'n');
  CHECK(canon("/inbox/" + name255) == "/inbox/" + name255);
  CHECK(refused("/inbox/" + name255 + "n") == "path-component-too-long");
  // An over-long component is refused even if ".." would drop it.
  CHECK(refused("/" + std::string(300, 'x') + "/..") == "path-component-too-long");

  std::string at_cap = "/" + std::string(4095, '/');
  CHECK(canon(at_cap) == "/");
  CHECK(refused(at_cap + "/") == "path-too-long");
  CHECK(refused(std::string(100000, 'a')) == "path-too-long");

  std::string many;
  for (int i = 0; i < 33; ++i) many += "/.";
  CHECK(refused(many) == "path-too-many-components");
  std::string dotdots;
  for (int i = 0; i < 40; ++i) dotdots += "../";
  CHECK(refused(dotdots) == "path-too-many-components");
}

TEST_CASE("vpath equality and copies") {
  auto a = canonicalise("/inbox//a");
  auto b = canonicalise("inbox/./a");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);
  VPath c = *a;  // a copy keeps its own storage
  CHECK(c.name() == "a");
  CHECK(c.area() == "inbox");
  CHECK(VPath::root() == VPath());
}
