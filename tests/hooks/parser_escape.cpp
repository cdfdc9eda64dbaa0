// Test builds only (knooppunt-test): makes the intake worker's sandboxed
// parser child act compromised, from inside itself, after it entered the
// sandbox and before it parses. The environment variable
// KNOOPPUNT_TEST_PARSER (inherited from `serve` by its workers) picks what
// it does:
//
//   escape   tries to open the private keys and the store, list DATA/keys,
//            run /bin/sh, open a socket and connect to the loopback address,
//            ptrace and signal the zygote, fork; the answer's note is JSON
//            naming how each attempt ended ("refused:EACCES" or "ALLOWED").
//            Parsing then goes on as usual.
//   hang     sleeps 120 s (the zygote's time limit ends it): a package the
//            parser never finishes, and time for a test to look at the
//            child in /proc.
//   crash    abort(): a parser that dies on a package.
//   garbage  writes an answer that does not decode and exits 0.
//
// Never linked into `knooppunt`; a test checks the names are absent there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/hooks/attempts.h"
#include "workers/test_hooks.h"

namespace kp::workers {
namespace {

using hooks::json_pair;
using hooks::outcome;
using hooks::try_connect;
using hooks::try_exec;
using hooks::try_open;






std::string parser_hook(const ParserHookContext& c) {
  const char* mode_env = std::getenv("KNOOPPUNT_TEST_PARSER");
  const std::string mode = mode_env ? mode_env : "";
  if (mode == "hang") {
    for (int i = 0; i < 120; ++i) ::sleep(1);
    return "woke";
  }
  if (mode == "crash") std::abort();
  if (mode == "garbage") {
    const char junk[] = "\x00\x00\x00\x08KPA1\x07zzz";
    (void)!::write(c.answer_fd, junk, sizeof junk - 1);
    ::_exit(0);
  }
  if (mode != "escape") return "";
  const std::string d = c.data_root;
  std::string j = "{";
  for (const char* k : {"intake.age", "intake.previous.age", "hub.minisign.key", "log.note.key"})
    json_pair(j, std::string("open:keys/") + k, try_open(d + "/keys/" + k, O_RDONLY));
  json_pair(j, "open:keys/", try_open(d + "/keys", O_RDONLY | O_DIRECTORY));
  json_pair(j, "open:db-rw", try_open(d + "/knooppunt.db", O_RDWR));
  json_pair(j, "open:db-ro", try_open(d + "/knooppunt.db", O_RDONLY));
  json_pair(j, "create:queue", try_open(d + "/queue/evil.age", O_WRONLY | O_CREAT));
  json_pair(j, "open:/etc/shadow", try_open("/etc/shadow", O_RDONLY));
  json_pair(j, "open:/proc/self/mem", try_open("/proc/self/mem", O_RDONLY));
  json_pair(j, "execve:/bin/sh", try_exec());
  json_pair(j, "connect:loopback", try_connect(22));
  json_pair(j, "ptrace:zygote", outcome(::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr)));
  json_pair(j, "kill:zygote", outcome(::kill(::getppid(), 0)));
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  json_pair(j, "fork", outcome(child));
  json_pair(j, "uid", std::to_string(::getuid()));
  j += "}";
  return j;
}

[[maybe_unused]] const bool registered = (g_parser_hook = &parser_hook, true);

}  // namespace
}  // namespace kp::workers
