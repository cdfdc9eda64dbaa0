// One SSH connection; see ssh_session.h.
#include "gateway/ssh_session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "common/handles.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "gateway/gate.h"
#include "gateway/login_notice.h"
#include "gateway/monitor_client.h"
#include "gateway/principal.h"
#include "gateway/session_monitor.h"
#include "gateway/sftp_codec.h"
#include "gateway/sftp_session.h"
#include "gateway/ssh_notice.h"
#include "gateway/test_hooks.h"
#include "gateway/view.h"
#include "keys/ssh_cert.h"
#include "keys/ssh_key.h"
#include "store/db.h"

namespace kp::gateway {

namespace {

// libssh 0.10 marks the message-based publickey state deprecated in favour
// of callbacks; the message loop keeps the auth decision in one place.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
enum ssh_publickey_state_e signature_state(ssh_message msg) { return ssh_message_auth_publickey_state(msg); }
ssh_key offered_key(ssh_message msg) { return ssh_message_auth_pubkey(msg); }
#pragma GCC diagnostic pop

// The role of the account a login names, for the audit record.
std::optional<std::string> role_of(store::Db& db, const Result<LoginName>& login) {
  if (!login.ok()) return std::nullopt;
  auto acc = store::find_account(db, login->account);
  if (!acc.ok() || !*acc) return std::nullopt;
  return (*acc)->role;
}

// Login names are client bytes: logged with a length cap (the log escapes them).
std::string printable(const std::string& s) { return s.substr(0, 128); }

// Runs the authentication exchange. Returns the principal, or nothing when
// the client gave up, failed too often or the connection broke.
// `board` is the connection's byte in the gate's board: kBoardFailed from
// the first refused attempt on (the gate counts the connection as one
// failure if it never authenticates).
std::optional<Principal> authenticate(ssh_session session, Authority& auth, store::Db& db,
                                      const std::string& source, const Settings& settings,
                                      volatile uint8_t* board) {
  int64_t failures = 0;
  for (;;) {
    SshMessage msg(ssh_message_get(session));
    if (!msg) return std::nullopt;
    if (ssh_message_type(msg.get()) != SSH_REQUEST_AUTH) {
      ssh_message_reply_default(msg.get());
      continue;
    }
    if (ssh_message_subtype(msg.get()) != SSH_AUTH_METHOD_PUBLICKEY) {
      // "none" asks which methods there are; every other method (password,
      // keyboard-interactive, ...) is an attempt that fails, counted like a
      // refused key. Either way: publickey is the one.
      bool attempt = ssh_message_subtype(msg.get()) != SSH_AUTH_METHOD_NONE;
      if (attempt) {
        if (board) *board = kBoardFailed;
        const char* user_c = ssh_message_auth_user(msg.get());
        std::string user = user_c ? user_c : "";
        auto login = parse_login(user);
        audit_connection(db, "auth.login", "refused", source,
                         login.ok() ? std::optional<std::string>(login->account) : std::nullopt,
                         login.ok() ? login->municipality : std::nullopt, "method-not-allowed", role_of(db, login));
        log::event("auth.refused", {{"user", printable(user)}, {"source", source}, {"reason", "method-not-allowed"}});
      }
      ssh_message_auth_set_methods(msg.get(), SSH_AUTH_METHOD_PUBLICKEY);
      ssh_message_reply_default(msg.get());
      if (attempt && ++failures >= settings.max_auth_tries) {
        log::event("auth.too_many_tries", {{"source", source}});
        return std::nullopt;
      }
      continue;
    }
    const char* user_c = ssh_message_auth_user(msg.get());
    std::string user = user_c ? user_c : "";
    ssh_key offered = offered_key(msg.get());
    enum ssh_publickey_state_e state = signature_state(msg.get());
    auto login = parse_login(user);
    auto key = offered ? keys::describe_ssh_key(offered) : Result<store::SshKeyRecord>(make_error("key-unreadable"));
    std::optional<Error> refusal;
    if (!login.ok()) refusal = login.error();
    else if (!key.ok()) refusal = key.error();

    if (state == SSH_PUBLICKEY_STATE_NONE) {
      // The probe: say whether the key would be accepted; never authenticate.
      bool acceptable = false;
      if (!refusal) {
        auto r = auth.key_registered(*login, *key);
        acceptable = r.ok() && *r;
        if (!r.ok()) refusal = r.error();  // a certificate's own reason (cert-expired, ...)
      }
      if (acceptable) {
        ssh_message_auth_reply_pk_ok_simple(msg.get());
        continue;
      }
      // A refused key offer is a failed login (OpenSSH's client never signs
      // with a key the server refused): audited, and it counts for the ban.
      if (!refusal) refusal = make_error("key-not-registered", "the offered key is not registered for this login");
      if (board) *board = kBoardFailed;
      audit_connection(db, "auth.login", "refused", source,
                       login.ok() ? std::optional<std::string>(login->account) : std::nullopt,
                       login.ok() ? login->municipality : std::nullopt, refusal->code, role_of(db, login));
      log::event("auth.refused", {{"user", printable(user)}, {"source", source}, {"reason", refusal->code}});
      ssh_message_auth_set_methods(msg.get(), SSH_AUTH_METHOD_PUBLICKEY);
      ssh_message_reply_default(msg.get());
    } else {
      std::optional<Principal> p;
      if (!refusal && state != SSH_PUBLICKEY_STATE_VALID)
        refusal = make_error("signature-invalid", "the public-key signature did not verify");
      if (!refusal) {
        auto r = auth.authenticate(*login, *key, source);
        if (r.ok()) p = *r;
        else refusal = r.error();
        if (refusal) tell_refused_login(session, auth, *login, *key, *refusal);
      }
      std::optional<std::string> muni;
      if (login.ok() && login->municipality) muni = login->municipality;
      if (p) {
        ssh_message_auth_reply_success(msg.get(), 0);
        audit_connection(db, "auth.login", "success", source, p->account,
                         p->municipality.empty() ? std::nullopt : std::optional<std::string>(p->municipality),
                         std::nullopt, std::string(role_name(p->role)));
        log::event("auth.accepted", {{"user", printable(user)}, {"source", source}, {"role", role_name(p->role)},
                                     {"fingerprint", key->fingerprint}});
        return p;
      }
      if (board) *board = kBoardFailed;
      audit_connection(db, "auth.login", "refused", source,
                       login.ok() ? std::optional<std::string>(login->account) : std::nullopt, muni,
                       refusal->code, role_of(db, login));
      log::event("auth.refused", {{"user", printable(user)}, {"source", source}, {"reason", refusal->code},
                                  {"detail", refusal->detail}});
      ssh_message_auth_set_methods(msg.get(), SSH_AUTH_METHOD_PUBLICKEY);
      ssh_message_reply_default(msg.get());
    }
    if (++failures >= settings.max_auth_tries) {
      log::event("auth.too_many_tries", {{"source", source}});
      return std::nullopt;
    }
  }
}

// While an SFTP session runs, every other request (a second session
// channel, port forwarding, global requests) is answered at once with the
// default refusal instead of waiting unanswered: one session at a time per
// connection (returning 1 makes libssh send the default reply).
int refuse_during_sftp(ssh_session, ssh_message msg, void*) {
  int type = ssh_message_type(msg);
  log::event("ssh.request_refused", {{"type", std::to_string(type)},
                                     {"subtype", std::to_string(ssh_message_subtype(msg))},
                                     {"reason", "one-session-at-a-time"}});
  return 1;
}

// The SFTP read / dispatch / write loop over one channel. Returns false when
// the whole connection must end (idle past idle_timeout_seconds).
bool run_sftp(ssh_channel channel, SftpSession& session, const Settings& settings) {
  sftp::Framer framer;
  std::vector<uint8_t> out;
  out.reserve(1 << 20);
  const int idle_ms = static_cast<int>(settings.idle_timeout_seconds * 1000);
  auto last_activity = std::chrono::steady_clock::now();
  for (;;) {
    std::span<uint8_t> room = framer.prepare(256 * 1024);
    int n = ssh_channel_read_timeout(channel, room.data(), static_cast<uint32_t>(room.size()), 0,
                                     std::min(idle_ms, 5000));
    if (n == SSH_ERROR) break;
    if (n <= 0) {
      if (ssh_channel_is_eof(channel) || ssh_channel_is_closed(channel)) break;
      if (std::chrono::steady_clock::now() - last_activity > std::chrono::milliseconds(idle_ms)) {
        log::event("sftp.idle_timeout", {});
        return false;
      }
      continue;
    }
    last_activity = std::chrono::steady_clock::now();
    framer.commit(static_cast<std::size_t>(n));
    bool alive = true;
    for (;;) {
      auto body = framer.next();
      if (!body.ok()) {
        log::event("sftp.protocol_error", {{"reason", body.error().message()}});
        alive = false;
        break;
      }
      if (body->empty()) break;
      auto req = sftp::decode_request(*body);
      if (!req.ok()) {
        log::event("sftp.protocol_error", {{"reason", req.error().message()}});
        alive = false;
        break;
      }
      if (!session.handle(*req, out)) {
        log::event("sftp.protocol_error", {{"reason", "request out of sequence"}});
        alive = false;
        break;
      }
      if (out.size() >= (1 << 20)) {
        if (ssh_channel_write(channel, out.data(), static_cast<uint32_t>(out.size())) == SSH_ERROR) return true;
        out.clear();
      }
    }
    if (!out.empty()) {
      if (ssh_channel_write(channel, out.data(), static_cast<uint32_t>(out.size())) == SSH_ERROR) return true;
      out.clear();
    }
    if (std::string notices = session.take_notices(); !notices.empty())
      (void)ssh_channel_write_stderr(channel, notices.data(), static_cast<uint32_t>(notices.size()));
    if (!alive) break;
  }
  return true;
}

// An authenticated connection with nothing running (no channel, or a
// channel without SFTP) ends after idle_timeout_seconds: a key cannot hold
// a connection slot for ever.
void on_idle_alarm(int) {
  static const char line[] = "event=connection.idle_timeout\n";
  (void)!::write(STDERR_FILENO, line, sizeof line - 1);
  ::_exit(0);
}

// The sandboxed child's whole life after authentication: the channel loop
// and SFTP sessions, everything path-shaped asked of the monitor.
int serve_channels(ssh_session session, MonitorClient& monitor, const SessionLabel& label,
                   const Settings& settings) {
  int64_t sessions = 0;
  SshChannel channel;
  struct sigaction sa {};
  sa.sa_handler = on_idle_alarm;
  ::sigaction(SIGALRM, &sa, nullptr);
  for (;;) {
    ::alarm(static_cast<unsigned>(settings.idle_timeout_seconds));
    SshMessage msg(ssh_message_get(session));
    ::alarm(0);
    if (!msg) break;
    int type = ssh_message_type(msg.get());
    int subtype = ssh_message_subtype(msg.get());
    if (type == SSH_REQUEST_CHANNEL_OPEN && subtype == SSH_CHANNEL_SESSION && !channel &&
        sessions < settings.max_sessions_per_connection) {
      channel.reset(ssh_message_channel_request_open_reply_accept(msg.get()));
      continue;
    }
    const char* subsystem = type == SSH_REQUEST_CHANNEL && subtype == SSH_CHANNEL_REQUEST_SUBSYSTEM
                                ? ssh_message_channel_request_subsystem(msg.get())
                                : nullptr;
    if (channel && subsystem && std::strcmp(subsystem, "sftp") == 0) {
      // Each SFTP session starts afresh: its own handles and INIT.
      ssh_message_channel_request_reply_success(msg.get());
      msg.reset();
      ++sessions;
      {
        SftpSession sftp_session(settings, monitor, label);
        ssh_set_message_callback(session, refuse_during_sftp, nullptr);
        bool go_on = run_sftp(channel.get(), sftp_session, settings);
        ssh_set_message_callback(session, nullptr, nullptr);
        sftp_session.finish();
        if (!go_on) return 0;
      }
      if (monitor.broken()) return 1;
      // Clients (scp, ssh) take a missing exit-status as failure.
      ssh_channel_request_send_exit_status(channel.get(), 0);
      ssh_channel_send_eof(channel.get());
      ssh_channel_close(channel.get());
      channel.reset();
      continue;
    }
    if (type == SSH_REQUEST_CHANNEL &&
        (subtype == SSH_CHANNEL_REQUEST_EXEC || subtype == SSH_CHANNEL_REQUEST_SHELL ||
         subtype == SSH_CHANNEL_REQUEST_SUBSYSTEM)) {
      const char* what = subtype == SSH_CHANNEL_REQUEST_EXEC ? "exec"
                         : subtype == SSH_CHANNEL_REQUEST_SHELL ? "shell" : "subsystem";
      monitor::Request q;
      q.op = monitor::Op::channel_refused;
      q.reason = what;
      (void)monitor.call(q);
      log::event("ssh.channel_refused", {{"request", what}});
    }
    ssh_message_reply_default(msg.get());
  }
  return 0;
}

}  // namespace

int run_connection(ssh_bind bind, int fd, const std::string& source, const DataDir& data,
                   const Settings& settings, const std::optional<sandbox::Identity>& child_user,
                   volatile uint8_t* authenticated) {
  SshSession session(ssh_new());
  if (!session) return 1;
  ::alarm(static_cast<unsigned>(settings.login_grace_seconds));  // login grace time
  auto db = store::Db::open(data.db());
  if (!db.ok()) {
    log::event("store.open_failed", {{"error", db.error().message()}});
    return 1;
  }
  // Key exchange and authentication parse hostile bytes in this process
  // (libssh 0.10 gives a monitor no way to verify the signature itself): no
  // exec, ptrace, mount or module calls from here on.
  if (Status s = sandbox::deny_exec_and_escape(); !s.ok()) {
    log::event("sandbox.failed", {{"error", s.error().message()}});
    return 1;
  }
  if (ssh_bind_accept_fd(bind, session.get(), fd) != SSH_OK) {
    log::event("ssh.accept_failed", {{"source", source}, {"error", ssh_get_error(bind)}});
    return 1;
  }
  ssh_set_auth_methods(session.get(), SSH_AUTH_METHOD_PUBLICKEY);
  if (ssh_handle_key_exchange(session.get()) != SSH_OK) {
    log::event("ssh.kex_failed", {{"source", source}, {"error", ssh_get_error(session.get())}});
    return 1;
  }
  Authority auth(*db);
  if (auto ca = keys::load_user_ca_public(data); ca.ok()) auth.set_user_ca(*ca);
  std::optional<Principal> principal = authenticate(session.get(), auth, *db, source, settings, authenticated);
  if (!principal) return 0;
  ::alarm(0);
  if (authenticated) *authenticated = kBoardAuthenticated;  // out of the gate's unauthenticated budget
  auto view = View::open(data, *principal);
  if (!view.ok()) {
    log::event("session.view_failed", {{"error", view.error().message()}});
    return 1;
  }

  // Split: the child speaks SSH/SFTP in a sandbox; this process stays the
  // monitor, holding the store, the view and the decisions.
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
    log::event("session.split_failed", {{"error", std::strerror(errno)}});
    return 1;
  }
  Fd mine(sp[0]), theirs(sp[1]);
  monitor::SharedFlag* flag = monitor::map_shared_flag();
  int ssh_fd = ssh_get_fd(session.get());
  pid_t child = ::fork();
  if (child < 0) {
    log::event("session.split_failed", {{"error", std::strerror(errno)}});
    return 1;
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sandbox::close_all_but({STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, ssh_fd, theirs.get()});
    // SQLite's shared -shm mapping crossed the fork: closing its descriptor
    // does not end it.
    if (Status s = sandbox::unmap_files_under(data.root + "/"); !s.ok()) {
      log::event("sandbox.failed", {{"error", s.error().message()}});
      ::_exit(1);
    }
    auto confined = sandbox::enter(sandbox::Profile::session, child_user);
    if (!confined.ok()) {
      log::event("sandbox.failed", {{"error", confined.error().message()}});
      ::_exit(1);
    }
    hook_context() = HookContext{data.root, theirs.get(), ssh_fd};
    MonitorClient client(theirs.get(), flag);
    ::_exit(serve_channels(session.get(), client, SessionLabel{principal->account, principal->municipality},
                           settings));
  }
  theirs.reset();
  // The child owns the connection now (its cipher state moves on without
  // us): this process keeps no descriptor on it.
  int devnull[2];
  if (::pipe2(devnull, O_CLOEXEC) == 0) {
    ::dup3(devnull[0], ssh_fd, O_CLOEXEC);
    ::close(devnull[0]);
    ::close(devnull[1]);
  }
  std::string why;
  {
    SessionMonitor mon(settings, auth, *principal, std::move(*view), flag);
    why = mon.serve(mine.get(), child);
  }
  mine.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status) && why != "violation" && why != "revoked")
    log::event("session.crashed", {{"pid", std::to_string(child)}, {"signal", std::to_string(WTERMSIG(status))}});
  log::event("session.ended", {{"actor", principal->account}, {"reason", why}});
  // Never free the libssh session here: its socket is gone, and a goodbye
  // from this process would break the child's cipher state.
  ::_exit(0);
}

int run_ban_notice(ssh_bind bind, int fd, const std::string& source, const Settings& settings,
                   int64_t banned_until_ms) {
  SshSession session(ssh_new());
  if (!session) return 1;
  ::alarm(static_cast<unsigned>(std::min<int64_t>(settings.login_grace_seconds, 10)));
  if (Status s = sandbox::deny_exec_and_escape(); !s.ok()) return 1;
  if (ssh_bind_accept_fd(bind, session.get(), fd) != SSH_OK) return 1;
  ssh_set_auth_methods(session.get(), SSH_AUTH_METHOD_PUBLICKEY);
  if (ssh_handle_key_exchange(session.get()) != SSH_OK) return 0;
  std::string text = ban_message(banned_until_ms, log::now_ms());
  for (;;) {
    SshMessage msg(ssh_message_get(session.get()));
    if (!msg) return 0;
    if (ssh_message_type(msg.get()) == SSH_REQUEST_AUTH) {
      // Every login attempt gets the same answer: the banner (shown by
      // clients at the password or key prompt) and the disconnect reason.
      send_auth_banner(session.get(), text);
      log::event("connection.ban_notice", {{"source", source}, {"until", log::format_iso8601(banned_until_ms)}});
      disconnect_with(session.get(), text);
      return 0;
    }
    ssh_message_reply_default(msg.get());
  }
}

}  // namespace kp::gateway
