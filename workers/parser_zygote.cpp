// The parser zygote; see parser_zygote.h.
#include "workers/parser_zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "common/bytes.h"
#include "common/fd_passing.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "workers/parser_child.h"

namespace kp::workers::parser {

namespace {

// How the zygote reports a child's end to the worker.
enum class End : uint8_t { exited = 0, signaled = 1, timed_out = 2, fork_failed = 3, bad_job = 4 };

// Slack on top of a job's limit for the worker's own waits: the zygote
// enforces the limit, the worker only guards against a stuck zygote.
constexpr int kSlackMs = 10000;

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<uint8_t> end_message(End e, int32_t value) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.u8(static_cast<uint8_t>(e));
  w.u32(static_cast<uint32_t>(value));
  return out;
}

// Waits for `pid` at most timeout_ms; kills it past that. Reaps it.
std::vector<uint8_t> wait_child(pid_t pid, uint32_t timeout_ms) {
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  bool timed_out = false;
  if (pidfd.valid()) {
    pollfd p{pidfd.get(), POLLIN, 0};
    const int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
      const int64_t left = deadline - mono_ms();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
      if (rc > 0) break;
      if (rc < 0 && errno != EINTR) break;
    }
  } else {
    // No pidfd (old kernel): poll waitpid.
    const int64_t deadline = mono_ms() + timeout_ms;
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        if (WIFSIGNALED(status)) return end_message(End::signaled, WTERMSIG(status));
        return end_message(End::exited, WEXITSTATUS(status));
      }
      if (mono_ms() >= deadline) {
        timed_out = true;
        break;
      }
      ::usleep(5000);
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return end_message(End::timed_out, 0);
  if (WIFSIGNALED(status)) return end_message(End::signaled, WTERMSIG(status));
  return end_message(End::exited, WEXITSTATUS(status));
}

[[noreturn]] void zygote_main(Fd sock, const std::optional<sandbox::Identity>& as, const std::string& data_root) {
  for (;;) {
    auto m = recv_with_fds(sock.get(), kMaxJob, 4);
    if (!m.ok()) {
      if (m.error().code == "fd-passing-closed") ::_exit(0);  // the worker is gone
      continue;  // a malformed message from our own worker: skip it (descriptors closed)
    }
    pid_t pid = -1;
    uint32_t timeout_ms = 0;
    {
      auto job = decode_job(m->bytes);
      sodium_memzero(m->bytes.data(), m->bytes.size());
      if (!job.ok() || m->fds.size() < 2) {
        (void)send_with_fds(sock.get(), end_message(End::bad_job, 0), {});
        continue;
      }
      timeout_ms = job->timeout_ms;
      pid = ::fork();
      if (pid == 0) {
        Fd answer = std::move(m->fds[0]);
        Fd upload = std::move(m->fds[1]);
        Fd output = m->fds.size() > 3 ? std::move(m->fds[2]) : Fd();
        Fd extras = m->fds.size() > 3 ? std::move(m->fds[3]) : Fd();
        sock.reset();
        run_child(std::move(*job), std::move(upload), std::move(answer), std::move(output), std::move(extras), as,
                  data_root);
      }
      // The key (wiped as the job goes out of scope) and the descriptors
      // were for that one child only.
      m->fds.clear();
    }
    const auto end = pid < 0 ? end_message(End::fork_failed, errno) : wait_child(pid, timeout_ms);
    if (!send_with_fds(sock.get(), end, {}).ok()) ::_exit(0);
  }
}

// Reads the framed answer (u32 length, body) from `fd` until EOF, at most
// `cap` body bytes, until `deadline`. Returns the body, or nothing when it
// was oversized, cut or late (the caller then judges by how the child ended).
std::optional<std::vector<uint8_t>> read_answer(int fd, std::size_t cap, int64_t deadline) {
  std::vector<uint8_t> got;
  uint8_t buf[65536];
  for (;;) {
    const int64_t left = deadline - mono_ms();
    if (left <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    got.insert(got.end(), buf, buf + n);
    if (got.size() > cap + 4) return std::nullopt;
  }
  Reader r(got.data(), got.size());
  const uint32_t len = r.u32();
  if (!r.ok() || r.remaining() != len) return std::nullopt;
  return std::vector<uint8_t>(got.begin() + 4, got.end());
}

}  // namespace

Result<Zygote> Zygote::start(const std::string& data_root) {
  std::optional<sandbox::Identity> as;
  if (::geteuid() == 0) {
    KP_GUARD(sandbox::ensure_system_users());
    KP_TRY(as, sandbox::lookup_user(sandbox::kSessionUser));
    KP_ENSURE(as.has_value(), "parser-unavailable", std::string("no user ") + sandbox::kSessionUser);
  }
  int sv[2];
  KP_ENSURE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "parser-unavailable",
            std::string("socketpair: ") + std::strerror(errno));
  Fd mine(sv[0]);
  Fd theirs(sv[1]);
  const pid_t pid = ::fork();
  KP_ENSURE(pid >= 0, "parser-unavailable", std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    mine.reset();
    sandbox::close_all_but({0, 1, 2, theirs.get()});
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_IGN);  // a terminal's ^C goes to the worker, which ends us
    // libsodium (the job's payload key lives in its secure memory) and
    // libcrypto, once for every child (parser_child.h).
    if (!warm_up()) ::_exit(kExitSandboxFailed);
    if (!sandbox::deny_exec_and_escape().ok()) ::_exit(kExitSandboxFailed);
    zygote_main(std::move(theirs), as, data_root);
  }
  log::event("worker.parser_zygote_started", {{"zygote", std::to_string(pid)}});
  return Zygote(std::move(mine), pid);
}

Zygote::Zygote(Zygote&& o) noexcept : sock_(std::move(o.sock_)), pid_(std::exchange(o.pid_, -1)) {}

Zygote::~Zygote() {
  sock_.reset();  // the zygote sees the close and exits
  if (pid_ > 0) {
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      ::usleep(5000);
    }
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

Result<Answer> Zygote::parse(const Job& job, int upload, int output, int extras) {
  KP_ENSURE(sock_.valid(), "parser-unavailable", "the parser zygote is gone");
  int p[2];
  KP_ENSURE(::pipe2(p, O_CLOEXEC) == 0, "parser-unavailable", std::string("pipe: ") + std::strerror(errno));
  Fd answer_read(p[0]);
  Fd answer_write(p[1]);
  std::vector<uint8_t> bytes = encode_job(job);
  std::vector<int> fds{answer_write.get(), upload};
  if (output >= 0 && extras >= 0) {
    fds.push_back(output);
    fds.push_back(extras);
  }
  Status sent = send_with_fds(sock_.get(), bytes, fds);
  sodium_memzero(bytes.data(), bytes.size());
  answer_write.reset();  // the child holds the only write end now: EOF when it ends
  if (!sent.ok()) {
    sock_.reset();
    return make_error("parser-unavailable", "cannot reach the parser zygote: " + sent.error().message());
  }
  const int64_t deadline = mono_ms() + job.timeout_ms + kSlackMs;
  auto body = read_answer(answer_read.get(), max_answer(job.rules), deadline);
  answer_read.reset();  // a child still writing gets EPIPE
  pollfd pf{sock_.get(), POLLIN, 0};
  int rc;
  do rc = ::poll(&pf, 1, static_cast<int>(std::max<int64_t>(deadline - mono_ms(), 0) + kSlackMs));
  while (rc < 0 && errno == EINTR);
  auto m = rc > 0 ? recv_with_fds(sock_.get(), 16, 0) : Result<ReceivedMessage>(make_error("fd-passing-io", "no report"));
  if (!m.ok()) {
    sock_.reset();
    return make_error("parser-unavailable", "the parser zygote did not report: " + m.error().message());
  }
  Reader r(m->bytes.data(), m->bytes.size());
  const auto end = static_cast<End>(r.u8());
  const auto value = static_cast<int32_t>(r.u32());
  KP_ENSURE(r.at_end(), "parser-unavailable", "malformed zygote report");
  Answer verdict;
  switch (end) {
    case End::fork_failed:
    case End::bad_job:
      return make_error("parser-unavailable", "the parser zygote could not start a child");
    case End::timed_out:
      verdict.rejection = make_error("package-parser-timeout", "the package parser did not finish within " +
                                                                    std::to_string(job.timeout_ms / 1000) + " s");
      return verdict;
    case End::signaled:
      verdict.rejection =
          make_error("package-parser-crashed", "the package parser was ended by signal " + std::to_string(value));
      return verdict;
    case End::exited:
      break;
    default:
      return make_error("parser-unavailable", "malformed zygote report");
  }
  if (value == kExitSandboxFailed)
    return make_error("parser-sandbox-failed", "the package parser could not enter its sandbox (see the log)");
  if (value != kExitAnswered) {
    verdict.rejection =
        make_error("package-parser-crashed", "the package parser exited with status " + std::to_string(value));
    return verdict;
  }
  if (!body) {
    verdict.rejection =
        make_error("package-parser-bad-answer", "the package parser's answer is cut, late or too large");
    return verdict;
  }
  auto decoded = decode_answer(*body, job.rules);
  if (!decoded.ok()) {
    verdict.rejection = decoded.error();
    return verdict;
  }
  return decoded;
}

}  // namespace kp::workers::parser
