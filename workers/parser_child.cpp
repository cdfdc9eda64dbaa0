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
#include "workers/reseal.h"
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

// Parses (and, for a staff submission's second pass, reseals with the
// worker's extra entries last); every failure is the answer's rejection.
Answer parse(const Job& job, int upload, TarSealer* sealer, const std::vector<Extra>& extras) {
  Answer a;
  if (::lseek(upload, static_cast<off_t>(job.payload_offset), SEEK_SET) < 0) {
    a.rejection = make_error("io-failed", "cannot seek to the payload");
    return a;
  }
  auto pkg = open_payload(upload, job.payload_key.data(), job.payload_offset, job.rules, sealer, kHelperThread);
  if (!pkg.ok()) {
    a.rejection = pkg.error();
    return a;
  }
  if (sealer) {
    const int64_t now_s = log::now_ms() / 1000;
    Status s = ok_status();
    for (const auto& e : extras)
      if (s.ok()) s = sealer->add(e.name, e.bytes, now_s);
    if (s.ok()) s = sealer->finish();
    if (!s.ok()) {
      a.rejection = s.error();
      return a;
    }
  }
  a.package = std::move(*pkg);
  return a;
}

// The extras descriptor's entries, read whole before the sandbox.
Result<std::vector<Extra>> read_extras(int fd) {
  std::vector<uint8_t> bytes;
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    KP_ENSURE(n >= 0, "parser-bad-job", "cannot read the extra entries");
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
    KP_ENSURE(bytes.size() <= kMaxExtras + 1024, "parser-bad-job", "extra entries too large");
  }
  return decode_extras(bytes);
}

}  // namespace

bool warm_up() {
  if (sodium_init() < 0) return false;
  uint8_t zero[age::kPayloadKeySize] = {};
  return age::Decryptor::for_payload(zero, [](const uint8_t*, std::size_t) { return ok_status(); }).ok();
}

void run_child(Job job, Fd upload, Fd answer, Fd output, Fd extras_fd, const std::optional<sandbox::Identity>& as,
               const std::string& data_root) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the zygote (which dies with the worker)
  sandbox::close_all_but({0, 1, 2, upload.get(), answer.get(), output.get(), extras_fd.get()});
  ::signal(SIGPIPE, SIG_DFL);  // a worker that stops reading ends us
  // A reseal job: the sealer (its Encryptor initialised) and the extras,
  // both before the sandbox.
  std::unique_ptr<TarSealer> sealer;
  std::vector<Extra> extras;
  Answer early;
  if (!job.reseal_to.empty()) {
    auto x = output.valid() && extras_fd.valid() ? read_extras(extras_fd.get())
                                                 : Result<std::vector<Extra>>(make_error("parser-bad-job", "no output"));
    auto s = x.ok() ? TarSealer::create(output.get(), job.reseal_to) : Result<std::unique_ptr<TarSealer>>(x.error());
    if (s.ok()) {
      sealer = std::move(*s);
      extras = std::move(*x);
    } else {
      early.rejection = s.error();
    }
  }
  extras_fd.reset();
  auto entered = sandbox::enter(sandbox::Profile::parser, as);
  if (!entered.ok()) {
    log::event("intake.parser_sandbox_failed", {{"error", entered.error().message()}});
    ::_exit(kExitSandboxFailed);
  }
  std::string note;
  if (g_parser_hook) note = g_parser_hook(ParserHookContext{data_root, upload.get(), answer.get()});
  Answer a = early.rejection ? std::move(early) : parse(job, upload.get(), sealer.get(), extras);
  a.note = std::move(note);
  std::vector<uint8_t> body = encode_answer(a);
  std::vector<uint8_t> framed;
  Writer w(framed);
  w.u32(static_cast<uint32_t>(body.size()));
  w.raw(body.data(), body.size());
  ::_exit(write_all(answer.get(), framed.data(), framed.size()) ? kExitAnswered : 1);
}

}  // namespace kp::workers::parser
