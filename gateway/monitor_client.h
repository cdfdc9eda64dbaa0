// The session child's side of the monitor channel: one typed call per
// request of gateway/monitor_wire.h, each a blocking round trip. A reply
// that does not decode, or a channel that breaks, is an error the child
// treats as the end of the connection ("monitor-gone").
#pragma once

#include <string>

#include "common/handles.h"
#include "common/result.h"
#include "gateway/monitor_wire.h"

namespace kp::gateway {

class MonitorClient {
 public:
  MonitorClient(int sock, monitor::SharedFlag* flag) : sock_(sock), flag_(flag) {}

  // Sends `q` and returns the monitor's reply; `fd` receives the descriptor
  // that came with it, if any. A list reply gathers every message. A
  // refusal is a Reply with `error` set; an Error result means the channel
  // itself failed.
  Result<monitor::Reply> call(const monitor::Request& q, Fd* fd = nullptr);

  // The monitor said the principal lost its entitlement (see SharedFlag):
  // the reason code, or empty while entitled.
  std::string revoked() const;

  // True once the channel failed: the child must end the connection.
  bool broken() const { return broken_; }

 private:
  int sock_;
  monitor::SharedFlag* flag_;
  bool broken_ = false;
};

}  // namespace kp::gateway
