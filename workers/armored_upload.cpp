// Decoding armored uploads; see armored_upload.h.
#include "workers/armored_upload.h"

#include <fcntl.h>

#include "common/log.h"
#include "keys/age_armor.h"

namespace kp::workers {

Result<Fd> binary_upload(const std::string& work_dir, Fd in, uint64_t max_bytes) {
  KP_TRY(bool armored, age::fd_looks_armored(in.get()));
  if (!armored) return in;
  Fd out(::open(work_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  KP_ENSURE(out.valid(), "io-failed", "cannot create a work file in " + work_dir);
  KP_ENSURE(::lseek(in.get(), 0, SEEK_SET) == 0, "io-failed", "cannot rewind the upload");
  Status s = age::dearmor_fd(in.get(), out.get(), max_bytes);
  if (!s.ok()) {
    if (s.error().code == "io-failed") return s.error();
    log::event("intake.armor_invalid", {{"reason", s.error().code}});
    return in;  // the age header check refuses it
  }
  return out;
}

}  // namespace kp::workers
