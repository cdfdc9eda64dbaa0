// Running real command-line tools from tests (age, age-keygen, minisign).
//
// Interop tests must drive the stock CLIs, but never through a shell:
// posix_spawnp with an argv vector, stdin from a file (the null device by
// default), stdout and stderr captured through pipes. A tool that is not
// installed shows up as started == false, which callers turn into a test
// failure: the install script provides every tool the tests use, so a
// missing one is a broken setup, not a reason to skip.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/handles.h"

extern char** environ;

namespace kp::test {

struct SpawnResult {
  bool started = false;  // false: the program could not be run at all
  int exit_code = -1;    // the exit status, or 128 + signal number
  std::string out;       // everything the program wrote to stdout
  std::string err;       // its stderr, or why it could not be started
};

namespace detail {
// Owner of a posix_spawn_file_actions_t (destroy is its matching free).
class FileActions {
 public:
  FileActions() { ok_ = posix_spawn_file_actions_init(&fa_) == 0; }
  ~FileActions() {
    if (ok_) posix_spawn_file_actions_destroy(&fa_);
  }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  bool ok() const { return ok_; }
  posix_spawn_file_actions_t* get() { return &fa_; }

 private:
  posix_spawn_file_actions_t fa_;
  bool ok_ = false;
};

inline bool make_pipe(kp::Fd& r, kp::Fd& w) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  r.reset(fds[0]);
  w.reset(fds[1]);
  return true;
}
}  // namespace detail

// Runs argv[0] (looked up in PATH) with `argv`, stdin read from `stdin_path`,
// and waits for it, returning its exit code and captured output.
inline SpawnResult spawn(const std::vector<std::string>& argv,
                         const std::string& stdin_path = "/dev/null") {
  SpawnResult r;
  if (argv.empty()) {
    r.err = "empty argv";
    return r;
  }
  kp::Fd out_r, out_w, err_r, err_w;
  detail::FileActions fa;
  // The pipe ends are close-on-exec; dup2 onto 1 and 2 gives the child
  // copies without the flag, so it holds exactly those two.
  if (!detail::make_pipe(out_r, out_w) || !detail::make_pipe(err_r, err_w) || !fa.ok() ||
      posix_spawn_file_actions_addopen(fa.get(), 0, stdin_path.c_str(), O_RDONLY, 0) != 0 ||
      posix_spawn_file_actions_adddup2(fa.get(), out_w.get(), 1) != 0 ||
      posix_spawn_file_actions_adddup2(fa.get(), err_w.get(), 2) != 0) {
    r.err = "cannot set up pipes for the child";
    return r;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], fa.get(), nullptr, args.data(), environ);
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    r.err = std::string("cannot run ") + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  // Drain both pipes together so a chatty child cannot block on a full one.
  pollfd pfd[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (pfd[i].fd < 0 || pfd[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = read(pfd[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        pfd[i].fd = -1;  // EOF; the kp::Fd closes it
        --open_pipes;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      r.err += std::string("waitpid: ") + std::strerror(errno);
      return r;
    }
  }
  r.started = true;
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exit_code = 128 + WTERMSIG(status);
  }
  return r;
}

}  // namespace kp::test
