// The parser zygote: a helper process an intake worker forks first thing,
// before it opens the store or loads the intake identity and the signing
// keys, and which forks a fresh parser child (parser_child.h) for every
// package.
//
// Why a zygote: fork() copies the parent's memory, so a child forked by the
// worker itself would carry every key the worker holds, however carefully
// the child avoided touching them; exec'ing a fresh image per package would
// avoid that but costs an exec, a dynamic link and libarchive/libcrypto
// initialisation per upload. The zygote's memory is a copy of the worker
// from before any key existed in it, and it only ever receives jobs: one
// package's payload key and descriptors at a time, which it wipes and closes
// once it has forked the child. The child is therefore a copy of a process
// that never held a long-term secret.
//
// The zygote runs as the worker's user with NO_NEW_PRIVS and the
// exec/escape filter (sandbox::deny_exec_and_escape); it keeps root only
// because the child it forks switches to kSessionUser. It closes every
// descriptor but its socket and stdio, dies with the worker
// (PR_SET_PDEATHSIG), enforces each job's time limit (SIGKILL) and reports
// how the child ended. A lost zygote is never replaced from a worker that
// holds keys: parse() then fails with "parser-unavailable" and the worker
// exits, to be started again (with a fresh zygote) by serve.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/handles.h"
#include "common/result.h"
#include "workers/parser_wire.h"

namespace kp::workers::parser {

class Zygote {
 public:
  // Forks the zygote. Call while the process holds no key and is
  // single-threaded. As root, the parser children run as kSessionUser
  // (created if missing); otherwise as the caller, with the rest of the
  // sandbox. Errors: "parser-unavailable".
  static Result<Zygote> start(const std::string& data_root);

  Zygote(Zygote&&) noexcept;
  Zygote& operator=(Zygote&&) = delete;
  ~Zygote();

  // Parses one package in a fresh child: `upload` (read-only; the child
  // seeks to job.payload_offset); for a job with recipients, `output` (the
  // resealed package) and `extras` (encode_extras() bytes, read whole).
  // The result's rejection is the child's verdict on the package, or the
  // worker's verdict on the child: "package-parser-crashed" (killed by a
  // signal or a non-zero exit), "package-parser-timeout" (still running
  // after job.timeout_ms), "package-parser-bad-answer" (an answer that does
  // not decode, see parser_wire.h). Errors (operational, the package is not
  // to blame): "parser-unavailable" (the zygote is gone or cannot fork),
  // "parser-sandbox-failed". The payload key leaves this process only in
  // the job message, whose bytes are wiped once sent.
  Result<Answer> parse(const Job& job, int upload, int output = -1, int extras = -1);

  pid_t pid() const { return pid_; }

 private:
  Zygote(Fd sock, pid_t pid) : sock_(std::move(sock)), pid_(pid) {}
  Fd sock_;
  pid_t pid_ = -1;
};

}  // namespace kp::workers::parser
