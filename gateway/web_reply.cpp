// Sending one HTML answer; see web_reply.h.
#include "gateway/web_reply.h"

#include "gateway/html.h"

namespace kp::gateway {

void send(Poco::Net::HTTPServerResponse& resp, const Reply& r) {
  resp.set("Content-Security-Policy", html::content_security_policy());
  resp.set("X-Frame-Options", "DENY");
  resp.set("X-Content-Type-Options", "nosniff");
  resp.set("Cache-Control", r.cache);
  resp.set("Referrer-Policy", "no-referrer");
  if (!r.cookie.empty()) resp.add("Set-Cookie", r.cookie);
  if (!r.location.empty()) resp.set("Location", r.location);
  resp.setStatusAndReason(r.status);
  resp.setContentType(r.content_type);
  resp.setContentLength(static_cast<std::streamsize>(r.body.size()));
  resp.send() << r.body;
}

}  // namespace kp::gateway
