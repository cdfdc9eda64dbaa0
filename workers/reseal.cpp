// Sealed tar writing; see reseal.h.
#include "workers/reseal.h"

#include <archive_entry.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "common/handles.h"
#include "common/fsio.h"

namespace kp::workers {

// Members are destroyed in reverse order: `tar` last in the list, so it is
// freed first, while everything its write callback touches still exists
// (archive_write_free() closes an unclosed archive and so calls the callback
// once more; with `tar` declared before `sink_error`, that call assigned to
// an already destroyed Error and corrupted the heap after a failed write).
struct TarSealer::State {
  int fd = -1;
  std::optional<age::Encryptor> enc;
  Error sink_error;
  bool sink_failed = false;
  bool abandoned = false;  // destroyed before finish(): write nothing more
  ArchiveWriter tar;
};

Result<std::unique_ptr<TarSealer>> TarSealer::create(int fd, const std::vector<age::PublicKey>& recipients) {
  std::unique_ptr<TarSealer> t(new TarSealer());
  t->s_ = std::make_unique<State>();
  State* s = t->s_.get();
  s->fd = fd;
  KP_TRY(age::Encryptor enc, age::Encryptor::start(recipients, [s](const uint8_t* p, std::size_t n) -> Status {
    while (n > 0) {
      ssize_t w = fsio::write(s->fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      KP_ENSURE(w > 0, "io-failed", "cannot write the sealed output");
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return ok_status();
  }));
  s->enc.emplace(std::move(enc));
  s->tar.reset(archive_write_new());
  KP_ENSURE(s->tar, "io-failed", "archive_write_new failed");
  archive_write_set_format_pax_restricted(s->tar.get());
  // Unblocked: libarchive hands each header and each write()'s data
  // straight to the callback instead of copying it through a 10 KiB block
  // buffer first (the Encryptor gathers 64 KiB chunks anyway). With a last
  // block of 1 byte no padding is added, so the bytes are the same as with
  // blocking.
  archive_write_set_bytes_per_block(s->tar.get(), 0);
  archive_write_set_bytes_in_last_block(s->tar.get(), 1);
  auto write_cb = [](struct archive*, void* ctx, const void* buf, size_t len) -> la_ssize_t {
    State* st = static_cast<State*>(ctx);
    if (st->abandoned || st->sink_failed) return -1;
    Status r = st->enc->write(static_cast<const uint8_t*>(buf), len);
    if (!r.ok()) {
      st->sink_failed = true;
      st->sink_error = r.error();
      return -1;
    }
    return static_cast<la_ssize_t>(len);
  };
  KP_ENSURE(archive_write_open2(s->tar.get(), s, nullptr, write_cb, nullptr, nullptr) == ARCHIVE_OK,
            "io-failed", archive_error_string(s->tar.get()) ? archive_error_string(s->tar.get()) : "tar open");
  return t;
}

TarSealer::~TarSealer() {
  if (!s_) return;
  s_->abandoned = true;
  s_->tar.reset();
}

Status TarSealer::begin_entry(const std::string& name, uint64_t size, int64_t mtime) {
  ArchiveEntry e(archive_entry_new());
  archive_entry_update_pathname_utf8(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_mtime(e.get(), mtime, 0);
  int rc = archive_write_header(s_->tar.get(), e.get());
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
    return s_->sink_failed ? s_->sink_error : make_error("io-failed", "cannot write tar header");
  return ok_status();
}

Status TarSealer::write(const void* p, std::size_t n) {
  if (n == 0) return ok_status();
  la_ssize_t w = archive_write_data(s_->tar.get(), p, n);
  if (w < 0 || static_cast<std::size_t>(w) != n)
    return s_->sink_failed ? s_->sink_error : make_error("io-failed", "cannot write tar data");
  return ok_status();
}

Status TarSealer::add(const std::string& name, std::string_view data, int64_t mtime) {
  KP_GUARD(begin_entry(name, data.size(), mtime));
  return write(data.data(), data.size());
}

Status TarSealer::finish() {
  if (archive_write_close(s_->tar.get()) != ARCHIVE_OK)
    return s_->sink_failed ? s_->sink_error : make_error("io-failed", "cannot close tar");
  KP_GUARD(s_->enc->finish());
  KP_ENSURE(fsio::fsync(s_->fd) == 0, "io-failed", "cannot sync the sealed output");
  return ok_status();
}

}  // namespace kp::workers
