// The parser child; see parser_child.h.
#include "workers/parser_child.h"

#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "common/bytes.h"
#include "common/handles.h"
#include "common/log.h"
#include "workers/package.h"
#include "common/sandbox.h"
#include "workers/test_hooks.h"

namespace kp::workers::parser {

namespace {

bool write_all(int fd, const uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// The helper thread (hashing beside decryption) is off in sanitizer
// builds: UBSan's vptr check probes memory through pipe(), which the
// sandbox refuses, and then reports the new thread's start as an invalid
// object. Same results, one core.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kHelperThread = false;
#else
constexpr bool kHelperThread = true;
#endif

// Parses; every failure is the answer's rejection.
Answer parse(const Job& job, int upload) {
  Answer a;
  if (::lseek(upload, static_cast<off_t>(job.payload_offset), SEEK_SET) < 0) {
    a.rejection = make_error("io-failed", "cannot seek to the payload");
    return a;
  }
  auto pkg = open_payload(upload, job.payload_key.data(), job.payload_offset, job.rules, nullptr, kHelperThread);
  if (!pkg.ok()) a.rejection = pkg.error();
  else a.package = std::move(*pkg);
  return a;
}

}  // namespace

void run_child(Job job, Fd upload, Fd answer, const std::optional<sandbox::Identity>& as,
               const std::string& data_root) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the zygote (which dies with the worker)
  sandbox::close_all_but({0, 1, 2, upload.get(), answer.get()});
  ::signal(SIGPIPE, SIG_DFL);  // a worker that stops reading ends us
  // Everything that may touch a file the first time runs before the
  // sandbox (libsodium's initialisation, a payload Decryptor), so inside
  // nothing needs to open.
  if (sodium_init() < 0) ::_exit(kExitSandboxFailed);
  {
    uint8_t zero[age::kPayloadKeySize] = {};
    auto warm = age::Decryptor::for_payload(zero, [](const uint8_t*, std::size_t) { return ok_status(); });
    if (!warm.ok()) ::_exit(kExitSandboxFailed);
  }
  auto entered = sandbox::enter(sandbox::Profile::parser, as);
  if (!entered.ok()) {
    log::event("intake.parser_sandbox_failed", {{"error", entered.error().message()}});
    ::_exit(kExitSandboxFailed);
  }
  std::string note;
  if (g_parser_hook) note = g_parser_hook(ParserHookContext{data_root, upload.get(), answer.get()});
  Answer a = parse(job, upload.get());
  a.note = std::move(note);
  std::vector<uint8_t> body = encode_answer(a);
  std::vector<uint8_t> framed;
  Writer w(framed);
  w.u32(static_cast<uint32_t>(body.size()));
  w.raw(body.data(), body.size());
  ::_exit(write_all(answer.get(), framed.data(), framed.size()) ? kExitAnswered : 1);
}

}  // namespace kp::workers::parser
