// Unit tests for gateway/sftp_codec.h: framing, full decoding of every
// request type (round trips through a test encoder), every truncation,
// trailing bytes, oversized lengths and counts, and the reply encoders
// read back field by field.
#include "gateway/sftp_codec.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "common/bytes.h"

using namespace kp::sftp;

namespace {

// A test-side request encoder: builds a packet body (type byte + payload).
struct Body {
  std::vector<uint8_t> b;
  kp::Writer w{b};
  explicit Body(uint8_t type) { w.u8(type); }
  explicit Body(Fxp type) : Body(static_cast<uint8_t>(type)) {}
  Body& u32(uint32_t v) {
    w.u32(v);
    return *this;
  }
  Body& u64(uint64_t v) {
    w.u64(v);
    return *this;
  }
  Body& str(std::string_view s) {
    w.str(s);
    return *this;
  }
  Body& raw(std::string_view s) {
    w.raw(s);
    return *this;
  }
  Body& attrs_full() {
    w.u32(attr::size | attr::uidgid | attr::permissions | attr::acmodtime | attr::extended);
    w.u64(4096);
    w.u32(1000);
    w.u32(1001);
    w.u32(0100640);
    w.u32(111);
    w.u32(222);
    w.u32(1);
    w.str("x@example.com");
    w.str("v");
    return *this;
  }
  std::string_view view() const { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
  std::string s() const { return std::string(view()); }
};

// A framed packet: uint32 length + body.
std::string framed(std::string_view body) {
  std::vector<uint8_t> v;
  kp::Writer w(v);
  w.str(body);
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

std::string as_string(const std::vector<uint8_t>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

// Every request shape, fully populated, for the generic negative loops.
std::vector<std::string> all_requests() {
  std::vector<std::string> v;
  v.push_back(
      Body(Fxp::open).u32(7).str("/inbox/a.pdf").u32(pflag::write | pflag::creat).attrs_full().s());
  v.push_back(Body(Fxp::close).u32(7).str("h1").s());
  v.push_back(Body(Fxp::read).u32(7).str("h1").u64(1ull << 40).u32(32768).s());
  v.push_back(Body(Fxp::write).u32(7).str("h1").u64(65536).str("payload").s());
  for (Fxp t :
       {Fxp::lstat, Fxp::stat, Fxp::opendir, Fxp::remove, Fxp::rmdir, Fxp::realpath, Fxp::readlink})
    v.push_back(Body(t).u32(7).str("/outbox/r.json").s());
  for (Fxp t : {Fxp::fstat, Fxp::readdir}) v.push_back(Body(t).u32(7).str("h2").s());
  v.push_back(Body(Fxp::setstat).u32(7).str("/inbox").attrs_full().s());
  v.push_back(Body(Fxp::mkdir).u32(7).str("/inbox/d").u32(attr::permissions).u32(0755).s());
  v.push_back(Body(Fxp::fsetstat).u32(7).str("h3").u32(attr::size).u64(0).s());
  v.push_back(Body(Fxp::rename).u32(7).str("/inbox/a").str("/inbox/b").s());
  v.push_back(Body(Fxp::symlink).u32(7).str("/inbox/t").str("/inbox/l").s());
  v.push_back(Body(Fxp::extended).u32(7).str(kExtPosixRename).str("/inbox/a").str("/inbox/b").s());
  v.push_back(Body(Fxp::extended).u32(7).str(kExtStatvfs).str("/inbox").s());
  v.push_back(Body(Fxp::extended).u32(7).str(kExtFsync).str("h4").s());
  v.push_back(Body(Fxp::extended).u32(7).str(kExtLimits).s());
  return v;
}

// Decodes a body the caller keeps alive (the Request borrows from it).
Request decode_ok(std::string_view body) {
  auto r = decode_request(body);
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  return *r;
}

// Decodes a temporary body, keeping it alive for the rest of the test run.
Request decode_ok(std::string&& body) {
  static std::deque<std::string> keep;
  keep.push_back(std::move(body));
  return decode_ok(std::string_view(keep.back()));
}

}  // namespace

// ---------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------

TEST_CASE("sftp_codec frame_one: whole, partial, zero, oversized") {
  std::string_view body;
  std::string pkt = framed(
      "\x05"
      "abcd");
  auto r = frame_one(pkt, body);
  REQUIRE(r.ok());
  CHECK(*r == pkt.size());
  CHECK(body ==
        "\x05"
        "abcd");

  for (std::size_t k = 0; k < pkt.size(); ++k) {
    auto p = frame_one(std::string_view(pkt).substr(0, k), body);
    REQUIRE(p.ok());
    CHECK(*p == 0);
    CHECK(body.empty());
  }

  auto zero = frame_one(std::string_view("\0\0\0\0", 4), body);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().code == "sftp-bad-length");

  std::vector<uint8_t> big;
  kp::Writer(big).u32(static_cast<uint32_t>(kMaxPacket + 1));
  auto over = frame_one(as_string(big), body);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().code == "sftp-bad-length");

  big.clear();
  kp::Writer(big).u32(0xFFFFFFFFu);
  CHECK_FALSE(frame_one(as_string(big), body).ok());

  // Exactly the cap is fine (and needs the whole body before it is returned).
  big.clear();
  kp::Writer(big).u32(static_cast<uint32_t>(kMaxPacket));
  auto at_cap = frame_one(as_string(big), body);
  REQUIRE(at_cap.ok());
  CHECK(*at_cap == 0);
}

TEST_CASE("sftp_codec Framer: byte-at-a-time, batches, prepare/commit, sticky error") {
  std::string stream = framed(Body(Fxp::init).u32(3).s()) +
                       framed(Body(Fxp::stat).u32(9).str("/").s()) +
                       framed(Body(Fxp::close).u32(2).str("h").s());
  SUBCASE("one byte at a time") {
    Framer f;
    std::vector<std::string> got;
    for (char c : stream) {
      f.feed(&c, 1);
      for (;;) {
        auto n = f.next();
        REQUIRE(n.ok());
        if (n->empty()) break;
        got.emplace_back(*n);
      }
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0] == std::string("\x01\0\0\0\x03", 5));
    CHECK(decode_ok(got[1]).path == "/");
    CHECK(decode_ok(got[2]).handle == "h");
    CHECK(f.buffered() == 0);
  }
  SUBCASE("all at once through prepare/commit") {
    Framer f;
    auto room = f.prepare(stream.size() + 100);
    std::memcpy(room.data(), stream.data(), stream.size());
    f.commit(stream.size());
    int count = 0;
    for (;;) {
      auto n = f.next();
      REQUIRE(n.ok());
      if (n->empty()) break;
      ++count;
    }
    CHECK(count == 3);
  }
  SUBCASE("a bad length poisons the stream") {
    Framer f;
    std::string bad = framed(
                          "\x04"
                          "abcd") +
                      std::string("\0\0\0\0", 4) +
                      framed(
                          "\x04"
                          "zz");
    f.feed(bad.data(), bad.size());
    auto a = f.next();
    REQUIRE(a.ok());
    CHECK(*a ==
          "\x04"
          "abcd");
    auto b = f.next();
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().code == "sftp-bad-length");
    CHECK_FALSE(f.next().ok());
  }
  SUBCASE("an oversized length is refused before its body arrives") {
    Framer f;
    std::vector<uint8_t> hdr;
    kp::Writer(hdr).u32(static_cast<uint32_t>(kMaxPacket + 1));
    f.feed(hdr.data(), hdr.size());
    CHECK_FALSE(f.next().ok());
  }
}

// ---------------------------------------------------------------------------
// Decoding: round trips
// ---------------------------------------------------------------------------

TEST_CASE("sftp_codec decode: INIT with and without extension pairs") {
  auto q = decode_ok(Body(Fxp::init).u32(3).s());
  CHECK(q.type == Fxp::init);
  CHECK(q.version == 3);
  q = decode_ok(Body(Fxp::init).u32(6).str("a@b").str("1").str("c@d").str("").s());
  CHECK(q.version == 6);

  // Truncated inside the version or inside a pair: malformed.
  std::string full = Body(Fxp::init).u32(3).str("name@x").str("data").s();
  for (std::size_t k : {1u, 2u, 4u, 6u, 9u, 15u, 16u, 20u, 22u})
    CHECK_FALSE(decode_request(std::string_view(full).substr(0, k)).ok());

  // More than kMaxExtPairs pairs.
  Body many(Fxp::init);
  many.u32(3);
  for (std::size_t i = 0; i <= kMaxExtPairs; ++i) many.str("n").str("d");
  CHECK_FALSE(decode_request(many.view()).ok());
}

TEST_CASE("sftp_codec decode: OPEN with full attrs") {
  auto q = decode_ok(Body(Fxp::open)
                         .u32(42)
                         .str("/inbox/a.pdf")
                         .u32(pflag::write | pflag::creat | pflag::excl)
                         .attrs_full()
                         .s());
  CHECK(q.type == Fxp::open);
  CHECK(q.known);
  CHECK(q.id == 42);
  CHECK(q.path == "/inbox/a.pdf");
  CHECK(q.pflags == (pflag::write | pflag::creat | pflag::excl));
  CHECK(q.attrs.has(attr::size));
  CHECK(q.attrs.size == 4096);
  CHECK(q.attrs.uid == 1000);
  CHECK(q.attrs.gid == 1001);
  CHECK(q.attrs.permissions == 0100640);
  CHECK(q.attrs.atime == 111);
  CHECK(q.attrs.mtime == 222);
  REQUIRE(q.attrs.extended.size() == 1);
  CHECK(q.attrs.extended[0].name == "x@example.com");
  CHECK(q.attrs.extended[0].data == "v");

  auto empty_attrs = decode_ok(Body(Fxp::open).u32(1).str("/x").u32(pflag::read).u32(0).s());
  CHECK(empty_attrs.attrs.flags == 0);
  CHECK(empty_attrs.attrs.extended.empty());
}

TEST_CASE("sftp_codec decode: handle requests, READ and WRITE") {
  auto c = decode_ok(Body(Fxp::close).u32(1).str("hh").s());
  CHECK((c.type == Fxp::close && c.id == 1 && c.handle == "hh"));
  auto fs = decode_ok(Body(Fxp::fstat).u32(2).str("h").s());
  CHECK((fs.type == Fxp::fstat && fs.handle == "h"));
  auto rd = decode_ok(Body(Fxp::readdir).u32(3).str("d").s());
  CHECK((rd.type == Fxp::readdir && rd.handle == "d"));

  auto r = decode_ok(Body(Fxp::read).u32(4).str("h").u64(0x123456789abcull).u32(0xFFFFFFFFu).s());
  CHECK(r.offset == 0x123456789abcull);
  CHECK(r.length == 0xFFFFFFFFu);  // the client's ask; the session clamps

  std::string data(kMaxWriteLength, 'z');
  Body wb(Fxp::write);
  wb.u32(5).str("h").u64(77).str(data);
  auto w = decode_ok(wb.view());
  CHECK(w.offset == 77);
  CHECK(w.data.size() == kMaxWriteLength);
  // Zero copy: the data view points into the packet.
  CHECK(w.data.data() >= wb.view().data());
  CHECK(w.data.data() + w.data.size() == wb.view().data() + wb.view().size());

  auto fset = decode_ok(Body(Fxp::fsetstat).u32(6).str("h").u32(attr::acmodtime).u32(1).u32(2).s());
  CHECK((fset.handle == "h" && fset.attrs.atime == 1 && fset.attrs.mtime == 2));
}

TEST_CASE("sftp_codec decode: path requests, RENAME, SYMLINK") {
  for (Fxp t : {Fxp::lstat, Fxp::stat, Fxp::opendir, Fxp::remove, Fxp::rmdir, Fxp::realpath,
                Fxp::readlink}) {
    auto q = decode_ok(Body(t).u32(9).str("/outbox").s());
    CHECK(q.type == t);
    CHECK(q.id == 9);
    CHECK(q.path == "/outbox");
  }
  auto m = decode_ok(Body(Fxp::mkdir).u32(1).str("/d").u32(attr::permissions).u32(0700).s());
  CHECK((m.path == "/d" && m.attrs.permissions == 0700));
  auto s = decode_ok(Body(Fxp::setstat).u32(1).str("/f").u32(attr::uidgid).u32(5).u32(6).s());
  CHECK((s.attrs.uid == 5 && s.attrs.gid == 6));
  auto rn = decode_ok(Body(Fxp::rename).u32(2).str("/inbox/a").str("/inbox/b").s());
  CHECK((rn.path == "/inbox/a" && rn.path2 == "/inbox/b"));
  auto sl = decode_ok(Body(Fxp::symlink).u32(3).str("t").str("l").s());
  CHECK((sl.path == "t" && sl.path2 == "l"));
  // Empty path is well-formed at this layer (vpath decides what it means).
  CHECK(decode_ok(Body(Fxp::realpath).u32(4).str("").s()).path.empty());
}

TEST_CASE("sftp_codec decode: extensions known and unknown") {
  auto pr = decode_ok(Body(Fxp::extended).u32(1).str(kExtPosixRename).str("/a").str("/b").s());
  CHECK((pr.ext == Ext::posix_rename && pr.path == "/a" && pr.path2 == "/b"));
  auto sv = decode_ok(Body(Fxp::extended).u32(2).str(kExtStatvfs).str("/inbox").s());
  CHECK((sv.ext == Ext::statvfs && sv.path == "/inbox"));
  auto fy = decode_ok(Body(Fxp::extended).u32(3).str(kExtFsync).str("h").s());
  CHECK((fy.ext == Ext::fsync && fy.handle == "h"));
  auto li = decode_ok(Body(Fxp::extended).u32(4).str(kExtLimits).s());
  CHECK((li.ext == Ext::limits && li.id == 4));

  auto un = decode_ok(Body(Fxp::extended).u32(5).str("copy-data").str("whatever").u64(9).s());
  CHECK(un.ext == Ext::unknown);
  CHECK(un.ext_name == "copy-data");
  CHECK(un.id == 5);

  // Known names are strict about their arguments.
  CHECK_FALSE(decode_request(Body(Fxp::extended).u32(4).str(kExtLimits).u32(0).view()).ok());
  CHECK_FALSE(decode_request(Body(Fxp::extended).u32(4).str(kExtStatvfs).view()).ok());
  // Over-long extension name.
  CHECK_FALSE(
      decode_request(Body(Fxp::extended).u32(4).str(std::string(kMaxExtNameBytes + 1, 'e')).view())
          .ok());
}

TEST_CASE("sftp_codec decode: unknown and reply types") {
  auto q = decode_ok(Body(uint8_t{77}).u32(12).str("junk").s());
  CHECK_FALSE(q.known);
  CHECK(q.id == 12);
  CHECK(static_cast<uint8_t>(q.type) == 77);
  auto st = decode_ok(Body(Fxp::status).u32(13).u32(0).s());
  CHECK_FALSE(st.known);
  // No id at all: malformed.
  CHECK_FALSE(decode_request(Body(uint8_t{77}).raw("ab").view()).ok());
}

// ---------------------------------------------------------------------------
// Decoding: hostile input
// ---------------------------------------------------------------------------

TEST_CASE("sftp_codec decode: every truncation of every request is malformed") {
  for (const std::string& full : all_requests()) {
    REQUIRE(decode_request(full).ok());
    for (std::size_t k = 0; k < full.size(); ++k) {
      auto r = decode_request(std::string_view(full).substr(0, k));
      CHECK_MESSAGE(!r.ok(), "type ", int(uint8_t(full[0])), " truncated to ", k);
      if (!r.ok()) CHECK(r.error().code == "sftp-bad-message");
    }
  }
}

TEST_CASE("sftp_codec decode: a trailing byte makes any request but WRITE malformed") {
  for (const std::string& full : all_requests()) {
    // WRITE: padding after the data is ignored (see decode_request).
    const bool write = static_cast<uint8_t>(full[0]) == static_cast<uint8_t>(Fxp::write);
    CHECK(decode_request(full + '\0').ok() == write);
    CHECK(decode_request(full + "trailing").ok() == write);
  }
}

TEST_CASE("sftp_codec decode: field caps and huge counts") {
  std::string path_at_cap(kMaxPathBytes, 'p');
  CHECK(decode_request(Body(Fxp::stat).u32(1).str(path_at_cap).view()).ok());
  CHECK_FALSE(decode_request(Body(Fxp::stat).u32(1).str(path_at_cap + "p").view()).ok());

  std::string handle_at_cap(kMaxHandleBytes, 'h');
  CHECK(decode_request(Body(Fxp::close).u32(1).str(handle_at_cap).view()).ok());
  CHECK_FALSE(decode_request(Body(Fxp::close).u32(1).str(handle_at_cap + "h").view()).ok());

  std::string data_over(kMaxWriteLength + 1, 'd');
  CHECK_FALSE(decode_request(Body(Fxp::write).u32(1).str("h").u64(0).str(data_over).view()).ok());

  // A WRITE padded after its data (rclone's last chunk) is its data alone;
  // any other request with trailing bytes is malformed.
  Body padded_body(Fxp::write);
  padded_body.u32(1).str("h").u64(0).str("abc").raw(std::string(100, '\0'));
  auto padded = decode_request(padded_body.view());
  REQUIRE(padded.ok());
  CHECK(padded->data == "abc");
  CHECK_FALSE(decode_request(Body(Fxp::stat).u32(1).str("/x").raw("junk").view()).ok());

  // A length field far beyond the packet.
  CHECK_FALSE(decode_request(Body(Fxp::stat).u32(1).u32(0xFFFFFFFFu).raw("abc").view()).ok());
  CHECK_FALSE(decode_request(Body(Fxp::write).u32(1).str("h").u64(0).u32(0x7FFFFFFFu).view()).ok());

  // Attribute extension counts: huge, one over the cap, and at the cap.
  CHECK_FALSE(decode_request(
                  Body(Fxp::setstat).u32(1).str("/x").u32(attr::extended).u32(0xFFFFFFFFu).view())
                  .ok());
  Body over(Fxp::setstat);
  over.u32(1).str("/x").u32(attr::extended).u32(static_cast<uint32_t>(kMaxExtPairs + 1));
  for (std::size_t i = 0; i <= kMaxExtPairs; ++i) over.str("a").str("b");
  CHECK_FALSE(decode_request(over.view()).ok());
  Body at(Fxp::setstat);
  at.u32(1).str("/x").u32(attr::extended).u32(static_cast<uint32_t>(kMaxExtPairs));
  for (std::size_t i = 0; i < kMaxExtPairs; ++i) at.str("a").str("b");
  auto ok = decode_request(at.view());
  REQUIRE(ok.ok());
  CHECK(ok->attrs.extended.size() == kMaxExtPairs);

  // A count that promises more pairs than present.
  CHECK_FALSE(
      decode_request(
          Body(Fxp::setstat).u32(1).str("/x").u32(attr::extended).u32(2).str("a").str("b").view())
          .ok());

  // An empty body.
  CHECK_FALSE(decode_request("").ok());
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

namespace {

// Reads one framed reply: checks the length covers exactly the rest and
// returns a reader positioned after the type byte.
kp::Reader reply(const std::vector<uint8_t>& out, std::size_t at, Fxp want,
                 std::size_t* next = nullptr) {
  kp::Reader r(out.data() + at, out.size() - at);
  uint32_t len = r.u32();
  REQUIRE(r.remaining() >= len);
  if (next)
    *next = at + 4 + len;
  else
    REQUIRE(r.remaining() == len);
  kp::Reader body(out.data() + at + 4, len);
  CHECK(body.u8() == static_cast<uint8_t>(want));
  return body;
}

}  // namespace

TEST_CASE("sftp_codec encode: VERSION, STATUS, HANDLE") {
  std::vector<uint8_t> out;
  ExtPair exts[] = {
      {kExtPosixRename, "1"}, {kExtStatvfs, "2"}, {kExtFsync, "1"}, {kExtLimits, "1"}};
  encode_version(out, kProtocolVersion, exts);
  std::size_t next = 0;
  auto v = reply(out, 0, Fxp::version, &next);
  CHECK(v.u32() == 3);
  CHECK(v.str(100) == kExtPosixRename);
  CHECK(v.str(100) == "1");
  v.str(100);
  v.str(100);
  v.str(100);
  v.str(100);
  CHECK(v.str(100) == kExtLimits);
  CHECK(v.str(100) == "1");
  CHECK(v.at_end());
  CHECK(next == out.size());

  // Replies batch in one buffer.
  encode_status(out, 9, StatusCode::no_such_file);
  encode_status(out, 10, StatusCode::failure, "disk full");
  encode_handle(out, 11, "H0001");
  auto s1 = reply(out, next, Fxp::status, &next);
  CHECK(s1.u32() == 9);
  CHECK(s1.u32() == 2);
  CHECK(s1.str(100) == "No such file");
  CHECK(s1.str(100) == "");
  CHECK(s1.at_end());
  auto s2 = reply(out, next, Fxp::status, &next);
  CHECK(s2.u32() == 10);
  CHECK(s2.u32() == 4);
  CHECK(s2.str(100) == "disk full");
  CHECK(s2.str(100) == "");
  auto h = reply(out, next, Fxp::handle, &next);
  CHECK(h.u32() == 11);
  CHECK(h.str(100) == "H0001");
  CHECK(h.at_end());
  CHECK(next == out.size());
}

TEST_CASE("sftp_codec encode: DATA in place and cancelled") {
  std::vector<uint8_t> out;
  encode_status(out, 1, StatusCode::ok);
  std::size_t first_end = out.size();

  std::size_t start = begin_data(out, 5);
  std::size_t at = out.size();
  out.resize(at + 100);
  std::memset(out.data() + at, 'q', 10);  // as if pread returned 10
  out.resize(at + 10);
  end_data(out, start);
  auto d = reply(out, start, Fxp::data);
  CHECK(d.u32() == 5);
  CHECK(d.str(1000) == "qqqqqqqqqq");
  CHECK(d.at_end());

  std::size_t s2 = begin_data(out, 6);
  out.resize(out.size() + 50);
  cancel_packet(out, s2);
  CHECK(out.size() == start + 4 + 1 + 4 + 4 + 10);

  std::vector<uint8_t> o2;
  encode_data(o2, 8, "abc");
  auto e = reply(o2, 0, Fxp::data);
  CHECK(e.u32() == 8);
  CHECK(e.str(10) == "abc");
  CHECK(first_end > 0);

  // An empty DATA is well-formed.
  std::vector<uint8_t> o3;
  end_data(o3, begin_data(o3, 1));
  auto z = reply(o3, 0, Fxp::data);
  CHECK(z.u32() == 1);
  CHECK(z.str(10).empty());
  CHECK(z.at_end());
}

TEST_CASE("sftp_codec encode: NAME, ATTRS and attrs round trip") {
  Attrs a;
  a.flags = attr::size | attr::permissions | attr::acmodtime;
  a.size = 1ull << 33;
  a.permissions = 0100600;
  a.atime = 10;
  a.mtime = 20;
  NameEntry entries[] = {{"a.pdf", "-rw------- ...", a}, {"b", "b-long", Attrs{}}};
  std::vector<uint8_t> out;
  encode_name(out, 3, entries);
  auto n = reply(out, 0, Fxp::name);
  CHECK(n.u32() == 3);
  CHECK(n.u32() == 2);
  CHECK(n.str(100) == "a.pdf");
  CHECK(n.str(100) == "-rw------- ...");
  CHECK(n.u32() == a.flags);
  CHECK(n.u64() == a.size);
  CHECK(n.u32() == 0100600);
  CHECK(n.u32() == 10);
  CHECK(n.u32() == 20);
  CHECK(n.str(100) == "b");
  CHECK(n.str(100) == "b-long");
  CHECK(n.u32() == 0);
  CHECK(n.at_end());

  // ATTRS re-decoded through a SETSTAT-shaped body equals the original.
  Attrs full;
  full.flags = attr::size | attr::uidgid | attr::permissions | attr::acmodtime | attr::extended;
  full.size = 5;
  full.uid = 1;
  full.gid = 2;
  full.permissions = 040755;
  full.atime = 3;
  full.mtime = 4;
  full.extended = {{"k", "v"}};
  std::vector<uint8_t> ao;
  encode_attrs(ao, 77, full);
  auto ar = reply(ao, 0, Fxp::attrs);
  CHECK(ar.u32() == 77);
  std::string rest(reinterpret_cast<const char*>(ao.data()) + 9, ao.size() - 9);
  auto q = decode_ok(Body(Fxp::setstat).u32(1).str("/x").raw(rest).s());
  CHECK(q.attrs.flags == full.flags);
  CHECK(q.attrs.size == 5);
  CHECK(q.attrs.uid == 1);
  CHECK(q.attrs.gid == 2);
  CHECK(q.attrs.permissions == 040755);
  CHECK(q.attrs.atime == 3);
  CHECK(q.attrs.mtime == 4);
  REQUIRE(q.attrs.extended.size() == 1);
  CHECK(q.attrs.extended[0].name == "k");

  // The EXTENDED flag without pairs is not sent (it would promise a count).
  Attrs bare;
  bare.flags = attr::extended;
  std::vector<uint8_t> bo;
  encode_attrs(bo, 1, bare);
  auto br = reply(bo, 0, Fxp::attrs);
  CHECK(br.u32() == 1);
  CHECK(br.u32() == 0);
  CHECK(br.at_end());

  // Incremental NAME.
  std::vector<uint8_t> io;
  std::size_t st = begin_name(io, 4);
  add_name(io, "x", "lx", Attrs{});
  end_name(io, st, 1);
  auto ir = reply(io, 0, Fxp::name);
  CHECK(ir.u32() == 4);
  CHECK(ir.u32() == 1);
  CHECK(ir.str(10) == "x");
}

TEST_CASE("sftp_codec encode: statvfs and limits replies") {
  StatVfs v{1, 2, 3, 4, 5, 6, 7, 8, 9, vfsflag::rdonly, 255};
  std::vector<uint8_t> out;
  encode_statvfs(out, 21, v);
  auto r = reply(out, 0, Fxp::extended_reply);
  CHECK(r.u32() == 21);
  for (uint64_t want : {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 255}) CHECK(r.u64() == want);
  CHECK(r.at_end());

  std::vector<uint8_t> lo;
  encode_limits(lo, 22, Limits{});
  auto l = reply(lo, 0, Fxp::extended_reply);
  CHECK(l.u32() == 22);
  CHECK(l.u64() == kMaxPacket);
  CHECK(l.u64() == kMaxReadLength);
  CHECK(l.u64() == kMaxWriteLength);
  CHECK(l.u64() == 0);
  CHECK(l.at_end());

  struct statvfs sv {};
  sv.f_bsize = 4096;
  sv.f_flag = ST_RDONLY | ST_NOSUID;
  sv.f_namemax = 255;
  StatVfs m = statvfs_from(sv);
  CHECK(m.bsize == 4096);
  CHECK(m.flag == (vfsflag::rdonly | vfsflag::nosuid));
  CHECK(m.namemax == 255);
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

TEST_CASE("sftp_codec longname in OpenSSH's ls -l style") {
  struct tm tm {};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 22;
  tm.tm_hour = 10;
  tm.tm_min = 15;
  std::time_t mtime = timegm(&tm);
  Attrs a;
  a.flags = attr::size | attr::uidgid | attr::permissions | attr::acmodtime;
  a.size = 1234;
  a.uid = 1000;
  a.gid = 1000;
  a.permissions = 0100644;
  a.mtime = static_cast<uint32_t>(mtime);
  CHECK(longname("a.pdf", a, {}, {}, mtime + 3600) ==
        "-rw-r--r--    1 1000     1000         1234 Nov 22 10:15 a.pdf");
  // Older than six months: the year instead of the time.
  CHECK(longname("a.pdf", a, "gm0363", "gm0363", mtime + 200 * 86400) ==
        "-rw-r--r--    1 gm0363   gm0363       1234 Nov 22  2026 a.pdf");
  // In the future: the year too.
  CHECK(longname("a.pdf", a, {}, {}, mtime - 10).find("Nov 22  2026") != std::string::npos);

  a.permissions = 040755;
  a.size = 4096;
  CHECK(longname("inbox", a, "knooppunt", "knooppunt", mtime + 60) ==
        "drwxr-xr-x    1 knooppunt knooppunt     4096 Nov 22 10:15 inbox");
  a.permissions = 0104751 | S_ISVTX;
  CHECK(longname("s", a, {}, {}, mtime + 60).substr(0, 11) == "-rwsr-x--t ");
  a.permissions = 0120777;
  CHECK(longname("l", a, {}, {}, mtime + 60).substr(0, 10) == "lrwxrwxrwx");
}

TEST_CASE("sftp_codec errno and error-code mapping default to FAILURE") {
  CHECK(status_from_errno(0) == StatusCode::ok);
  CHECK(status_from_errno(ENOENT) == StatusCode::no_such_file);
  CHECK(status_from_errno(ENOTDIR) == StatusCode::no_such_file);
  CHECK(status_from_errno(EACCES) == StatusCode::permission_denied);
  CHECK(status_from_errno(EPERM) == StatusCode::permission_denied);
  CHECK(status_from_errno(EINVAL) == StatusCode::bad_message);
  CHECK(status_from_errno(ENOSYS) == StatusCode::op_unsupported);
  CHECK(status_from_errno(ENOSPC) == StatusCode::failure);
  CHECK(status_from_errno(EIO) == StatusCode::failure);
  CHECK(status_from_errno(123456) == StatusCode::failure);

  CHECK(status_from_error(kp::make_error("not-found")) == StatusCode::no_such_file);
  CHECK(status_from_error(kp::make_error("symlink-refused")) == StatusCode::permission_denied);
  CHECK(status_from_error(kp::make_error("outside-root")) == StatusCode::permission_denied);
  CHECK(status_from_error(kp::make_error("path-not-utf8")) == StatusCode::bad_message);
  CHECK(status_from_error(kp::make_error("path-too-deep")) == StatusCode::no_such_file);
  CHECK(status_from_error(kp::make_error("already-exists")) == StatusCode::failure);
  CHECK(status_from_error(kp::make_error("something-new")) == StatusCode::failure);

  CHECK(status_text(StatusCode::op_unsupported) == "Operation unsupported");
  CHECK(type_name(3) == "open");
  CHECK(type_name(200) == "extended");
  CHECK(type_name(77) == "type-77");
}
