// Unit tests for common/sandbox.h.
//
// enter() is one-way, so every case forks: the child confines itself and
// tries things, writing one "key=value" line per attempt to a pipe created
// before the fork; the parent reads the lines and asserts. A child that
// asks for it ("snapshot") waits while the parent reads /proc/<pid>/status,
// which the confined child itself can no longer open. As root (CI) the
// child switches to "nobody", so the tests do not depend on `init` having
// created the knooppunt users.
#include "common/sandbox.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "common/handles.h"
#include "tests/support/temp_dir.h"

namespace {

using kp::Fd;
using kp::sandbox::Profile;

// "ok" for a call that succeeded, else the errno's name ("EACCES").
std::string outcome(long rc) {
  if (rc >= 0) return "ok";
  const char* name = ::strerrorname_np(errno);
  return name ? name : "errno " + std::to_string(errno);
}

// The child's side of the pipes.
class Reporter {
 public:
  Reporter(int out, int go) : out_(out), go_(go) {}
  void put(const std::string& key, const std::string& value) {
    const std::string line = key + "=" + value + "\n";
    (void)!::write(out_, line.data(), line.size());
  }
  // Lets the parent read /proc/<pid>/status, and waits until it has.
  void snapshot() {
    put("snapshot", "1");
    char c;
    (void)!::read(go_, &c, 1);
  }

 private:
  int out_;
  int go_;
};

struct ChildResult {
  int status = 0;                         // from waitpid
  std::map<std::string, std::string> kv;  // the child's lines
  std::string proc_status;                // /proc/<pid>/status at the snapshot
  bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  std::string get(const std::string& key) const {
    auto it = kv.find(key);
    return it == kv.end() ? "(missing)" : it->second;
  }
};

// Runs body(Reporter&) in a forked child that then exits 0.
template <class Body>
ChildResult run_child(Body body) {
  int out[2], go[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(out[0]);
    ::close(go[1]);
    Reporter r(out[1], go[0]);
    try {
      body(r);
    } catch (...) {
      r.put("exception", "1");
    }
    ::_exit(0);
  }
  ::close(out[1]);
  ::close(go[0]);
  Fd out_r(out[0]), go_w(go[1]);
  ChildResult res;
  std::string buffer;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(buf, static_cast<std::size_t>(n));
    std::size_t eol;
    while ((eol = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, eol);
      buffer.erase(0, eol + 1);
      const std::size_t eq = line.find('=');
      res.kv[line.substr(0, eq)] = eq == std::string::npos ? "" : line.substr(eq + 1);
      if (line == "snapshot=1") {
        std::ifstream in("/proc/" + std::to_string(pid) + "/status");
        std::stringstream ss;
        ss << in.rdbuf();
        res.proc_status = ss.str();
        (void)!::write(go_w.get(), "g", 1);
      }
    }
  }
  while (::waitpid(pid, &res.status, 0) < 0 && errno == EINTR) {
  }
  return res;
}

// The first value of "key:" in a /proc status text.
std::string proc_field(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream rest(line.substr(key.size() + 1));
    std::string v;
    rest >> v;
    return v;
  }
  return "(missing)";
}

// Whom to switch to: "nobody" as root, nothing otherwise.
std::optional<kp::sandbox::Identity> test_identity() {
  if (::geteuid() != 0) return std::nullopt;
  auto who = kp::sandbox::lookup_user("nobody");
  REQUIRE(who.ok());
  REQUIRE(who->has_value());
  return **who;
}

// enter() and its report, as lines; false when it failed.
bool enter_and_report(Reporter& r, Profile profile,
                      const std::optional<kp::sandbox::Identity>& who) {
  auto rep = kp::sandbox::enter(profile, who);
  r.put("enter", rep.ok() ? "ok" : rep.error().message());
  if (!rep.ok()) return false;
  r.put("abi", std::to_string(rep->landlock_abi));
  r.put("switched", rep->uid_switched ? "1" : "0");
  return true;
}

// Sends `fd` over the socket `via` with SCM_RIGHTS and receives it from
// `from`; returns the received descriptor or -1.
int pass_fd(int via, int from, int fd) {
  char byte = 'x';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (::sendmsg(via, &msg, 0) != 1) return -1;
  msghdr in{};
  alignas(cmsghdr) char in_control[CMSG_SPACE(sizeof(int))] = {};
  in.msg_iov = &iov;
  in.msg_iovlen = 1;
  in.msg_control = in_control;
  in.msg_controllen = sizeof in_control;
  if (::recvmsg(from, &in, 0) != 1) return -1;
  cmsghdr* got = CMSG_FIRSTHDR(&in);
  if (!got || got->cmsg_type != SCM_RIGHTS) return -1;
  int received = -1;
  std::memcpy(&received, CMSG_DATA(got), sizeof received);
  return received;
}

}  // namespace

TEST_CASE("sandbox: lookup_user finds root and reports a missing user as nothing") {
  auto root = kp::sandbox::lookup_user("root");
  REQUIRE(root.ok());
  REQUIRE(root->has_value());
  CHECK((*root)->uid == 0);
  CHECK((*root)->name == "root");
  auto none = kp::sandbox::lookup_user("kp-no-such-user-4711");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

TEST_CASE("sandbox: status_line reads this process's status") {
  const std::string line = kp::sandbox::status_line();
  CHECK(line.rfind("Uid=" + std::to_string(::getuid()) + " CapEff=", 0) == 0);
  CHECK(line.find("NoNewPrivs=") != std::string::npos);
  CHECK(line.find("Seccomp=") != std::string::npos);
  CHECK(line.find('?') == std::string::npos);
}

TEST_CASE("sandbox: session profile confines and keeps inherited descriptors working") {
  kp::testing::TempDir dir;
  REQUIRE(!dir.path().empty());
  const std::string victim = dir.path() + "/victim";
  { std::ofstream(victim) << "hello world"; }
  Fd dirfd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  Fd filefd(::open(victim.c_str(), O_RDONLY | O_CLOEXEC));
  Fd inet(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  Fd s0(sv[0]), s1(sv[1]);
  REQUIRE(dirfd.valid());
  REQUIRE(filefd.valid());
  REQUIRE(inet.valid());
  const auto who = test_identity();

  ChildResult res = run_child([&](Reporter& r) {
    if (!enter_and_report(r, Profile::session, who)) return;
    r.snapshot();
    // Refused: paths, programs, new sockets, other processes.
    r.put("open", outcome(::open("/etc/passwd", O_RDONLY)));
    r.put("openat", outcome(::openat(dirfd.get(), "victim", O_RDONLY)));
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    r.put("execve", outcome(::execve("/bin/true", argv, argv + 1)));
    r.put("socket", outcome(::socket(AF_INET, SOCK_STREAM, 0)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(9);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r.put("connect",
          outcome(::connect(inet.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr)));
    r.put("ptrace", outcome(::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr)));
    r.put("unlinkat", outcome(::unlinkat(dirfd.get(), "victim", 0)));
    r.put("renameat", outcome(::renameat(dirfd.get(), "victim", dirfd.get(), "moved")));
    struct stat st;
    r.put("stat_path", outcome(::stat("/etc/passwd", &st)));
    r.put("kill_parent", outcome(::kill(::getppid(), 0)));
    r.put("setuid_root", outcome(::setuid(0)));
    r.put("prctl_dumpable", outcome(::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)));
    rlimit lim{};
    r.put("getrlimit", outcome(::getrlimit(RLIMIT_NOFILE, &lim)));
    r.put("setrlimit", outcome(::setrlimit(RLIMIT_NOFILE, &lim)));
    r.put("ioctl_fioclex", outcome(::ioctl(filefd.get(), FIOCLEX)));
    int pipefds[2];
    r.put("pipe2", outcome(::pipe2(pipefds, 0)));
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);  // only if the filter failed to refuse
    r.put("fork", outcome(child));
    pthread_t th;
    const int prc = ::pthread_create(
        &th, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
    r.put("pthread_create", prc == 0 ? "ok" : "refused");
    if (prc == 0) ::pthread_join(th, nullptr);
    // Allowed: descriptors held before enter().
    r.put("kill_self", outcome(::kill(::getpid(), 0)));
    r.put("fstat", outcome(::fstat(filefd.get(), &st)));
    char buf[16] = {};
    r.put("pread", ::pread(filefd.get(), buf, 5, 6) == 5 ? std::string(buf, 5) : outcome(-1));
    r.put("write_sock", outcome(::write(s0.get(), "ping", 4)));
    int waiting = 0;
    r.put("fionread", outcome(::ioctl(s1.get(), FIONREAD, &waiting)));
    r.put("waiting", std::to_string(waiting));
    char ping[4] = {};
    r.put("read_sock", ::read(s1.get(), ping, 4) == 4 ? std::string(ping, 4) : outcome(-1));
    Fd passed(pass_fd(s0.get(), s1.get(), filefd.get()));
    char via[16] = {};
    r.put("scm_rights",
          passed.valid() && ::pread(passed.get(), via, 5, 0) == 5 ? std::string(via, 5) : "failed");
    r.put("isatty", ::isatty(filefd.get()) == 0 && errno == ENOTTY ? "no" : "unexpected");
    r.put("done", "1");
  });

  REQUIRE(res.get("enter") == "ok");
  CHECK(res.exited_ok());
  CHECK(std::stoi(res.get("abi")) >= 1);
  CHECK(res.get("switched") == (::geteuid() == 0 ? "1" : "0"));
  CHECK(proc_field(res.proc_status, "NoNewPrivs") == "1");
  CHECK(proc_field(res.proc_status, "Seccomp") == "2");
  CHECK(proc_field(res.proc_status, "CapEff") == "0000000000000000");
  CHECK(proc_field(res.proc_status, "CapPrm") == "0000000000000000");
  CHECK(proc_field(res.proc_status, "CapBnd") == "0000000000000000");
  CHECK(proc_field(res.proc_status, "CapAmb") == "0000000000000000");
  if (::geteuid() == 0) {
    CHECK(proc_field(res.proc_status, "Uid") == std::to_string(who->uid));
    CHECK(proc_field(res.proc_status, "Gid") == std::to_string(who->gid));
    CHECK(proc_field(res.proc_status, "Groups") == std::to_string(who->gid));
  }
  for (const char* refused :
       {"open", "openat", "execve", "socket", "connect", "ptrace", "unlinkat", "renameat",
        "stat_path", "kill_parent", "setuid_root", "prctl_dumpable", "setrlimit", "fork"}) {
    INFO(refused);
    CHECK(res.get(refused) == "EACCES");
  }
#ifdef __SANITIZE_ADDRESS__
  CHECK(res.get("pipe2") == "ok");  // UBSan's vptr check needs pipes (see sandbox.cpp)
#else
  CHECK(res.get("pipe2") == "EACCES");
#endif
  CHECK(res.get("ioctl_fioclex") == "ENOTTY");
  CHECK(res.get("pthread_create") == "refused");
  CHECK(res.get("getrlimit") == "ok");
  CHECK(res.get("kill_self") == "ok");
  CHECK(res.get("fstat") == "ok");
  CHECK(res.get("pread") == "world");
  CHECK(res.get("write_sock") == "ok");
  CHECK(res.get("fionread") == "ok");
  CHECK(res.get("waiting") == "4");
  CHECK(res.get("read_sock") == "ping");
  CHECK(res.get("scm_rights") == "hello");
  CHECK(res.get("isatty") == "no");
  CHECK(res.get("done") == "1");
  // The refused calls changed nothing.
  struct stat st;
  CHECK(::stat(victim.c_str(), &st) == 0);
  CHECK(::stat((dir.path() + "/moved").c_str(), &st) != 0);
}

TEST_CASE("sandbox: a syscall outside the allow-list kills the process with SIGSYS") {
  const auto who = test_identity();
  ChildResult res = run_child([&](Reporter& r) {
    if (!enter_and_report(r, Profile::session, who)) return;
    unsigned cpu = 0, node = 0;
    ::syscall(SYS_getcpu, &cpu, &node, nullptr);
    r.put("survived", "1");
  });
  REQUIRE(res.get("enter") == "ok");
  CHECK(res.get("survived") == "(missing)");
  REQUIRE(WIFSIGNALED(res.status));
  CHECK(WTERMSIG(res.status) == SIGSYS);
}

TEST_CASE("sandbox: ioctl answers only FIONREAD, FIONBIO and TCGETS, ENOTTY for the rest") {
  // A pty master answers every terminal request, so an ENOTTY below comes
  // from the filter, not from the device. The refused requests sit below,
  // between and above the allowed values, where the filter spells out the
  // complement in masked blocks.
  Fd ptm(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  REQUIRE(ptm.valid());
  termios before{};
  REQUIRE(::ioctl(ptm.get(), TCGETS, &before) == 0);
  winsize ws{};
  REQUIRE(::ioctl(ptm.get(), TIOCGWINSZ, &ws) == 0);
  const auto who = test_identity();
  ChildResult res = run_child([&](Reporter& r) {
    if (!enter_and_report(r, Profile::session, who)) return;
    termios t{};
    r.put("TCGETS", outcome(::ioctl(ptm.get(), TCGETS, &t)));
    r.put("isatty", ::isatty(ptm.get()) == 1 ? "yes" : "no");
    int n = 0;
    r.put("FIONREAD", outcome(::ioctl(ptm.get(), FIONREAD, &n)));
    int on = 1;
    r.put("FIONBIO", outcome(::ioctl(ptm.get(), FIONBIO, &on)));
    r.put("TCSETS", outcome(::ioctl(ptm.get(), TCSETS, &t)));  // first gap
    winsize w{};
    r.put("TIOCGWINSZ", outcome(::ioctl(ptm.get(), TIOCGWINSZ, &w)));  // first gap
    int zero = 0;
    r.put("TIOCPKT", outcome(::ioctl(ptm.get(), TIOCPKT, &zero)));  // second gap
    r.put("FIONCLEX", outcome(::ioctl(ptm.get(), FIONCLEX)));       // above
    // The kernel reads the request as 32 bits; the filter compares all 64.
    const unsigned long high = (1UL << 32) | TCGETS;
    r.put("TCGETS_high", outcome(::syscall(SYS_ioctl, ptm.get(), high, &t)));
  });
  REQUIRE(res.get("enter") == "ok");
  CHECK(res.exited_ok());
  CHECK(res.get("TCGETS") == "ok");
  CHECK(res.get("isatty") == "yes");
  CHECK(res.get("FIONREAD") == "ok");
  CHECK(res.get("FIONBIO") == "ok");
  for (const char* refused : {"TCSETS", "TIOCGWINSZ", "TIOCPKT", "FIONCLEX", "TCGETS_high"}) {
    INFO(refused);
    CHECK(res.get(refused) == "ENOTTY");
  }
}

TEST_CASE("sandbox: parser profile refuses accept and fork, allows threads, keeps pipes") {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  Fd pr(p[0]), pw(p[1]);
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener.get(), 1) == 0);
  const auto who = test_identity();
  ChildResult res = run_child([&](Reporter& r) {
    if (!enter_and_report(r, Profile::parser, who)) return;
    r.put("accept4", outcome(::accept4(listener.get(), nullptr, nullptr, 0)));
    r.put("pipe_write", outcome(::write(pw.get(), "abc", 3)));
    char buf[3];
    r.put("pipe_read", ::read(pr.get(), buf, 3) == 3 ? std::string(buf, 3) : outcome(-1));
    r.put("open", outcome(::open("/etc/hostname", O_RDONLY)));
    // Threads (the hashing and resealing helper), never a process.
    int seen = 0;
    std::thread t([&] { seen = 42; });
    t.join();
    r.put("thread", std::to_string(seen));
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    r.put("fork", outcome(child));
  });
  REQUIRE(res.get("enter") == "ok");
  CHECK(res.exited_ok());
  CHECK(res.get("thread") == "42");
  CHECK(res.get("fork") == "EACCES");
  CHECK(res.get("accept4") == "EACCES");
  CHECK(res.get("pipe_write") == "ok");
  CHECK(res.get("pipe_read") == "abc");
  CHECK(res.get("open") == "EACCES");
}

TEST_CASE("sandbox: http profile allows threads and accept, never fork, bind or listen") {
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener.get(), 1) == 0);
  Fd unbound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const auto who = test_identity();
  ChildResult res = run_child([&](Reporter& r) {
    if (!enter_and_report(r, Profile::http, who)) return;
    int seen = 0;
    std::thread t([&] {
      ::prctl(PR_SET_NAME, "kp-test", 0, 0, 0);
      seen = 42;
    });
    t.join();
    r.put("thread", std::to_string(seen));
    // Non-blocking and nobody connecting: EAGAIN shows the call got through.
    r.put("accept4", outcome(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)));
    r.put("bind", outcome(::bind(unbound.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr)));
    r.put("listen", outcome(::listen(unbound.get(), 1)));
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    r.put("fork", outcome(child));
    r.put("open", outcome(::open("/etc/hostname", O_RDONLY)));
  });
  REQUIRE(res.get("enter") == "ok");
  CHECK(res.exited_ok());
  CHECK(res.get("thread") == "42");
  CHECK(res.get("accept4") == "EAGAIN");
  CHECK(res.get("bind") == "EACCES");
  CHECK(res.get("listen") == "EACCES");
  CHECK(res.get("fork") == "EACCES");
  CHECK(res.get("open") == "EACCES");
}

TEST_CASE("sandbox: enter refuses a process that already runs threads") {
  const auto who = test_identity();
  ChildResult res = run_child([&](Reporter& r) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    std::thread t([&] {
      char c;
      (void)!::read(p[0], &c, 1);
    });
    auto rep = kp::sandbox::enter(Profile::session, who);
    r.put("enter", rep.ok() ? "ok" : rep.error().code);
    r.put("detail", rep.ok() ? "" : rep.error().detail);
    (void)!::write(p[1], "x", 1);
    t.join();
    r.put("open_after", outcome(::open("/etc/hostname", O_RDONLY)));
  });
  CHECK(res.exited_ok());
  CHECK(res.get("enter") == "sandbox-failed");
  CHECK(res.get("detail").find("thread") != std::string::npos);
  CHECK(res.get("open_after") == "ok");  // nothing was applied
}

TEST_CASE("sandbox: as root, enter without an identity is refused") {
  ChildResult res = run_child([&](Reporter& r) {
    auto rep = kp::sandbox::enter(Profile::session, std::nullopt);
    r.put("enter", rep.ok() ? "ok" : rep.error().code);
    if (rep.ok()) r.put("switched", rep->uid_switched ? "1" : "0");
  });
  CHECK(res.exited_ok());
  if (::geteuid() == 0) {
    CHECK(res.get("enter") == "sandbox-failed");
  } else {
    CHECK(res.get("enter") == "ok");
    CHECK(res.get("switched") == "0");
  }
}

TEST_CASE("sandbox: deny_exec_and_escape keeps open working and refuses exec") {
  ChildResult res = run_child([&](Reporter& r) {
    const kp::Status st = kp::sandbox::deny_exec_and_escape();
    r.put("deny", st.ok() ? "ok" : st.error().message());
    if (!st.ok()) return;
    Fd f(::open("/etc/passwd", O_RDONLY | O_CLOEXEC));
    r.put("open", f.valid() ? "ok" : outcome(-1));
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    r.put("execve", outcome(::execve("/bin/true", argv, argv + 1)));
    r.put("ptrace", outcome(::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr)));
    r.put("unshare", outcome(::unshare(CLONE_NEWUSER)));
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    r.put("fork", child > 0 && ::waitpid(child, &status, 0) == child ? "ok" : outcome(-1));
    std::thread t([] {});
    t.join();
    r.put("thread", "ok");
    r.put("status", kp::sandbox::status_line());
  });
  REQUIRE(res.get("deny") == "ok");
  CHECK(res.exited_ok());
  CHECK(res.get("open") == "ok");
  CHECK(res.get("execve") == "EACCES");
  CHECK(res.get("ptrace") == "EACCES");
  CHECK(res.get("unshare") == "EACCES");
  CHECK(res.get("fork") == "ok");
  CHECK(res.get("thread") == "ok");
  CHECK(res.get("status").find("NoNewPrivs=1 Seccomp=2") != std::string::npos);
}
