// /healthz, /metrics and the auditors' page (/auditor/) over Poco's HTTP server; see http_endpoint.h.
#include "gateway/http_endpoint.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sstream>

#include "common/log.h"
#include "gateway/auditor_web.h"
#include "store/db.h"
#include "store/metrics.h"

namespace kp::gateway {

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const DataDir& d, AuditorWeb& web) : d_(d), web_(web) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    try {
      if (AuditorWeb::owns(req.getURI())) return web_.handle(req, resp);
      resp.set("Cache-Control", "no-store");
      resp.set("X-Content-Type-Options", "nosniff");
      if (req.getMethod() != "GET") return send(resp, Poco::Net::HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
      if (req.getURI() == "/healthz") {
        auto db = store::Db::open(d_.db());
        if (!db.ok()) return send(resp, Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "store unavailable\n");
        return send(resp, Poco::Net::HTTPResponse::HTTP_OK, "ok\n");
      }
      if (req.getURI() == "/metrics") {
        auto db = store::Db::open(d_.db());
        if (!db.ok()) return send(resp, Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "store unavailable\n");
        auto m = store::read_metrics(*db);
        if (!m.ok()) return send(resp, Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "store unavailable\n");
        std::ostringstream out;
        for (const auto& [name, value] : *m) out << "knooppunt_" << name << " " << value << "\n";
        return send(resp, Poco::Net::HTTPResponse::HTTP_OK, out.str());
      }
      send(resp, Poco::Net::HTTPResponse::HTTP_NOT_FOUND, "not found\n");
    } catch (const Poco::Exception& e) {
      log::event("http.error", {{"error", e.displayText()}});
    }
  }

 private:
  static void send(Poco::Net::HTTPServerResponse& resp, Poco::Net::HTTPResponse::HTTPStatus status,
                   const std::string& body) {
    resp.setStatus(status);
    resp.setContentType("text/plain; version=0.0.4");
    resp.setContentLength(static_cast<std::streamsize>(body.size()));
    resp.send() << body;
  }
  const DataDir& d_;
  AuditorWeb& web_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const DataDir& d, AuditorWeb& web) : d_(d), web_(web) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(d_, web_);
  }

 private:
  const DataDir& d_;
  AuditorWeb& web_;
};

}  // namespace

Result<pid_t> start_http_endpoint(const DataDir& data, const Settings& settings) {
  const std::string& address = settings.http;
  try {
    Poco::Net::ServerSocket socket{Poco::Net::SocketAddress(address)};
    std::string bound = socket.address().toString();
    pid_t pid = ::fork();
    KP_ENSURE(pid >= 0, "http-failed", "cannot fork the HTTP process");
    if (pid > 0) {
      socket.close();
      log::event("http.listening", {{"addr", bound}});
      return pid;
    }
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    params->setMaxQueued(16);
    AuditorWeb web(data, settings);  // lives as long as this process
    Poco::Net::HTTPServer server(new Factory(data, web), socket, params);
    server.start();
    for (;;) ::pause();
  } catch (const Poco::Exception& e) {
    return make_error("http-failed", "cannot serve HTTP on " + address + ": " + e.displayText());
  }
}

}  // namespace kp::gateway
