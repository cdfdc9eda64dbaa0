// Queue entries by rewrapping; see queue_pair.h.
#include "workers/queue_pair.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/fsio.h"
#include "common/handles.h"
#include "common/pair_file.h"
#include "workers/outputs.h"

namespace kp::workers {

std::string queue_head_work(const DataDir& d, int64_t upload_id) {
  return work_path(d, std::to_string(upload_id), ".queue.age");
}

std::string queue_payload_work(const DataDir& d, int64_t upload_id) {
  return work_path(d, std::to_string(upload_id), ".queue.payload");
}

Status prepare_queue_pair(const DataDir& d, int64_t upload_id, int inbox_fd, const std::string& upload_name,
                          int upload_fd, const age::OpenedHeader& h, const std::vector<age::PublicKey>& staff) {
  KP_TRY(std::string header, age::rewrap_header(h.file_key, h.nonce, staff));
  const std::string head = queue_head_work(d, upload_id);
  const std::string link = queue_payload_work(d, upload_id);
  // Synced below, after the link: one journal commit makes both durable.
  KP_GUARD(write_work_file(head, pair_file::encode_head(header, h.payload_offset), false));
  // DATA/work is a server-side path: no client name is resolved here.
  Fd work(::open((d.root + "/work").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  KP_ENSURE(work.valid(), "io-failed", "cannot open DATA/work");
  const std::string link_name = link.substr(link.rfind('/') + 1);
  (void)::unlinkat(work.get(), link_name.c_str(), 0);  // a stale link of an earlier try
  // The upload's inbox name when it leads to the file the header was read
  // from; otherwise (an armored upload decoded into an unnamed file,
  // armored_upload.h) that file itself.
  struct stat a {}, b {};
  KP_ENSURE(::fstat(upload_fd, &a) == 0, "io-failed", "cannot stat the upload");
  const bool named = ::fstatat(inbox_fd, upload_name.c_str(), &b, AT_SYMLINK_NOFOLLOW) == 0 &&
                     a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  const std::string self = "/proc/self/fd/" + std::to_string(upload_fd);
  const int linked = named ? ::linkat(inbox_fd, upload_name.c_str(), work.get(), link_name.c_str(), 0)
                           : ::linkat(AT_FDCWD, self.c_str(), work.get(), link_name.c_str(), AT_SYMLINK_FOLLOW);
  KP_ENSURE(linked == 0, "io-failed",
            "cannot link the upload into DATA/work (the data directory must be one file system)");
  KP_ENSURE(::fstatat(work.get(), link_name.c_str(), &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino,
            "io-failed", "the upload changed while it was processed");
  Fd head_fd(::open(head.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  KP_ENSURE(head_fd.valid() && fsio::fsync(head_fd.get()) == 0, "io-failed", "cannot sync " + head);
  KP_ENSURE(fsio::fsync(work.get()) == 0, "io-failed", "cannot sync DATA/work");
  return ok_status();
}

Status place_queue_pair(const DataDir& d, int64_t upload_id, const std::string& queue_name, DirSyncs& syncs) {
  KP_GUARD(ensure_dir(d.queue_payloads()));
  KP_GUARD(status_of(place(queue_payload_work(d, upload_id), d.queue_payloads(), queue_name, &syncs)));
  return status_of(place(queue_head_work(d, upload_id), d.queue(), queue_name, &syncs));
}

void discard_queue_pair(const DataDir& d, int64_t upload_id) {
  discard_work_file(queue_head_work(d, upload_id));
  discard_work_file(queue_payload_work(d, upload_id));
}

}  // namespace kp::workers
