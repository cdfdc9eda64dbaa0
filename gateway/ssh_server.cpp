// The accepting parent: listen, limits, ban, fork; see ssh_server.h.
#include "gateway/ssh_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <map>

#include "common/handles.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "gateway/gate.h"
#include "gateway/health.h"
#include "gateway/http_endpoint.h"
#include "gateway/principal.h"
#include "gateway/serve_status.h"
#include "gateway/ssh_session.h"
#include "gateway/upload.h"
#include "store/audit_events.h"
#include "store/db.h"

namespace kp::gateway {

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

// Only modern algorithms. AES-CTR with hmac-sha2 (non-ETM) stays for
// libssh2-based clients such as Debian's curl (libssh2 1.10 has neither
// AEAD ciphers nor ETM MACs).
constexpr const char* kKex =
    "curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,"
    "diffie-hellman-group18-sha512";
constexpr const char* kCiphers =
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,"
    "aes192-ctr,aes256-ctr";
constexpr const char* kMacs =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512";
constexpr const char* kHostKeyAlgorithms = "ssh-ed25519,rsa-sha2-512,rsa-sha2-256";
constexpr const char* kUserKeyTypes =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,"
    "ssh-ed25519-cert-v01@openssh.com";  // only from our user CA (keys/ssh_cert.h, principal.h)

Result<SshBind> make_bind(const DataDir& data) {
  SshBind bind(ssh_bind_new());
  KP_ENSURE(bind, "ssh-init-failed", "ssh_bind_new failed");
  bool no = false;
  ssh_bind b = bind.get();
  ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);  // never read system libssh config
  std::string ed = data.keys() + "/ssh_host_ed25519_key";
  std::string rsa = data.keys() + "/ssh_host_rsa_key";
  KP_ENSURE(ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, ed.c_str()) == SSH_OK, "host-key-missing",
            "cannot load " + ed);
  KP_ENSURE(ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, rsa.c_str()) == SSH_OK, "host-key-missing",
            "cannot load " + rsa);
  const std::pair<enum ssh_bind_options_e, const char*> opts[] = {
      {SSH_BIND_OPTIONS_KEY_EXCHANGE, kKex},
      {SSH_BIND_OPTIONS_CIPHERS_C_S, kCiphers},
      {SSH_BIND_OPTIONS_CIPHERS_S_C, kCiphers},
      {SSH_BIND_OPTIONS_HMAC_C_S, kMacs},
      {SSH_BIND_OPTIONS_HMAC_S_C, kMacs},
      {SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, kHostKeyAlgorithms},
      {SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, kUserKeyTypes},
  };
  for (const auto& [opt, value] : opts)
    KP_ENSURE(ssh_bind_options_set(b, opt, value) == SSH_OK, "ssh-init-failed",
              std::string("cannot set algorithms: ") + ssh_get_error(b));
  int rsa_min = 3072;
  ssh_bind_options_set(b, SSH_BIND_OPTIONS_RSA_MIN_SIZE, &rsa_min);
  return bind;
}

Result<Fd> listen_on(const std::string& address, std::string& bound) {
  auto colon = address.rfind(':');
  KP_ENSURE(colon != std::string::npos, "settings-bad-value", "listen address " + address + " is not host:port");
  std::string host = address.substr(0, colon);
  int port = -1;
  auto [end, ec] = std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
  KP_ENSURE(ec == std::errc() && end == address.data() + address.size() && port >= 0 && port <= 65535,
            "settings-bad-value", "listen address " + address + " has no valid port");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  KP_ENSURE(::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) == 1, "settings-bad-value",
            "listen address " + address + " is not an IPv4 address:port");
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  KP_ENSURE(fd.valid(), "listen-failed", std::strerror(errno));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  KP_ENSURE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0, "listen-failed",
            "cannot bind " + address + ": " + std::strerror(errno));
  KP_ENSURE(::listen(fd.get(), 512) == 0, "listen-failed", std::strerror(errno));
  socklen_t len = sizeof sa;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof buf);
  bound = std::string(buf) + ":" + std::to_string(ntohs(sa.sin_port));
  return fd;
}

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  char buf[INET6_ADDRSTRLEN] = "unknown";
  if (ss.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  else if (ss.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  return buf;
}

// Starts `knooppunt worker` as a fresh executable image (not a fork of this
// process): the worker loads the private keys; this process never does.
Result<pid_t> spawn_worker(const DataDir& data) {
  std::string parent = std::to_string(::getpid());
  std::string env_parent = "KNOOPPUNT_PARENT_PID=" + parent;
  std::vector<std::string> args = {"knooppunt", "worker", "--data", data.root};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "KNOOPPUNT_PARENT_PID=", 21) != 0) envp.push_back(*e);
  envp.push_back(env_parent.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data());
  KP_ENSURE(rc == 0, "worker-spawn-failed", std::string("cannot start a worker: ") + std::strerror(rc));
  log::event("worker.spawned", {{"worker", std::to_string(pid)}});
  return pid;
}

// One serve per data directory: an exclusive lock on DATA/serve.lock, held
// for the life of this process (and released by the kernel when it dies).
Result<Fd> lock_data_dir(const DataDir& data) {
  std::string path = data.root + "/serve.lock";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  KP_ENSURE(fd.valid(), "data-dir-busy", "cannot open " + path + ": " + std::strerror(errno));
  KP_ENSURE(::flock(fd.get(), LOCK_EX | LOCK_NB) == 0, "data-dir-busy",
            "another `knooppunt serve` is running on " + data.root);
  return fd;
}

}  // namespace

Status serve(const DataDir& data, const Settings& settings) {
  KP_TRY(Fd lock, lock_data_dir(data));
  // The counts /healthz and /metrics report, shared with the HTTP monitor
  // (gateway/serve_status.h): mapped before the HTTP pair is forked.
  KP_TRY(ServeStatus status, ServeStatus::create());
  // The HTTP pair first, before this process opens the store or loads the
  // SSH host keys: neither an SQLite connection (its locks and -shm mapping)
  // nor a host key may cross the fork into it.
  if (!settings.http.empty()) KP_GUARD(start_http_endpoint(data, settings, &status));
  ssh_init();
  KP_TRY(store::Db db, store::Db::open(data.db()));
  KP_GUARD(recover_uploads(data, db));
  KP_TRY(SshBind bind, make_bind(data));
  std::string bound;
  KP_TRY(Fd listener, listen_on(settings.listen, bound));

  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // The user the sandboxed children run as: made by `init` as root (made
  // here too for data directories from before); a developer who is not
  // root keeps their uid, and the children say so.
  std::optional<sandbox::Identity> child_user;
  if (::geteuid() == 0) {
    KP_GUARD(sandbox::ensure_system_users());
    KP_TRY(child_user, sandbox::lookup_user(sandbox::kSessionUser));
    KP_ENSURE(child_user, "user-missing", std::string("the system user ") + sandbox::kSessionUser + " does not exist");
  } else {
    log::event("sandbox.uid_switch_skipped", {{"reason", "not running as root"}});
  }
  Gate gate(settings, db);
  std::vector<pid_t> workers;
  for (int64_t i = 0; i < settings.workers; ++i) {
    KP_TRY(pid_t w, spawn_worker(data));
    workers.push_back(w);
  }
  int64_t last_restart_ms = 0;
  int64_t restarts = 0;
  std::deque<int64_t> recent_restarts_ms;
  std::vector<pid_t> reaped_early;  // workers reaped while admitting a connection
  StaffWarning staff_warning(settings.staff_warning_interval_seconds * 1000);
  log::event("serve.listening", {{"addr", bound}, {"data", data.root}});
  while (!g_stop) {
    std::vector<pid_t> ended = gate.reap();
    ended.insert(ended.end(), reaped_early.begin(), reaped_early.end());
    reaped_early.clear();
    for (pid_t gone : ended) {
      auto it = std::find(workers.begin(), workers.end(), gone);
      if (it == workers.end()) continue;
      log::event("worker.exited", {{"pid", std::to_string(gone)}});
      // A crashing worker is restarted, at most once a second.
      if (log::now_ms() - last_restart_ms < 1000) ::usleep(1000 * 1000);
      last_restart_ms = log::now_ms();
      ++restarts;
      recent_restarts_ms.push_back(last_restart_ms);
      auto w = spawn_worker(data);
      if (w.ok()) *it = *w;
      else workers.erase(it);
    }
    gate.flush();
    const int64_t now = log::now_ms();
    while (!recent_restarts_ms.empty() && now - recent_restarts_ms.front() > kRecentRestartMs)
      recent_restarts_ms.pop_front();
    status.publish({settings.workers, static_cast<int64_t>(workers.size()), restarts,
                    static_cast<int64_t>(recent_restarts_ms.size()), static_cast<int64_t>(gate.connections()),
                    static_cast<int64_t>(gate.sessions())});
    staff_warning.tick(db, now);
    pollfd pfd{listener.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, 500);
    if (ready <= 0) continue;
    Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    std::string source = peer_address(conn.get());
    // A connection that just failed counts before this one is admitted.
    for (pid_t other : gate.reap()) reaped_early.push_back(other);
    std::optional<int64_t> notice;
    if (auto why = gate.refuse(source)) {
      gate.refused(source, *why);
      if (*why != "source-banned" || !(notice = gate.ban_notice(source))) continue;
    }
    volatile uint8_t* authenticated = gate.next_slot();
    int one = 1;
    ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pid_t pid = ::fork();
    if (pid < 0) {
      log::event("connection.fork_failed", {{"error", std::strerror(errno)}});
      continue;
    }
    if (pid == 0) {
      // The child: die with the parent, default signals, serve, exit
      // without running the parent's destructors (its SQLite handle stays
      // untouched: SQLite connections must not cross fork).
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGINT, SIG_DFL);
      ::close(listener.get());
      status.unmap();  // the counts are the parent's to write
      int rc = notice ? run_ban_notice(bind.get(), conn.release(), source, settings, *notice)
                      : run_connection(bind.get(), conn.release(), source, data, settings, child_user, authenticated);
      ::_exit(rc);
    }
    gate.add(pid, source, notice.has_value());
  }
  log::event("serve.stopping", {});
  gate.flush(true);
  gate.stop_all();
  // Workers sign a last checkpoint when they stop: wait for them (10 s at most).
  // A worker the loop already reaped (its pid in reaped_early, or gone with
  // ECHILD) is not waited for: that wait would last the whole 10 s.
  for (pid_t gone : reaped_early) std::erase(workers, gone);
  for (pid_t w : workers) ::kill(w, SIGTERM);
  for (int i = 0; i < 100 && !workers.empty(); ++i) {
    for (auto it = workers.begin(); it != workers.end();) {
      pid_t r = ::waitpid(*it, nullptr, WNOHANG);
      if (r == *it || (r < 0 && errno == ECHILD)) it = workers.erase(it);
      else ++it;
    }
    if (!workers.empty()) ::usleep(100 * 1000);
  }
  return ok_status();
}

}  // namespace kp::gateway
