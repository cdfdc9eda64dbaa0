// The worker's half of opening an upload or a staff submission: the age
// header, with the intake identities, here; the payload, the tar and the
// manifest in a fresh sandboxed parser child (parser_zygote.h) that gets
// only this package's payload key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "keys/age.h"
#include "workers/intake.h"
#include "workers/parser_wire.h"

namespace kp::workers {

// A staff submission's second pass: reseal the files to `to` into
// `output`, followed by `extras` (the manifest the hub signed, and that
// signature).
struct Reseal {
  std::vector<age::PublicKey> to;
  std::vector<parser::Extra> extras;
  int output = -1;
};

// Parses the upload open as `in` (`size` bytes; `what` names it in the
// log). The outer Result is operational (retry later); the inner one is
// the package's verdict (a rejection's code). `opened`, when given, keeps
// what rewrapping needs (file key, nonce, payload offset).
Result<Result<OpenedPackage>> parse_upload(IntakeContext& ctx, int in, uint64_t size, const std::string& what,
                                           std::optional<age::OpenedHeader>* opened,
                                           const Reseal* reseal = nullptr);

}  // namespace kp::workers
