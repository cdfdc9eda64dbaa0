// One HTML answer of the web pages (auditors' page, eHerkenning login):
// status, body, an optional redirect and cookie, sent with the same strict
// headers every time (Content-Security-Policy of html.h, no framing, no
// sniffing, no caching unless the reply allows it, no referrer).
#pragma once

#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <string>

namespace kp::gateway {

struct Reply {
  Poco::Net::HTTPResponse::HTTPStatus status = Poco::Net::HTTPResponse::HTTP_OK;
  std::string body;
  std::string location;  // set: a 303 redirect there
  std::string cookie;    // set: a Set-Cookie header
  std::string content_type = "text/html; charset=utf-8";
  std::string cache = "no-store";  // Cache-Control
};

inline Reply redirect(const std::string& to, const std::string& cookie = {}) {
  return Reply{Poco::Net::HTTPResponse::HTTP_SEE_OTHER, {}, to, cookie};
}

void send(Poco::Net::HTTPServerResponse& resp, const Reply& r);

}  // namespace kp::gateway
