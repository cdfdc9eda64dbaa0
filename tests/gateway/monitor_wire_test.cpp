// Unit tests for gateway/monitor_wire.h: every request round-trips, every
// malformed one (unknown op, short, trailing byte, over-long field, bad
// hash or reason) is refused before the monitor acts, replies decode only
// for the op they answer, and descriptors cross a socketpair intact.
#include "gateway/monitor_wire.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace kp;
using namespace kp::gateway::monitor;

namespace {

Request sample(Op op) {
  Request q;
  q.op = op;
  q.path = "/inbox/a.age";
  q.path2 = "/inbox/b.age";
  q.token = 7;
  q.size = 1234;
  q.sha256_hex = std::string(64, 'a');
  q.reason = op == Op::channel_refused ? "exec" : "limit-file-size";
  return q;
}

Result<Request> decode(const std::vector<uint8_t>& b) { return decode_request(std::span<const uint8_t>(b)); }

}  // namespace

TEST_CASE("monitor wire: every request round-trips") {
  for (uint8_t op = 1; op <= static_cast<uint8_t>(Op::session_end); ++op) {
    Request q = sample(static_cast<Op>(op));
    auto d = decode(encode_request(q));
    REQUIRE_MESSAGE(d.ok(), op_name(q.op));
    CHECK(d->op == q.op);
    std::vector<uint8_t> again = encode_request(*d);
    CHECK(again == encode_request(q));
  }
}

TEST_CASE("monitor wire: malformed requests are refused") {
  CHECK(decode({}).error().code == "monitor-bad-request");
  CHECK(decode({0}).error().code == "monitor-bad-request");
  CHECK(decode({99}).error().code == "monitor-bad-request");
  for (uint8_t op = 1; op <= static_cast<uint8_t>(Op::session_end); ++op) {
    auto b = encode_request(sample(static_cast<Op>(op)));
    auto longer = b;
    longer.push_back(0);
    CHECK_MESSAGE(!decode(longer).ok(), "trailing byte accepted for op ", int(op));
    for (std::size_t cut = 1; cut < b.size(); ++cut) {
      std::vector<uint8_t> shorter(b.begin(), b.begin() + static_cast<long>(cut));
      CHECK_MESSAGE(!decode(shorter).ok(), "short request accepted for op ", int(op), " at ", cut);
    }
  }
  Request q = sample(Op::stat);
  q.path = std::string(kMaxPath + 1, 'x');
  CHECK(!decode(encode_request(q)).ok());
  q = sample(Op::close_write);
  q.sha256_hex = std::string(64, 'A');  // upper case is not what the child sends
  CHECK(!decode(encode_request(q)).ok());
  q.sha256_hex = std::string(63, 'a');
  CHECK(!decode(encode_request(q)).ok());
  q = sample(Op::discard);
  q.reason = "Limit hit\n";
  CHECK(!decode(encode_request(q)).ok());
  q = sample(Op::channel_refused);
  q.reason = "port-forward";
  CHECK(!decode(encode_request(q)).ok());
}

TEST_CASE("monitor wire: replies") {
  Reply r;
  r.token = 3;
  r.value = 99;
  r.attrs.flags = sftp::attr::size;
  r.attrs.size = 42;
  auto open = decode_reply(Op::open_write, encode_reply(Op::open_write, r));
  REQUIRE(open.ok());
  CHECK(open->token == 3);
  CHECK(open->value == 99);
  // A reply read as the answer to another op does not decode.
  CHECK(!decode_reply(Op::stat, encode_reply(Op::open_write, r)).ok());
  Reply e;
  e.error = make_error("mandate-revoked", "no longer");
  auto err = decode_reply(Op::list, encode_reply(Op::list, e));
  REQUIRE(err.ok());
  REQUIRE(err->error);
  CHECK(err->error->code == "mandate-revoked");
  Reply l;
  l.entries = {{"a.txt", r.attrs}, {"b.txt", r.attrs}};
  l.more = true;
  auto list = decode_reply(Op::list, encode_reply(Op::list, l));
  REQUIRE(list.ok());
  CHECK(list->more);
  REQUIRE(list->entries.size() == 2);
  CHECK(list->entries[1].name == "b.txt");
  CHECK(list->entries[1].attrs.size == 42);
  // uid and gid never cross, whatever the flags say.
  r.attrs.flags |= sftp::attr::uidgid;
  auto st = decode_reply(Op::stat, encode_reply(Op::stat, r));
  REQUIRE(st.ok());
  CHECK((st->attrs.flags & sftp::attr::uidgid) == 0);
}

TEST_CASE("monitor wire: a descriptor crosses a socketpair; oversized messages do not") {
  int sp[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
  Fd a(sp[0]), b(sp[1]);
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  Fd rd(p[0]), wr(p[1]);
  REQUIRE(send_message(a.get(), {1, 2, 3}, wr.get()).ok());
  auto m = recv_message(b.get());
  REQUIRE(m.ok());
  CHECK(m->bytes == std::vector<uint8_t>{1, 2, 3});
  REQUIRE(m->fd.valid());
  REQUIRE(::write(m->fd.get(), "x", 1) == 1);
  char c = 0;
  REQUIRE(::read(rd.get(), &c, 1) == 1);
  CHECK(c == 'x');
  CHECK(!send_message(a.get(), std::vector<uint8_t>(kMaxMessage + 1, 0)).ok());
  a.reset();
  CHECK(recv_message(b.get()).error().code == "monitor-closed");
}
