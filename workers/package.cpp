// Streaming package opening and sealing; see package.h.
//
// Opening is one pass with bounded memory (about 6.5 MiB whatever the
// package size: 1 MiB of ciphertext per read, its 1 MiB of plaintext, 4 MiB
// of file-data slots, libarchive's buffers): read(2) -> age Decryptor ->
// libarchive tar reader -> per file, SHA-256 and the caller's sink (a staff
// submission's TarSealer). Reading runs on the calling thread; opening the
// chunks of each read, hashing and the sink are shared between it and one
// helper thread (FileFanout below), so the parser child uses both cores of
// the reference VM (bench/README.md, "intake").
#include "workers/package.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include "common/digest.h"
#include "common/handles.h"
#include "common/confine.h"
#include "common/parallel.h"

namespace kp::workers {

namespace {

constexpr std::size_t kReadBlock = 256 * 1024;
// Ciphertext one read(2) takes: 16 chunks, which the Decryptor opens as one
// batch on both threads (with the chunk it held back from the read before).
// Large enough that the helper, finishing whatever it was hashing, still
// finds chunks left to open; small enough that a batch's plaintext (1 MiB)
// is released to the tar reader soon.
constexpr std::size_t kCipherBlock = 16 * age::kChunkCipherSize;
// The first MiB is read 4 chunks at a time: until then the reader works
// alone (FileFanout starts its helper after that), and a fresh parser
// child pays a page fault for every buffer page it touches, so a package
// under 1 MiB touches a quarter of the read buffer and of the batch.
constexpr std::size_t kFirstReads = 4 * age::kChunkCipherSize;
constexpr uint64_t kFirstReadsUpTo = 1 << 20;

// A read block left uninitialised: a page is faulted in only when a read
// fills it, so a package of a few KiB does not pay for zeroing (and
// faulting in) megabytes of buffers it never uses.
class Block {
 public:
  uint8_t* data() { return bytes_.get(); }
  std::size_t size() const { return kReadBlock; }

 private:
  std::unique_ptr<uint8_t[]> bytes_ = std::make_unique_for_overwrite<uint8_t[]>(kReadBlock);
};

// Adapts the push-style age Decryptor to libarchive's pull-style reader:
// each read callback feeds ciphertext until verified plaintext is ready.
// The Decryptor runs with a Parallel (batches), so it delivers at most once
// per feed() or finish(), and what it delivers stays valid until its next
// call: `plain` points into the Decryptor's batch, no copy. The ciphertext
// buffer is left uninitialised (a package of a few KiB touches one page).
struct Pull {
  int fd = -1;
  std::optional<age::Decryptor> dec;
  const uint8_t* plain = nullptr;
  std::size_t plain_n = 0;
  std::unique_ptr<uint8_t[]> cipher = std::make_unique_for_overwrite<uint8_t[]>(kCipherBlock);
  uint64_t sealed = 0;
  uint64_t already_read = 0;  // before the payload's first chunk (the header)
  uint64_t max_sealed = 0;
  bool eof = false;
  std::optional<Error> error;

  // The Decryptor's sink.
  Status take(const uint8_t* p, std::size_t n) {
    KP_ENSURE(plain_n == 0, "age-misuse", "two deliveries of plaintext in one read");  // defensive
    plain = p;
    plain_n = n;
    return ok_status();
  }

  // Points `plain` at the next verified plaintext; plain_n is 0 at the end.
  void next() {
    plain_n = 0;
    while (plain_n == 0 && !eof && !error) {
      const std::size_t want = sealed - already_read < kFirstReadsUpTo ? kFirstReads : kCipherBlock;
      ssize_t n = ::read(fd, cipher.get(), want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = make_error("io-failed", "cannot read the upload");
        return;
      }
      if (n == 0) {
        eof = true;
        Status s = dec->finish();
        if (!s.ok()) error = s.error();
        return;
      }
      sealed += static_cast<uint64_t>(n);
      if (sealed > max_sealed) {
        error = make_error("package-too-large", "the package is larger than " + std::to_string(max_sealed) + " bytes");
        return;
      }
      Status s = dec->feed(cipher.get(), static_cast<std::size_t>(n));
      if (!s.ok()) error = s.error();
    }
  }
};

// The bytes of every file below files/ go through two ordered streams of
// work: hashing (SHA-256 per file) and the caller's sink (for a staff
// submission: tar write, ChaCha20-Poly1305 sealing, write(2)). Reading --
// read(2) and tar parsing -- stays on the calling thread; ChaCha20-Poly1305
// opening is shared, see run() below.
// The three cost about the same CPU per byte, each about what the stock
// `age -d` spends on decryption alone, so the pipeline only keeps pace with
// a decrypt-only pass if both cores are busy all the time.
//
// Hence one helper thread, and work sharing rather than a thread per
// stream: the helper runs whichever stream has work (the sink first), and
// the reader, whenever it would otherwise wait for a slot, runs stream work
// itself (hashing first). A stream is run by one thread at a time, item by
// item in order (a busy flag under the mutex), so the hasher and the sink
// see their calls strictly in sequence, never concurrently -- just not
// always from the same thread. Three threads on two cores measured worse:
// the scheduler left a core idle about a fifth of the time.
//
// The reader acquire()s a slot (kReadBlock bytes), reads file bytes
// straight into it and submit()s it; a slot is free again when both streams
// are done with it. kSlots bounds the memory (4 MiB) and how far the reader
// may run ahead. Per file: begin_entry(), data, end_entry(). After finish()
// the caller owns the sink again.
//
// Errors: only the sink can fail. Its first error is sticky: the remaining
// work is dropped, begin_entry(), acquire() and submit() return the error
// from then on, and so does finish(). Since the sink only ever sees bytes
// the reader produced before any later failure of the reader's own,
// open_package gives a sink error precedence over the reader's, which is
// what the single-threaded loop (stopping at the failing write) returned.
// If the helper cannot be started, the reader does all the work inline.
//
// It is also the Decryptor's Parallel: run() lends the helper to the
// chunks of one read (a batch), which the helper takes before any stream
// work while the reader opens chunks too; the reader then waits only for
// the chunk the helper is still on. The helper is started only once the
// reader has opened kInlineChunks chunks alone (about the first MiB, which
// Pull reads 4 chunks at a time), so a package of up to about 1 MiB (most are a few KiB) starts no
// thread: until then all work runs inline. Starting and joining a thread
// costs about a millisecond of wall time on the shared 2-core VM (0.9 ms
// per package measured), more than two threads save on a package that
// small (bench/README.md, "Decrypting in parallel").
class FileFanout : public Parallel {
 public:
  explicit FileFanout(EntrySink* sink, bool helper_thread = true)
      : sink_(sink), streams_(sink ? 2 : 1), helper_allowed_(helper_thread) {
    for (int i = kSlots; i-- > 0;) free_.push_back(i);
  }
  ~FileFanout() override { (void)finish(); }

  std::size_t width() const override { return helper_allowed_ ? 2 : 1; }

  void run(std::size_t n, const Step& step) override {
    if (n < 2 || !start_helper()) {
      for (std::size_t i = 0; i < n; ++i) step(i, 0);
      inline_steps_ += n;
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    job_ = Job{&step, n, 0, 0};
    helper_wake_.notify_one();
    while (job_.next < job_.n) {
      const std::size_t i = job_.next++;
      lock.unlock();
      step(i, 0);
      lock.lock();
    }
    while (job_.on_helper > 0) reader_wake_.wait(lock);
    job_ = Job{};
  }
  FileFanout(const FileFanout&) = delete;
  FileFanout& operator=(const FileFanout&) = delete;

  Status begin_entry(const std::string& name, uint64_t size, int64_t mtime) {
    return push(Item{Item::begin, name, size, mtime, -1, 0});
  }
  Status end_entry() { return push(Item{Item::end_entry, {}, 0, 0, -1, 0}); }

  // A free slot of kReadBlock bytes. While none is free, the caller works
  // on the streams instead of waiting.
  Result<uint8_t*> acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    while (free_.empty() && !error_) {
      if (!run_one(lock, kHash)) reader_wake_.wait(lock);
    }
    if (error_) return *error_;
    held_ = free_.back();
    free_.pop_back();
    return slots_[static_cast<std::size_t>(held_)].data();
  }

  // Hands the first n bytes of the acquired slot to the streams (n == 0
  // just gives the slot back).
  Status submit(std::size_t n) {
    const int slot = held_;
    held_ = -1;
    if (n > 0) return push(Item{Item::data, {}, 0, 0, slot, n});
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
    return ok_status();
  }

  // Runs or waits for all outstanding work, ends the helper, and returns
  // the sink's first error, if any. Idempotent.
  Status finish() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (pending()) {
        if (!run_one(lock, kHash)) reader_wake_.wait(lock);
      }
      stopping_ = true;
    }
    helper_wake_.notify_one();
    if (helper_.joinable()) helper_.join();
    std::lock_guard<std::mutex> lock(mu_);
    if (error_) return *error_;
    return ok_status();
  }

  // After finish(): the SHA-256 of each file, in the order of begin_entry().
  const std::vector<Sha256Digest>& digests() const { return digests_; }

 private:
  static constexpr int kSlots = 16;
  static constexpr std::size_t kInlineChunks = 15;  // about the first MiB
  static constexpr int kHash = 0;
  static constexpr int kSink = 1;
  struct Item {
    enum Kind { begin, data, end_entry } kind;
    std::string name;
    uint64_t size;
    int64_t mtime;
    int slot;
    std::size_t n;
  };
  struct Stream {
    std::deque<Item> items;
    bool busy = false;  // an item of this stream is being run
  };
  // The batch run() shares (mu_ held to read or change it).
  struct Job {
    const Step* step = nullptr;
    std::size_t n = 0;
    std::size_t next = 0;       // the first step nobody took yet
    std::size_t on_helper = 0;  // steps the helper is running
  };

  // Whether the helper runs (reader thread only: the helper never touches
  // helper_); starts it once kInlineChunks chunks were opened inline.
  bool start_helper() {
    if (helper_.joinable()) return true;
    if (!helper_allowed_ || helper_failed_ || inline_steps_ < kInlineChunks) return false;
    try {
      helper_ = std::thread([this] { help(); });
    } catch (const std::system_error&) {
      helper_failed_ = true;  // degraded but correct: everything inline
      return false;
    }
    return true;
  }

  // Runs one step of run()'s batch on the helper, if one is left (mu_
  // held; the step itself runs unlocked).
  bool run_step(std::unique_lock<std::mutex>& lock) {
    if (!job_.step || job_.next >= job_.n) return false;
    const Step* step = job_.step;
    const std::size_t i = job_.next++;
    ++job_.on_helper;
    lock.unlock();
    (*step)(i, 1);
    lock.lock();
    if (--job_.on_helper == 0) reader_wake_.notify_one();
    return true;
  }

  // Whether any stream has work queued or running (mu_ held).
  bool pending() const {
    for (int s = 0; s < streams_; ++s)
      if (stream_[s].busy || !stream_[s].items.empty()) return true;
    return false;
  }

  Status push(Item it) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (error_) {
        if (it.kind == Item::data) free_.push_back(it.slot);
        return *error_;
      }
      if (it.kind == Item::data) refs_[static_cast<std::size_t>(it.slot)] = streams_;
      for (int s = 0; s < streams_; ++s) stream_[s].items.push_back(it);
      if (!helper_.joinable()) {
        while (run_one(lock, kHash)) {
        }
        if (error_) return *error_;
        return ok_status();
      }
    }
    helper_wake_.notify_one();
    return ok_status();
  }

  // Runs the next item of the first stream (starting at `first`) that has
  // work and is not being run by the other thread. Called and returns with
  // mu_ held; the work itself runs unlocked. False if there was nothing to
  // run.
  bool run_one(std::unique_lock<std::mutex>& lock, int first) {
    int s = -1;
    for (int k = 0; k < streams_ && s < 0; ++k) {
      const int c = (first + k) % streams_;
      if (!stream_[c].busy && !stream_[c].items.empty()) s = c;
    }
    if (s < 0) return false;
    Item it = std::move(stream_[s].items.front());
    stream_[s].items.pop_front();
    stream_[s].busy = true;
    const bool skip = error_.has_value();
    lock.unlock();
    Status st = skip ? ok_status() : consume(s, it);
    lock.lock();
    stream_[s].busy = false;
    if (it.kind == Item::data && --refs_[static_cast<std::size_t>(it.slot)] == 0)
      free_.push_back(it.slot);
    if (!st.ok() && !error_) error_ = st.error();
    // The other thread may be waiting for this slot or for this stream.
    reader_wake_.notify_one();
    helper_wake_.notify_one();
    return true;
  }

  // One item's work for stream s (mu_ not held; the stream's busy flag
  // makes this thread the only one touching that stream's state).
  Status consume(int s, const Item& it) {
    const uint8_t* p = it.kind == Item::data ? slots_[static_cast<std::size_t>(it.slot)].data() : nullptr;
    if (s == kHash) {
      if (it.kind == Item::data) hasher_.update(p, it.n);
      if (it.kind == Item::end_entry) digests_.push_back(hasher_.finish());
      return ok_status();
    }
    if (it.kind == Item::begin) return sink_->begin_entry(it.name, it.size, it.mtime);
    if (it.kind == Item::data) return sink_->write(p, it.n);
    return ok_status();
  }

  void help() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (run_step(lock) || run_one(lock, kSink)) continue;
      if (stopping_) return;
      helper_wake_.wait(lock);
    }
  }

  EntrySink* sink_;
  const int streams_;
  std::array<Block, kSlots> slots_;
  std::array<int, kSlots> refs_{};  // streams still to run each slot
  int held_ = -1;                   // the slot between acquire() and submit()
  Sha256 hasher_;                   // hash stream only
  std::vector<Sha256Digest> digests_;  // hash stream only, until finish()
  std::mutex mu_;
  std::condition_variable reader_wake_;  // a slot or a stream became free, or an error
  std::condition_variable helper_wake_;  // work was queued or a stream became free, or stop
  std::array<Stream, 2> stream_;
  // Free slots, the most recently freed last and taken first: a package
  // the reader hashes inline reuses one slot, so only the slots actually
  // in flight are ever faulted in (a fresh parser child per package pays
  // for every page it touches).
  std::vector<int> free_;
  std::optional<Error> error_;
  bool stopping_ = false;
  Job job_;
  std::size_t inline_steps_ = 0;  // chunks opened before the helper started
  const bool helper_allowed_;
  bool helper_failed_ = false;
  std::thread helper_;  // last: started (lazily) after everything it uses exists
};

la_ssize_t pull_read(struct archive*, void* ctx, const void** buf) {
  Pull* p = static_cast<Pull*>(ctx);
  p->next();
  if (p->error) return -1;
  *buf = p->plain;
  return static_cast<la_ssize_t>(p->plain_n);
}

policy::EntryInfo entry_info(archive_entry* e) {
  policy::EntryInfo info;
  const char* name = archive_entry_pathname_utf8(e);
  if (!name) name = archive_entry_pathname(e);
  info.name = name ? name : "";
  info.size = archive_entry_size_is_set(e) ? static_cast<uint64_t>(archive_entry_size(e)) : 0;
  if (archive_entry_hardlink(e)) info.type = policy::EntryInfo::hardlink;
  else switch (archive_entry_filetype(e)) {
      case AE_IFREG: info.type = policy::EntryInfo::regular; break;
      case AE_IFDIR: info.type = policy::EntryInfo::directory; break;
      case AE_IFLNK: info.type = policy::EntryInfo::symlink; break;
      case AE_IFCHR:
      case AE_IFBLK: info.type = policy::EntryInfo::device; break;
      case AE_IFIFO: info.type = policy::EntryInfo::fifo; break;
      default: info.type = policy::EntryInfo::other; break;
    }
  return info;
}

}  // namespace

namespace {

// The reading half of open_package: file bytes go to `files`, which hashes
// them and passes them on; the name of each file it was given is appended
// to `hashed` (its size is in the result, its hash comes from `files`).
// `make_decryptor` builds the age layer around the sink and the Parallel
// (`files`, which lends its helper thread to the chunks) it is given;
// `already_read` is what was consumed from the upload before `fd`'s offset
// (the header, when the caller opened it), counted against the size limit.
using MakeDecryptor = std::function<Result<age::Decryptor>(age::Sink, Parallel*)>;

Result<OpenedPackage> read_package(int fd, const MakeDecryptor& make_decryptor, uint64_t already_read,
                                   const policy::PackageRules& rules, FileFanout& files,
                                   std::vector<std::string>& hashed) {
  Pull pull;
  pull.fd = fd;
  pull.max_sealed = rules.max_package_bytes;
  pull.sealed = already_read;
  pull.already_read = already_read;
  KP_TRY(age::Decryptor dec,
         make_decryptor([&pull](const uint8_t* p, std::size_t n) { return pull.take(p, n); }, &files));
  pull.dec.emplace(std::move(dec));

  ArchiveReader tar(archive_read_new());
  KP_ENSURE(tar, "io-failed", "archive_read_new failed");
  archive_read_support_format_tar(tar.get());
  archive_read_support_filter_gzip(tar.get());
  archive_read_support_filter_xz(tar.get());
  archive_read_support_filter_zstd(tar.get());
  // The age layer's own errors come first: they say more than "not a tar".
  auto fail = [&](const std::string& code, const std::string& detail) -> Error {
    if (pull.error) return *pull.error;
    return make_error(code, detail);
  };
  if (archive_read_open(tar.get(), &pull, nullptr, pull_read, nullptr) != ARCHIVE_OK)
    return fail("package-not-tar", "the sealed content is not a tar archive");

  policy::PackageChecker checker(rules);
  OpenedPackage out;
  Block buf;
  uint64_t unpacked_total = 0;
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(tar.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    // ARCHIVE_WARN: a header field could not be converted to the locale; the
    // UTF-8 name below is still exact, and the package rules judge it.
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return fail("package-not-tar", std::string("the tar archive is damaged: ") +
                                         (archive_error_string(tar.get()) ? archive_error_string(tar.get()) : "?"));
    policy::EntryInfo info = entry_info(e);
    KP_GUARD(checker.on_entry(info));
    if (info.type != policy::EntryInfo::regular) continue;  // directories: allowed, ignored
    bool is_manifest = info.name == "manifest.json";
    bool is_signature = info.name == "manifest.json.minisig";
    uint64_t cap = is_manifest ? rules.max_manifest_bytes : is_signature ? rules.max_signature_bytes : UINT64_MAX;
    std::string* small = is_manifest ? &out.manifest : is_signature ? &out.signature : nullptr;
    uint64_t size = 0;
    if (!small) KP_GUARD(files.begin_entry(info.name, info.size, archive_entry_mtime(e)));
    for (;;) {
      // File bytes are read straight into a slot of the fan-out.
      uint8_t* dst = buf.data();
      if (!small) {
        KP_TRY(dst, files.acquire());
      }
      la_ssize_t n = archive_read_data(tar.get(), dst, kReadBlock);
      if (n <= 0 && !small) KP_GUARD(files.submit(0));
      if (n < 0)
        return fail("package-not-tar", std::string("cannot read ") + info.name + " from the tar archive");
      if (n == 0) break;
      std::size_t k = static_cast<std::size_t>(n);
      size += k;
      unpacked_total += k;
      KP_GUARD(checker.on_bytes(k, pull.sealed));
      if (small) {
        KP_ENSURE(size <= cap, is_manifest ? "manifest-too-large" : "signature-malformed",
                  info.name + " is larger than " + std::to_string(cap) + " bytes");
        small->append(reinterpret_cast<const char*>(dst), k);
      } else {
        KP_GUARD(files.submit(k));
      }
    }
    if (!small) {
      KP_GUARD(files.end_entry());
      out.files[info.name] = SeenFile{size, ""};
      hashed.push_back(info.name);
    }
  }
  // Drain: the age layer must reach its verified final chunk, with nothing after it.
  while (!pull.eof && !pull.error) pull.next();
  if (pull.error) return *pull.error;
  KP_GUARD(checker.finish());
  KP_ENSURE(!out.manifest.empty(), "package-manifest-missing", "the package has no manifest.json");
  KP_ENSURE(!out.signature.empty(), "package-signature-missing", "the package has no manifest.json.minisig");
  out.sealed_bytes = pull.sealed;
  (void)unpacked_total;
  return out;
}

}  // namespace

namespace {

Result<OpenedPackage> open_with(int fd, const MakeDecryptor& make_decryptor, uint64_t already_read,
                                const policy::PackageRules& rules, EntrySink* reseal, bool helper_thread = true) {
  FileFanout files(reseal, helper_thread);
  std::vector<std::string> hashed;
  auto read = read_package(fd, make_decryptor, already_read, rules, files, hashed);
  // Before returning, the sink has taken every byte it was given (the
  // caller goes on to use it); its error comes first, see FileFanout.
  Status sunk = files.finish();
  if (!sunk.ok()) return sunk.error();
  if (!read.ok()) return read.error();
  KP_ENSURE(files.digests().size() == hashed.size(), "io-failed", "a file was not hashed");  // defensive
  for (std::size_t i = 0; i < hashed.size(); ++i) read->files[hashed[i]].sha256 = to_hex(files.digests()[i]);
  return read;
}

}  // namespace

Result<OpenedPackage> open_package(int fd, const std::vector<const age::Identity*>& identities,
                                   const policy::PackageRules& rules, EntrySink* reseal) {
  auto make = [&identities](age::Sink sink, Parallel* parallel) {
    return age::Decryptor::create(identities, std::move(sink), age::InputFormat::binary, parallel);
  };
  return open_with(fd, make, 0, rules, reseal);
}

Result<OpenedPackage> open_payload(int fd, const uint8_t* payload_key, uint64_t header_bytes,
                                   const policy::PackageRules& rules, EntrySink* reseal, bool helper_thread) {
  auto make = [payload_key](age::Sink sink, Parallel* parallel) {
    return age::Decryptor::for_payload(payload_key, std::move(sink), parallel);
  };
  return open_with(fd, make, header_bytes, rules, reseal, helper_thread);
}

Status check_files(const std::vector<policy::ManifestFile>& files, const OpenedPackage& pkg) {
  std::map<std::string, const policy::ManifestFile*> listed;
  for (const auto& f : files) listed[f.name] = &f;
  for (const auto& f : files) {
    auto it = pkg.files.find(f.name);
    KP_ENSURE(it != pkg.files.end(), "manifest-file-missing",
              f.name + " is listed in the manifest but not in the package");
    KP_ENSURE(it->second.size == f.size, "manifest-hash-mismatch",
              f.name + " is " + std::to_string(it->second.size) + " bytes, manifest says " + std::to_string(f.size));
    KP_ENSURE(it->second.sha256 == f.sha256, "manifest-hash-mismatch",
              f.name + " has SHA-256 " + it->second.sha256 + ", manifest says " + f.sha256);
  }
  for (const auto& [name, seen] : pkg.files)
    KP_ENSURE(listed.count(name), "manifest-file-extra", name + " is in the package but not in the manifest");
  return ok_status();
}

namespace {

// Writes each entry as DIR/files/<name>; refuses nested names and existing files.
class DirSink : public EntrySink {
 public:
  explicit DirSink(int dirfd) : dirfd_(dirfd) {}
  Status begin_entry(const std::string& name, uint64_t, int64_t) override {
    if (!files_.valid()) {
      if (::mkdirat(dirfd_, "files", 0700) != 0 && errno != EEXIST)
        return make_error("io-failed", "cannot create files/");
      KP_TRY(Fd f, confine::open_subdir(dirfd_, "files"));
      files_ = std::move(f);
    }
    std::string leaf = name.substr(std::string("files/").size());
    KP_TRY(Fd out, confine::open_beneath(files_.get(), leaf, O_WRONLY | O_CREAT | O_EXCL, 0600));
    out_ = std::move(out);
    return ok_status();
  }
  Status write(const void* p, std::size_t n) override {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      ssize_t w = ::write(out_.get(), c, n);
      if (w < 0 && errno == EINTR) continue;
      KP_ENSURE(w > 0, "io-failed", "cannot write an opened file");
      c += w;
      n -= static_cast<std::size_t>(w);
    }
    return ok_status();
  }

 private:
  int dirfd_;
  Fd files_;
  Fd out_;
};

}  // namespace

Result<OpenedPackage> open_package_to_dir(int fd, const std::vector<const age::Identity*>& identities,
                                          const policy::PackageRules& rules, int dirfd) {
  DirSink sink(dirfd);
  KP_TRY(OpenedPackage pkg, open_package(fd, identities, rules, &sink));
  KP_ENSURE(::mkdirat(dirfd, "files", 0700) == 0 || errno == EEXIST, "io-failed", "cannot create files/");
  KP_TRY(Fd manifest, confine::open_beneath(dirfd, "manifest.json", O_WRONLY | O_CREAT | O_EXCL, 0600));
  KP_TRY(Fd sig, confine::open_beneath(dirfd, "manifest.json.minisig", O_WRONLY | O_CREAT | O_EXCL, 0600));
  KP_ENSURE(::write(manifest.get(), pkg.manifest.data(), pkg.manifest.size()) == static_cast<ssize_t>(pkg.manifest.size()),
            "io-failed", "cannot write manifest.json");
  KP_ENSURE(::write(sig.get(), pkg.signature.data(), pkg.signature.size()) == static_cast<ssize_t>(pkg.signature.size()),
            "io-failed", "cannot write manifest.json.minisig");
  return pkg;
}

namespace {

Result<Fd> open_input(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  KP_ENSURE(fd.valid(), "file-unreadable", "cannot read " + path);
  return fd;
}

// Reads `fd` to the end in blocks, calling `each` for every block.
Status for_each_block(int fd, const std::function<Status(const uint8_t*, std::size_t)>& each) {
  Block buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    KP_ENSURE(n >= 0, "io-failed", "read failed");
    if (n == 0) return ok_status();
    KP_GUARD(each(buf.data(), static_cast<std::size_t>(n)));
  }
}

}  // namespace

Status seal_package(const std::string& manifest_json, const std::vector<PackageFile>& files,
                    const minisign::SecretKey& sign_key, const std::vector<age::PublicKey>& recipients,
                    int out_fd, const ManifestCheck& check) {
  Poco::JSON::Array listed;
  for (const auto& f : files) {
    KP_TRY(Fd in, open_input(f.path));
    Sha256 hasher;
    uint64_t size = 0;
    KP_GUARD(for_each_block(in.get(), [&](const uint8_t* p, std::size_t n) {
      hasher.update(p, n);
      size += n;
      return ok_status();
    }));
    Poco::JSON::Object entry;
    entry.set("name", f.name);
    entry.set("size", size);
    entry.set("sha256", to_hex(hasher.finish()));
    listed.add(entry);
  }
  std::string manifest;
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(manifest_json).extract<Poco::JSON::Object::Ptr>();
    KP_ENSURE(root, "manifest-not-json", "the manifest is not a JSON object");
    root->set("files", listed);
    std::ostringstream out;
    root->stringify(out, 2);
    manifest = out.str() + "\n";
  } catch (const Poco::Exception& e) {
    return make_error("manifest-not-json", "the manifest is not valid JSON: " + e.displayText());
  } catch (const std::exception& e) {
    return make_error("manifest-not-json", std::string("the manifest is not a JSON object: ") + e.what());
  }
  if (check) KP_GUARD(check(manifest));
  KP_TRY(std::string signature, minisign::sign(sign_key, manifest, "knooppunt manifest"));
  KP_TRY(auto sealer, TarSealer::create(out_fd, recipients));
  int64_t now = static_cast<int64_t>(::time(nullptr));
  KP_GUARD(sealer->add("manifest.json", manifest, now));
  KP_GUARD(sealer->add("manifest.json.minisig", signature, now));
  for (const auto& f : files) {
    KP_TRY(Fd in, open_input(f.path));
    struct stat st {};
    KP_ENSURE(::fstat(in.get(), &st) == 0 && S_ISREG(st.st_mode), "file-unreadable", f.path + " is not a file");
    KP_GUARD(sealer->begin_entry(f.name, static_cast<uint64_t>(st.st_size), now));
    KP_GUARD(for_each_block(in.get(), [&](const uint8_t* p, std::size_t n) { return sealer->write(p, n); }));
  }
  return sealer->finish();
}

}  // namespace kp::workers
