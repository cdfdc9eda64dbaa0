// Uploads sealed with `age -a`: the ASCII armor is part of the age format,
// so intake accepts it. Before the normal path reads an upload, an armored
// one is decoded (keys/age_armor: a strict, bounded line-by-line base64
// decoder) into an unnamed binary file in DATA/work (O_TMPFILE: nothing to
// clean up after a crash); everything after that -- the header, the
// parser child, the checks -- reads the binary file as it reads any upload.
// An armor that does not decode is left as it is, and the age header check
// refuses it (age-header-invalid).
#pragma once

#include <cstdint>
#include <string>

#include "common/handles.h"
#include "common/result.h"

namespace kp::workers {

// `in` itself when it is not armored (or its armor does not decode);
// otherwise an unnamed file in `work_dir` holding the binary age file, of
// at most `max_bytes`. Errors are operational only (io-failed).
Result<Fd> binary_upload(const std::string& work_dir, Fd in, uint64_t max_bytes);

}  // namespace kp::workers
