// /healthz, /metrics and the auditors' page (/auditor/) over Poco's HTTP
// server, in a sandboxed process beside its monitor; see http_endpoint.h.
#include "gateway/http_endpoint.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerConnectionFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <set>

#include "common/log.h"
#include "common/sandbox.h"
#include "gateway/auditor_web.h"
#include "gateway/eherkenning_web.h"
#include "gateway/health.h"
#include "gateway/http_guard.h"
#include "gateway/http_monitor.h"
#include "gateway/metrics.h"
#include "gateway/test_hooks.h"
#include "keys/announcement.h"
#include "keys/keystore.h"
#include "keys/saml_sp_key.h"
#include "keys/ssh_cert.h"
#include "store/db.h"

namespace kp::gateway {

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const test_hooks::HttpContext& ctx, const Settings& settings, ReadOnlyStore& store, AuditorWeb& web,
          EherkenningWeb& eh)
      : ctx_(ctx), settings_(settings), store_(store), web_(web), eh_(eh) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    try {
      if (test_hooks::http_route && test_hooks::http_route(ctx_, req, resp)) return;
      if (AuditorWeb::owns(req.getURI())) return web_.handle(req, resp);
      if (EherkenningWeb::owns(req.getURI())) return eh_.handle(req, resp);
      if (AuditorWeb::owns_log(req.getURI())) return web_.handle_log(req, resp);
      resp.set("Cache-Control", "no-store");
      resp.set("X-Content-Type-Options", "nosniff");
      if (req.getMethod() != "GET") return send(resp, Poco::Net::HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
      if (req.getURI() == "/healthz" || req.getURI() == "/health") {
        HealthFacts facts = gather_health(store_.mu, store_.db, ctx_.monitor);
        HealthAnswer a = health_answer(failing_checks(facts, settings_, log::now_ms()));
        return send(resp, static_cast<Poco::Net::HTTPResponse::HTTPStatus>(a.status), a.body,
                    "text/plain; charset=utf-8");
      }
      if (req.getURI() == "/metrics") {
        auto facts = gather_metrics(store_.mu, store_.db, ctx_.monitor);
        if (!facts.ok()) return send(resp, Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "store unavailable\n");
        return send(resp, Poco::Net::HTTPResponse::HTTP_OK, render_metrics(*facts, settings_, log::now_ms()));
      }
      send(resp, Poco::Net::HTTPResponse::HTTP_NOT_FOUND, "not found\n");
    } catch (const Poco::Exception& e) {
      log::event("http.error", {{"error", e.displayText()}});
    }
  }

 private:
  static void send(Poco::Net::HTTPServerResponse& resp, Poco::Net::HTTPResponse::HTTPStatus status,
                   const std::string& body, const char* type = "text/plain; version=0.0.4; charset=utf-8") {
    resp.setStatusAndReason(status);  // "503 Service Unavailable", never "503 OK"
    resp.setContentType(type);
    resp.setContentLength(static_cast<std::streamsize>(body.size()));
    resp.send() << body;
  }
  const test_hooks::HttpContext& ctx_;
  const Settings& settings_;
  ReadOnlyStore& store_;
  AuditorWeb& web_;
  EherkenningWeb& eh_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const test_hooks::HttpContext& ctx, const Settings& settings, ReadOnlyStore& store, AuditorWeb& web,
          EherkenningWeb& eh)
      : ctx_(ctx), settings_(settings), store_(store), web_(web), eh_(eh) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& req) override {
    bool has_body = req.hasContentLength() ? req.getContentLength() > 0 : req.getChunkedTransferEncoding();
    HttpGuard::headers_read(has_body);
    return new Handler(ctx_, settings_, store_, web_, eh_);
  }

 private:
  const test_hooks::HttpContext& ctx_;
  const Settings& settings_;
  ReadOnlyStore& store_;
  AuditorWeb& web_;
  EherkenningWeb& eh_;
};

// Closes every descriptor but stdio and `keep`: the serve parent's store
// (read-write), its listening sockets and whatever else it held must not
// reach the HTTP process.
void close_inherited_fds(const std::set<int>& keep) {
  std::vector<int> open;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(dir);
    while (const dirent* e = ::readdir(dir)) {
      int fd = std::atoi(e->d_name);
      if (e->d_name[0] != '.' && fd > 2 && fd != own && !keep.count(fd)) open.push_back(fd);
    }
    ::closedir(dir);
  }
  for (int fd : open) ::close(fd);
}

volatile std::sig_atomic_t g_monitor_stop = 0;

[[noreturn]] void fail_and_exit(const Error& e) {
  log::event("http.failed", {{"error", e.message()}});
  ::_exit(1);
}

// The eHerkenning SP from public inputs only (saml_sp.h), or null when no
// broker is configured.
// `with_key`: the monitor's, which signs AuthnRequests with keys/saml-sp.key.
Result<std::unique_ptr<SamlSp>> load_saml_sp(const DataDir& data, const Settings& s, bool with_key = false) {
  if (s.eherkenning_broker_metadata.empty()) return std::unique_ptr<SamlSp>();
  KP_TRY(SamlSpConfig config, saml_sp_config(data, s));
  if (with_key) {
    KP_TRY(config.key_pem, keys::saml_sp_private_key(data));
  }
  return SamlSp::load(config);
}

// The HTTP process: build everything, enter the sandbox, then serve.
[[noreturn]] void run_http_process(const DataDir& data, const Settings& settings, Poco::Net::ServerSocket& socket,
                                   Fd channel, ServeStatus* serve) {
  close_inherited_fds({socket.impl()->sockfd(), channel.get()});
  // The serve parent's counts reach this process only through the monitor.
  if (serve) serve->unmap();
  // A read-only connection cannot create the -wal and -shm files; they exist
  // once a writer has the database open (the monitor opens it as we start),
  // so a first try that finds none waits a little for it.
  auto db = store::Db::open_readonly(data.db());
  for (int i = 0; !db.ok() && i < 250; ++i) {
    ::usleep(20 * 1000);
    db = store::Db::open_readonly(data.db());
  }
  if (!db.ok()) fail_and_exit(db.error());
  ReadOnlyStore store{{}, std::move(*db)};
  auto pub = keys::public_keys(data);
  if (!pub.ok()) fail_and_exit(pub.error());
  auto vkey = note::parse_verifier_key(pub->log_verifier_key);
  if (!vkey.ok()) fail_and_exit(vkey.error());
  auto user = sandbox::lookup_user(sandbox::kSessionUser);
  if (!user.ok()) fail_and_exit(user.error());
  if (::geteuid() == 0 && !*user)
    fail_and_exit(make_error("sandbox-failed", std::string("no user ") + sandbox::kSessionUser +
                                                   " (run `knooppunt init` as root once, or create it)"));
  HttpMonitorClient monitor(std::move(channel));
  test_hooks::HttpContext ctx{data, monitor};
  // Read before the sandbox, as every file: a log key rotated while serve
  // runs reaches the page at the next start.
  auto history = keys::log_key_history(data, *vkey);
  if (!history.ok()) fail_and_exit(history.error());
  AuditorWeb web(store, monitor, LogKey{*vkey, pub->log_origin, settings.witness_quorum, *history});
  auto sp = load_saml_sp(data, settings);
  if (!sp.ok()) fail_and_exit(sp.error());
  EherkenningWeb eh(std::move(*sp), monitor, store);
  auto report = sandbox::enter(sandbox::Profile::http, *user);
  if (!report.ok()) fail_and_exit(report.error());
  log::event("http.sandboxed", {{"uid_switched", report->uid_switched ? "yes" : "no"},
                                {"landlock_abi", std::to_string(report->landlock_abi)}});
  try {
    // Poco's threads start here, inside the sandbox.
    // One request per connection, each within its deadlines, and more
    // threads than one source may hold (gateway/http_guard.h).
    HttpGuard guard(HttpLimits{settings.http_header_timeout_seconds * 1000, settings.http_body_timeout_seconds * 1000,
                               settings.http_max_connections_per_source});
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(static_cast<int>(std::max<int64_t>(16, settings.http_max_connections_per_source * 2)));
    params->setMaxQueued(64);
    params->setKeepAlive(false);
    params->setTimeout(Poco::Timespan(settings.http_header_timeout_seconds, 0));
    Poco::Net::TCPServer server(
        guard.wrap(new Poco::Net::HTTPServerConnectionFactory(params, new Factory(ctx, settings, store, web, eh))), socket, params);
    server.start();
    // Serve until the monitor closes the channel (it ended, or it ended the
    // pair over a protocol violation); let answers in flight finish.
    pollfd pfd{monitor.fd(), 0, 0};
    while (::poll(&pfd, 1, -1) < 0 || (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) == 0) {
    }
    server.stop();
    for (int i = 0; i < 50 && server.currentConnections() > 0; ++i) ::usleep(100 * 1000);
  } catch (const Poco::Exception& e) {
    log::event("http.failed", {{"error", e.displayText()}});
    ::_exit(1);
  }
  log::event("http.stopped", {});
  ::_exit(0);
}

// The monitor: fork the HTTP process, then answer it until it leaves.
[[noreturn]] void run_monitor_process(const DataDir& data, const Settings& settings,
                                      Poco::Net::ServerSocket& socket, Fd mine, Fd theirs, ServeStatus* serve) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
  // SIGTERM ends the monitor's loop, so its counted refusals are written.
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_monitor_stop = 1; };
  ::sigaction(SIGTERM, &sa, nullptr);
  pid_t child = ::fork();
  if (child < 0) fail_and_exit(make_error("http-failed", "cannot fork the HTTP process"));
  if (child == 0) {
    ::signal(SIGTERM, SIG_DFL);
    mine.reset();
    run_http_process(data, settings, socket, std::move(theirs), serve);
  }
  theirs.reset();
  socket.close();
  close_inherited_fds({mine.get()});
  auto db = store::Db::open(data.db());
  if (!db.ok()) {
    ::kill(child, SIGKILL);
    fail_and_exit(db.error());
  }
  // The monitor itself never executes anything nor traces anyone.
  if (Status s = sandbox::deny_exec_and_escape(); !s.ok()) {
    ::kill(child, SIGKILL);
    fail_and_exit(s.error());
  }
  // The user CA's secret, for certificates after an eHerkenning login: only
  // this privileged process holds it, never the HTTP process.
  std::optional<std::array<uint8_t, 64>> user_ca;
  if (!settings.eherkenning_broker_metadata.empty()) {
    if (auto ca = keys::load_user_ca_secret(data); ca.ok()) user_ca = *ca;
  }
  // The SAML SP that builds the AuthnRequests and remembers their IDs
  // (gateway/saml_requests.h); the HTTP process has its own, to verify.
  auto sp = load_saml_sp(data, settings, true);
  if (!sp.ok()) {
    ::kill(child, SIGKILL);
    fail_and_exit(sp.error());
  }
  HttpMonitor monitor(*db, settings, user_ca, std::move(*sp));
  monitor.set_status_source([&] { return probe_host(*db, data.root, serve); });
  bool clean = run_monitor(mine.get(), monitor, &g_monitor_stop);
  monitor.flush(true);
  mine.reset();  // the HTTP process sees the channel close and leaves
  for (int i = 0; i < 60; ++i) {
    if (::waitpid(child, nullptr, WNOHANG) == child) ::_exit(clean ? 0 : 1);
    ::usleep(100 * 1000);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::_exit(clean ? 0 : 1);
}

}  // namespace

Result<pid_t> start_http_endpoint(const DataDir& data, const Settings& settings, ServeStatus* serve) {
  const std::string& address = settings.http;
  try {
    // No SO_REUSEPORT: a port another process serves is an error at start,
    // never a silent share.
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(address), true, false);
    socket.listen(64);
    std::string bound = socket.address().toString();
    int pair[2];
    KP_ENSURE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0, "http-failed",
              "cannot make the monitor's channel");
    Fd mine(pair[0]), theirs(pair[1]);
    pid_t pid = ::fork();
    KP_ENSURE(pid >= 0, "http-failed", "cannot fork the HTTP monitor");
    if (pid > 0) {
      socket.close();
      log::event("http.listening", {{"addr", bound}, {"monitor", std::to_string(pid)}});
      return pid;
    }
    run_monitor_process(data, settings, socket, std::move(mine), std::move(theirs), serve);
  } catch (const Poco::Exception& e) {
    return make_error("http-failed", "cannot serve HTTP on " + address + ": " + e.displayText());
  }
}

}  // namespace kp::gateway
