// The transfer log as C2SP tlog-tiles under /log/ (audit/tiles.h), for
// authenticated auditors only: the records name people and municipalities.
//
//   /log/checkpoint                 the latest stored checkpoint with its witnesses' cosignatures
//   /log/tile/<L>/<N>[.p/<W>]       hash tiles
//   /log/tile/entries/<N>[.p/<W>]   entry bundles (canonical records, audit/record.h)
//
// Tiles are served for the tree of the latest stored checkpoint only (with
// witness_quorum set, the latest that many witnesses cosigned), so an
// auditor sees what the witnesses were shown. A tile never changes, so it
// is cacheable for a year -- privately, as it is behind a login; the
// checkpoint for two seconds.
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include "audit/tiles.h"
#include "common/log.h"
#include "gateway/auditor_web.h"
#include "store/transfer_log.h"

namespace kp::gateway {

namespace {

using Poco::Net::HTTPResponse;

void send(Poco::Net::HTTPServerResponse& resp, HTTPResponse::HTTPStatus status,
          const std::string& type, const std::string& cache, const std::string& body) {
  resp.set("X-Content-Type-Options", "nosniff");
  resp.set("Cache-Control", cache);
  resp.setStatusAndReason(status);
  resp.setContentType(type);
  resp.setContentLength(static_cast<std::streamsize>(body.size()));
  resp.send() << body;
}

void plain(Poco::Net::HTTPServerResponse& resp, HTTPResponse::HTTPStatus status,
           const std::string& text) {
  send(resp, status, "text/plain; charset=utf-8", "no-store", text + "\n");
}

}  // namespace

bool AuditorWeb::owns_log(const std::string& uri) {
  return uri.rfind("/log/", 0) == 0 || uri == "/log";
}

void AuditorWeb::handle_log(Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& resp) {
  try {
    const std::string path = Poco::URI(req.getURI()).getPath();
    const std::string source = req.clientAddress().host().toString();
    if (req.getMethod() != "GET" && req.getMethod() != "HEAD")
      return plain(resp, HTTPResponse::HTTP_METHOD_NOT_ALLOWED,
                   "method-not-allowed: the log is read with GET");
    auto auditor = log_reader(req, source);
    if (!auditor) {
      resp.set("WWW-Authenticate", "Bearer realm=\"knooppunt log\"");
      return plain(resp, HTTPResponse::HTTP_UNAUTHORIZED,
                   "not-authenticated: send Authorization: Bearer <auditor id>:<token>, or log in "
                   "at /auditor/");
    }
    std::lock_guard<std::mutex> lock(store_.mu);
    auto cp = log_key_.witness_quorum > 0
                  ? store::latest_witnessed_checkpoint(store_.db, log_key_.witness_quorum)
                  : store::latest_checkpoint(store_.db);
    if (!cp.ok())
      return plain(resp, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "store-unavailable: try again");
    if (!*cp) return plain(resp, HTTPResponse::HTTP_NOT_FOUND, "log-empty: no checkpoint yet");
    if (path == "/log/checkpoint") {
      auto cosignatures = store::cosignatures_of(store_.db, (*cp)->size);
      if (!cosignatures.ok())
        return plain(resp, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "store-unavailable: try again");
      std::string note = (*cp)->note;
      for (const auto& line : *cosignatures) note += line;
      return send(resp, HTTPResponse::HTTP_OK, "text/plain; charset=utf-8", "private, max-age=2",
                  note);
    }
    auto tile = audit::parse_tile_path(path.substr(5));
    if (!tile.ok())
      return plain(resp, HTTPResponse::HTTP_NOT_FOUND, "tile-malformed: not a tile path");
    if (!audit::tile_available(*tile, (*cp)->size))
      return plain(resp, HTTPResponse::HTTP_NOT_FOUND,
                   "tile-not-found: not in the tree of the latest checkpoint");
    auto bytes = audit::read_tile(store_.db, *tile);
    if (!bytes.ok()) {
      log::event("web.log_failed", {{"path", path}, {"error", bytes.error().message()}});
      return plain(resp, HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
                   "store-unavailable: " + bytes.error().code);
    }
    return send(resp, HTTPResponse::HTTP_OK, "application/octet-stream",
                "private, max-age=31536000, immutable", *bytes);
  } catch (const Poco::Exception& e) {
    log::event("http.error", {{"error", e.displayText()}});
  } catch (const std::exception& e) {
    log::event("http.error", {{"error", e.what()}});
  }
  try {
    if (!resp.sent()) plain(resp, HTTPResponse::HTTP_BAD_REQUEST, "bad-request");
  } catch (const Poco::Exception&) {
  }
}

}  // namespace kp::gateway
