// Test builds only (knooppunt-test): SFTP extensions that make the sandboxed
// session child act compromised and try to get out, from inside itself.
//
//   test-escape@knooppunt      tries every way out it can think of and
//                              answers, as an EXTENDED_REPLY holding JSON,
//                              how each attempt ended ("refused:EACCES" or
//                              "ALLOWED"); the monitor-forgery attempts
//                              answer the monitor's refusal code.
//   test-forge-token@knooppunt sends the monitor a commit for a token it
//                              never handed out: the monitor must end the
//                              connection, so this one never answers.
//
// Never linked into `knooppunt`; a test checks the names are absent there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "gateway/monitor_wire.h"
#include "gateway/sftp_codec.h"
#include "gateway/test_hooks.h"
#include "tests/hooks/attempts.h"

namespace kp::gateway {
namespace {

using hooks::json_pair;
using hooks::outcome;
using hooks::try_exec;
using hooks::try_open;



std::string try_openat2(const std::string& path) {
  struct {
    uint64_t flags, mode, resolve;
  } how{O_RDONLY | O_CLOEXEC, 0, 0};
  long fd = ::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how);
  std::string r = outcome(fd);
  if (fd >= 0) ::close(static_cast<int>(fd));
  return r;
}


// Connects to the gateway's own port (from the client connection).
std::string try_connect_gateway(int ssh_fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(ssh_fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) sa.sin_port = htons(22);
  return hooks::try_connect(ntohs(sa.sin_port));
}

// A request to the monitor as the child would send it, bypassing every
// check the child makes: the monitor's own answer is what counts.
std::string forge(int sock, const monitor::Request& q) {
  if (!monitor::send_message(sock, monitor::encode_request(q)).ok()) return "send-failed";
  auto m = monitor::recv_message(sock);
  if (!m.ok()) return "no-reply";
  auto r = monitor::decode_reply(q.op, m->bytes);
  if (!r.ok()) return "bad-reply";
  if (m->fd.valid()) return "ALLOWED";
  return r->error ? "refused:" + r->error->code : "ALLOWED";
}


bool escape(std::string_view name, uint32_t id, std::vector<uint8_t>& out) {
  const HookContext& c = hook_context();
  if (name == "test-forge-token@knooppunt") {
    monitor::Request q;
    q.op = monitor::Op::close_write;
    q.token = 0x7fffffff;
    q.size = 0;
    q.sha256_hex = std::string(64, '0');
    (void)forge(c.monitor_sock, q);
    return false;  // never reached when the monitor does its job
  }
  if (name != "test-escape@knooppunt") return false;
  const std::string d = c.data_root;
  std::string j = "{";
  for (const char* k : {"intake.age", "hub.minisign.key", "log.note.key", "ssh_host_ed25519_key",
                        "ssh_host_rsa_key", "hub.minisign.pub"})
    json_pair(j, std::string("open:keys/") + k, try_open(d + "/keys/" + k, O_RDONLY));
  json_pair(j, "open:keys/", try_open(d + "/keys", O_RDONLY | O_DIRECTORY));
  json_pair(j, "open:db-rw", try_open(d + "/knooppunt.db", O_RDWR));
  json_pair(j, "open:db-ro", try_open(d + "/knooppunt.db", O_RDONLY));
  json_pair(j, "open:other-box", try_open(d + "/boxes/GM0599/outbox", O_RDONLY | O_DIRECTORY));
  json_pair(j, "open:other-file", try_open(d + "/boxes/GM0599/outbox/rotterdam-secret.txt", O_RDONLY));
  json_pair(j, "create:other-inbox", try_open(d + "/boxes/GM0599/inbox/evil.bin", O_WRONLY | O_CREAT));
  json_pair(j, "open:/etc/shadow", try_open("/etc/shadow", O_RDONLY));
  json_pair(j, "open:/etc/passwd", try_open("/etc/passwd", O_RDONLY));
  json_pair(j, "openat2:/etc/passwd", try_openat2("/etc/passwd"));
  json_pair(j, "execve:/bin/sh", try_exec());
  json_pair(j, "connect:loopback", try_connect_gateway(c.ssh_fd));
  json_pair(j, "ptrace:monitor", outcome(::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr)));
  json_pair(j, "kill:monitor", outcome(::kill(::getppid(), 0)));
  json_pair(j, "uid", std::to_string(::getuid()));
  monitor::Request q;
  q.op = monitor::Op::open_read;
  q.path = "/../GM0599/outbox/rotterdam-secret.txt";
  json_pair(j, "monitor:open_read-other-box", forge(c.monitor_sock, q));
  q.op = monitor::Op::open_write;
  q.path = "/inbox/../../boxes/GM0599/inbox/evil.bin";
  json_pair(j, "monitor:open_write-other-box", forge(c.monitor_sock, q));
  q.op = monitor::Op::list;
  q.path = "/GM0599";
  json_pair(j, "monitor:list-other-box", forge(c.monitor_sock, q));
  j += "}";
  std::size_t start = out.size();
  Writer w(out);
  w.u32(0);
  w.u8(static_cast<uint8_t>(sftp::Fxp::extended_reply));
  w.u32(id);
  w.str(j);
  w.patch_u32(start, static_cast<uint32_t>(out.size() - start - 4));
  return true;
}

[[maybe_unused]] const bool registered = (g_sftp_extension_hook = &escape, true);

}  // namespace
}  // namespace kp::gateway
