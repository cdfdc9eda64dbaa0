// A real SMTP server for unit tests: tests/support/smtp_sink.py (Debian's
// python3-aiosmtpd) started in the background on a loopback port, stopped
// (SIGTERM, then waited for) when the object goes away.
//
// Messages it accepted are read back with messages(); see smtp_sink.py for
// the file format and the options.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace kp::test {

class SmtpSink {
 public:
  // Starts the sink writing into `dir`, with `extra` options (e.g.
  // {"--fail-first", "1"}, {"--starttls", CERT, KEY}, {"--port", "2525"}),
  // and waits until it listens. started() is false when it never did.
  explicit SmtpSink(const std::string& dir, const std::vector<std::string>& extra = {})
      : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string port_file = dir + "/port";
    std::filesystem::remove(port_file);
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     std::string(KP_SOURCE_DIR) + "/tests/support/smtp_sink.py",
                                     "--dir",
                                     dir,
                                     "--port-file",
                                     port_file};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) {
      pid_ = -1;
      return;
    }
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::ifstream in(port_file);
      if (!(in >> port_)) port_ = 0;
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ~SmtpSink() { stop(); }
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  bool started() const { return port_ != 0; }
  int port() const { return port_; }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // The accepted messages (with the sink's X-Sink-* lines), in order.
  std::vector<std::string> messages() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      if (e.path().extension() == ".eml") names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(read(n));
    return out;
  }

  // DIR/envelopes.log: one "MAIL tls=yes|no" line per MAIL command.
  std::string envelopes() const { return read(dir_ + "/envelopes.log"); }

 private:
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace kp::test
