// The session child's monitor calls; see monitor_client.h.
#include "gateway/monitor_client.h"

#include <cstring>

namespace kp::gateway {

Result<monitor::Reply> MonitorClient::call(const monitor::Request& q, Fd* fd) {
  auto fail = [&](const Error& e) -> Result<monitor::Reply> {
    broken_ = true;
    return make_error("monitor-gone", "the session's monitor did not answer: " + e.message());
  };
  if (broken_) return make_error("monitor-gone", "the session's monitor is gone");
  Status sent = monitor::send_message(sock_, monitor::encode_request(q));
  if (!sent.ok()) return fail(sent.error());
  monitor::Reply all;
  for (;;) {
    auto m = monitor::recv_message(sock_);
    if (!m.ok()) return fail(m.error());
    auto r = monitor::decode_reply(q.op, m->bytes);
    if (!r.ok()) return fail(r.error());
    if (m->fd.valid()) {
      if (!fd || r->error) return fail(make_error("monitor-bad-reply", "an unexpected descriptor"));
      *fd = std::move(m->fd);
    }
    if (q.op != monitor::Op::list || r->error) return r;
    for (auto& e : r->entries) all.entries.push_back(std::move(e));
    if (!r->more) return all;
  }
}

std::string MonitorClient::revoked() const {
  if (!flag_ || __atomic_load_n(&flag_->revoked, __ATOMIC_ACQUIRE) == 0) return {};
  return std::string(flag_->reason, strnlen(flag_->reason, sizeof flag_->reason));
}

}  // namespace kp::gateway
