// Test hook (knooppunt-test only, see gateway/test_hooks.h): GET
// /test-escape?port=N plays a compromised HTTP process. From inside the
// sandbox it tries what an attacker holding the process would try first --
// open each file of DATA/keys and the folder itself, the store read-write,
// /etc/shadow; execve /bin/sh; a TCP connection to 127.0.0.1:N; ptrace its
// parent (the monitor); and forged monitor requests: a login with a wrong
// token, logout / verify / session-ended claims under a grant the monitor
// never gave, and last a request of an unknown type (which ends the pair).
// It answers JSON: each attempt's result, "ok" when it succeeded, else the
// errno name or the monitor's refusal. tests/integration/test_http_sandbox.py
// asserts every one failed.
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/URI.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "gateway/http_monitor.h"
#include "gateway/test_hooks.h"

namespace {

using namespace kp;
using namespace kp::gateway;

std::string errno_name(int e) {
  const char* n = ::strerrorname_np(e);
  return n ? n : "E" + std::to_string(e);
}

std::string try_open(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno_name(errno);
  ::close(fd);
  return "ok";
}

std::string try_exec() {
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>("exit 0"), nullptr};
  char* const envp[] = {nullptr};
  ::execve("/bin/sh", argv, envp);
  return errno_name(errno);  // only reached when execve failed
}

std::string try_connect(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno_name(errno);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int e = errno;
  ::close(s);
  return rc == 0 ? "ok" : errno_name(e);
}

std::string try_ptrace() {
  if (::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr) == 0) return "ok";
  return errno_name(errno);
}

std::string forged(HttpMonitorClient& monitor, const std::string& request, MonitorOp op) {
  auto raw = monitor.exchange(request);
  if (!raw.ok()) return raw.error().code;
  auto reply = parse_reply(*raw, op);
  if (!reply.ok()) return reply.error().code;
  return reply->accepted ? "ok" : "refused:" + reply->reason;
}

bool route(const test_hooks::HttpContext& ctx, Poco::Net::HTTPServerRequest& req,
           Poco::Net::HTTPServerResponse& resp) {
  Poco::URI uri(req.getURI());
  if (uri.getPath() != "/test-escape") return false;
  Poco::Net::HTMLForm query(req);
  const int port = std::atoi(query.get("port", "0").c_str());
  const std::string keys = ctx.data.root + "/keys/";

  Poco::JSON::Object keys_out;
  keys_out.set("DATA/keys/", try_open(keys, O_RDONLY | O_DIRECTORY));
  for (const char* name : {"intake.age", "intake.previous.age", "hub.minisign.key", "hub.minisign.pub", "log.note.key",
                           "log.note.vkey", "log.origin", "ssh_host_ed25519_key", "ssh_host_rsa_key"})
    keys_out.set(name, try_open(keys + name, O_RDONLY));

  Poco::JSON::Object out;
  out.set("keys", keys_out);
  out.set("db_rdwr", try_open(ctx.data.db(), O_RDWR));
  out.set("db_rdonly_new", try_open(ctx.data.db(), O_RDONLY));
  out.set("etc_shadow", try_open("/etc/shadow", O_RDONLY));
  out.set("public_file", try_open(ctx.data.public_keys() + "/log.note.vkey", O_RDONLY));
  out.set("execve", try_exec());
  out.set("connect", try_connect(port));
  out.set("ptrace_parent", try_ptrace());

  // Forged monitor requests.
  Grant none{};
  randombytes_buf(none.data(), none.size());
  Poco::JSON::Object monitor_out;
  monitor_out.set("login_wrong_token",
                  forged(ctx.monitor, encode_request(LoginRequest{"127.0.0.1", "a.audit", std::string(64, '0')}),
                         MonitorOp::login));
  monitor_out.set("logout_forged_grant",
                  forged(ctx.monitor, encode_request(ClaimRequest{MonitorOp::logout, none, "127.0.0.1", ""}),
                         MonitorOp::logout));
  monitor_out.set("verify_forged_grant",
                  forged(ctx.monitor, encode_request(ClaimRequest{MonitorOp::verify_done, none, "127.0.0.1", ""}),
                         MonitorOp::verify_done));
  monitor_out.set(
      "session_ended_forged_grant",
      forged(ctx.monitor,
             encode_request(ClaimRequest{MonitorOp::session_ended, none, "127.0.0.1", "token-replaced"}),
             MonitorOp::session_ended));
  // Last: this one ends the pair.
  monitor_out.set("unknown_request", forged(ctx.monitor, std::string("\x7f\0\0\0\0", 5), MonitorOp::logout));
  out.set("monitor", monitor_out);

  std::ostringstream body;
  out.stringify(body);
  resp.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  resp.setContentType("application/json");
  resp.setContentLength(static_cast<std::streamsize>(body.str().size()));
  resp.send() << body.str();
  return true;
}

struct Register {
  Register() { test_hooks::http_route = &route; }
} registered;

}  // namespace
