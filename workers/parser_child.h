// The package parser child: the process that reads the hostile part of an
// upload -- the age payload, the tar (libarchive) and the manifest bytes --
// inside the sandbox (common/sandbox.h, Profile::parser), holding nothing
// but what its one job needs: the upload's descriptor, that package's
// payload key, the answer pipe and the package rules. For an upload it
// writes nothing but its answer: the worker queues an accepted package by
// rewrapping its header (workers/queue_pair.h). For a staff submission,
// whose sealed content must change (the hub signs the published manifest),
// a second child reseals the files with that manifest into an output
// descriptor (workers/publish.cpp). It is forked per package by the parser zygote
// (parser_zygote.h), which itself was forked before the worker loaded any
// key, so no intake identity, file key of another package, signing key or
// store handle is in its memory or its descriptor table.
#pragma once

#include <optional>
#include <string>

#include "common/handles.h"
#include "common/sandbox.h"
#include "workers/parser_wire.h"

namespace kp::workers::parser {

// Exit statuses of the child. Anything else (another code, a signal) is a
// crash as far as the worker is concerned.
inline constexpr int kExitAnswered = 0;
inline constexpr int kExitSandboxFailed = 3;  // operational: the package is not to blame

// The one-time initialisation the parser needs (libsodium, libcrypto's
// cipher tables, which OpenSSL builds on first use and may read its
// configuration file for). The zygote runs it once before it forks any
// child, so each child inherits it instead of paying for it per package,
// and nothing inside the sandbox has to open a file. False when it failed.
bool warm_up();

// Runs one job in the calling (freshly forked, single-threaded) process and
// never returns: closes every descriptor but those given and stdio,
// enters the sandbox as `as` (nullopt when not root), parses the payload
// and writes the answer (u32 length, then encode_answer()) to `answer`.
// A job with recipients (a staff submission's second pass) also reseals
// the files to them into `output`, then the entries read from `extras`.
[[noreturn]] void run_child(Job job, Fd upload, Fd answer, Fd output, Fd extras,
                            const std::optional<sandbox::Identity>& as, const std::string& data_root);

}  // namespace kp::workers::parser
